"""Maps an exception the builtin rules would call INTERNAL to TRANSIENT."""

from spine_host import ErrorCategory, SpineError, hookimpl


class FlakyDriverError(Exception):
    """What an imaginary database driver raises on a serialization failure."""


@hookimpl
def spine_classify_error(exc):
    if isinstance(exc, FlakyDriverError | ConnectionError):
        return SpineError(f"driver says: {exc}", category=ErrorCategory.TRANSIENT, cause=exc)
    return None
