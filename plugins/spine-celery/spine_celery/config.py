"""``[executors.celery]``: where the broker and the result backend are, and the default queue.

::

    [executors.celery]
    broker_url = "redis://127.0.0.1:6379/0"      # or amqp://user:pass@rabbit:5672//
    result_backend = "redis://127.0.0.1:6379/1"  # default: the broker (Redis), rpc:// (AMQP)
    queue = "spine"                              # steps without a queue of their own go here

The runners (``spine workflows run``, the scheduler) and the workers (``spine worker``) read the
same table from the same ``spine.toml``, so they meet on the same broker and queues.
"""

from __future__ import annotations

from typing import Any

import attrs

from spine_host.redaction import redact_url

__all__ = ["DEFAULT_BROKER_URL", "DEFAULT_QUEUE", "CeleryConfig"]

#: The broker when ``[executors.celery]`` names none: a Redis on this machine, database 0.
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"

#: The queue of steps that name none (neither the step nor its workflow).
DEFAULT_QUEUE = "spine"

_REDIS_SCHEMES = ("redis", "rediss", "sentinel")


def _url(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    if not value.strip():
        raise ValueError(f"{attribute.name} is empty (is its environment variable set?)")
    if "://" not in value:
        # Not quoted: a URL without its scheme could be all password.
        raise ValueError(f"{attribute.name} is not a URL (scheme://...), e.g. {DEFAULT_BROKER_URL}")


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _queue_name(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip() or "," in value:
        raise ValueError(f"{attribute.name} must be one queue name, got {value!r}")


@attrs.frozen(kw_only=True)
class CeleryConfig:
    """The ``[executors.celery]`` table.

    Args:
        broker_url: the Celery broker: ``redis://`` (the default, on this machine) or
            ``amqp://`` (RabbitMQ). May hold a password: keep it in ``${ENV}``; spine masks it.
        result_backend: where workers leave each attempt's answer; by default the broker
            itself for Redis, ``rpc://`` (answers as messages) for RabbitMQ.
        queue: the queue of steps that name none; ``spine worker`` serves it by default.
        connect_timeout: seconds to reach the broker before a submit, ``spine doctor`` or
            ``spine worker`` gives up with an error naming it (never a hang).
        result_expires: seconds an unread answer is kept. The executor reads and deletes each
            answer as it arrives, so only answers nobody waits for any more (their runner
            died) are left to expire.
    """

    broker_url: str = attrs.field(default=DEFAULT_BROKER_URL, validator=_url, repr=False)
    result_backend: str | None = attrs.field(default=None, validator=_url, repr=False)
    queue: str = attrs.field(default=DEFAULT_QUEUE, validator=_queue_name)
    connect_timeout: float = attrs.field(default=3.0, validator=_positive)
    result_expires: float = attrs.field(default=900.0, validator=_positive)

    @property
    def backend_url(self) -> str:
        """The result backend in use: ``result_backend``, else the default for the broker."""
        if self.result_backend is not None:
            return self.result_backend
        if broker_scheme(self.broker_url) in _REDIS_SCHEMES:
            return self.broker_url
        return "rpc://"

    @property
    def broker_label(self) -> str:
        """The broker URL with its password masked, for messages."""
        return redact_url(self.broker_url)

    @property
    def backend_label(self) -> str:
        """The result backend URL with its password masked, for messages."""
        return redact_url(self.backend_url)


def broker_scheme(url: str) -> str:
    """``redis`` for ``redis://...``, ``amqp`` for ``amqp://`` and ``pyamqp://``..."""
    scheme = url.split("://", 1)[0].lower()
    return "amqp" if scheme in ("pyamqp", "amqps") else scheme
