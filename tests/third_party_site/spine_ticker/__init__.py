"""A third-party plugin as the README shows one: it provides the source type ``ticker``."""

from spine_host import hookimpl


class TickerSource:
    """A third party's ticker source (never read by the host's tests)."""


@hookimpl
def spine_register_sources(register):  # type: ignore[no-untyped-def]
    """Provide ``ticker``."""
    register("ticker", TickerSource)
