"""Registers one source type, then raises inside the same registration hook."""

from spine_host import hookimpl


@hookimpl
def spine_register_sources(register):
    register("half_done", object)
    raise RuntimeError("registration failed halfway")
