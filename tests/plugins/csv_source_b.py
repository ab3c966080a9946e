"""Provides source type "csv" too, colliding with csv_source_a."""

from spine_host import hookimpl


class CsvSourceB:
    """A placeholder source class; only its identity matters to these tests."""


@hookimpl
def spine_register_sources(register):
    register("csv", CsvSourceB)
