"""Implements "spine_register_source" (missing the final s): an unknown hook."""

from spine_host import hookimpl


@hookimpl
def spine_register_source(register):
    register("never", object)
