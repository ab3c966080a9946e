"""Deliberately overrides source type "csv" with replace=True."""

from spine_host import hookimpl


class CsvSourceOverride:
    """A placeholder source class; only its identity matters to these tests."""


@hookimpl
def spine_register_sources(register):
    register("csv", CsvSourceOverride, replace=True)
