"""Keep ibm_db_sa's logging from flooding the application's output.

ibm_db_sa 0.4 logs every compiler call at DEBUG from a logger it sets to DEBUG with
``propagate = False``, and logs every exception it re-raises at ERROR with a traceback. With no
handler configured, Python's last-resort handler prints those tracebacks to stderr, once per layer,
for errors spine already reports (classified) to the caller. This module quietens that once.
"""

from __future__ import annotations

import logging

__all__ = ["DRIVER_LOGGERS", "quiet_driver_logging"]

DRIVER_LOGGERS = ("ibm_db_sa",)


def quiet_driver_logging() -> None:
    """Set the driver loggers to WARNING and drop their duplicate reports of raised errors.

    Idempotent. Warnings still get through; ERROR records are dropped because every one that
    ibm_db_sa emits precedes a ``raise`` of the same exception, which reaches spine's caller.
    """
    for name in DRIVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        if not any(isinstance(item, _DropReraisedErrors) for item in logger.filters):
            logger.addFilter(_DropReraisedErrors())


class _DropReraisedErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR
