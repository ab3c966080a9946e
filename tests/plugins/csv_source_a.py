"""Provides source type "csv" (one of two competing providers)."""

from spine_host import hookimpl


class CsvSourceA:
    """A placeholder source class; only its identity matters to these tests."""


@hookimpl
def spine_register_sources(register):
    register("csv", CsvSourceA)
