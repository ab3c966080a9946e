"""Implements a real hook with a misspelled argument name."""

from spine_host import hookimpl


@hookimpl
def spine_register_sources(regster):
    regster("never", object)
