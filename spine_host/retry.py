"""RetryPolicy: how often and how long to wait before trying a failed call again.

One policy object serves pipelines, workflow steps, alert deliveries and sources
(``source.with_retry(policy)``), so nothing writes its own retry loop::

    policy = RetryPolicy(max_attempts=3, delay=1.0, backoff=Backoff.EXPONENTIAL, max_delay=30)
    rows = policy.call(lambda: fetch_prices(day), on_retry=record_attempt)

Whether a failure is worth retrying is decided on the *classified* error
(:func:`spine_host.errors.classify`): by default only retryable categories (TRANSIENT, TIMEOUT,
RATE_LIMIT) are retried; ``retry_on`` names the categories explicitly instead. A ``retry_after``
the other side asked for (HTTP 429 ``Retry-After``) is always honoured as a minimum wait.

A policy is an immutable value: every :meth:`RetryPolicy.call` keeps its own attempt counter, so
one policy can be shared by any number of concurrent calls.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable, Collection
from typing import TypeVar

import attrs

from spine_host.errors import ErrorCategory, SpineError, classify

__all__ = ["Backoff", "OnRetry", "RetryPolicy"]

T = TypeVar("T")

#: ``on_retry(attempt, error, delay)``: called after failed attempt number ``attempt`` (1-based)
#: and before waiting ``delay`` seconds for the next one.
OnRetry = Callable[[int, SpineError, float], None]


class Backoff(enum.StrEnum):
    """How the wait grows between attempts."""

    FIXED = "fixed"
    EXPONENTIAL = "exponential"


def _categories(value: Collection[ErrorCategory | str] | None) -> frozenset[ErrorCategory] | None:
    if value is None:
        return None
    return frozenset(ErrorCategory(item) for item in value)


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _fraction(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long to wait before trying again.

    Args:
        max_attempts: total attempts including the first; 1 means never retry.
        delay: seconds to wait after the first failure.
        backoff: ``fixed`` waits ``delay`` every time; ``exponential`` waits
            ``delay * multiplier ** (attempt - 1)``.
        multiplier: growth factor of exponential backoff.
        max_delay: cap on the computed wait (a server's ``retry_after`` may exceed it).
        jitter: fraction of random spread, e.g. 0.1 waits between 90% and 110% of the
            computed delay, so many clients do not retry in lockstep.
        retry_on: categories to retry; None (the default) retries exactly the errors whose
            ``retryable`` flag is set (TRANSIENT, TIMEOUT, RATE_LIMIT unless overridden).
    """

    max_attempts: int = attrs.field(default=3, validator=_at_least_one)
    delay: float = attrs.field(default=1.0, validator=_non_negative)
    backoff: Backoff = attrs.field(default=Backoff.EXPONENTIAL, converter=Backoff)
    multiplier: float = attrs.field(default=2.0, validator=_non_negative)
    max_delay: float = attrs.field(default=60.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.0, validator=_fraction)
    retry_on: frozenset[ErrorCategory] | None = attrs.field(default=None, converter=_categories)

    def should_retry(self, error: SpineError) -> bool:
        """Whether this kind of failure is worth another attempt (ignoring the attempt count)."""
        if self.retry_on is not None:
            return error.category in self.retry_on
        return error.retryable

    def delay_for(
        self,
        attempt: int,
        error: SpineError | None = None,
        *,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        The backoff value is capped at ``max_delay``, then spread by ``jitter`` (``rand`` gives
        a number in [0, 1); pass a constant for a deterministic answer), and finally raised to
        ``error.retry_after`` when the other side asked for a longer wait.
        """
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        if self.backoff is Backoff.FIXED:
            wait = self.delay
        else:
            wait = self.delay * self.multiplier ** (attempt - 1)
        wait = min(wait, self.max_delay)
        if self.jitter:
            wait *= 1 + self.jitter * (2 * rand() - 1)
        if error is not None and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return max(wait, 0.0)

    def call(
        self,
        fn: Callable[[], T],
        *,
        on_retry: OnRetry | None = None,
        sleep: Callable[[float], object] = time.sleep,
        classifier: Callable[[BaseException], SpineError] = classify,
    ) -> T:
        """Run ``fn`` until it succeeds, the error is not retryable, or attempts run out.

        Exceptions are classified with ``classifier`` (pass ``host.classify`` so plugins can
        map their drivers' errors). ``on_retry(attempt, error, delay)`` is called before each
        wait, so a runner can record one event per failed attempt.

        Raises:
            SpineError: the last classified error; its ``context["attempts"]`` says how many
                attempts were made.
        """
        attempt = 1
        while True:
            try:
                return fn()
            except Exception as exc:
                error = classifier(exc)
                if attempt >= self.max_attempts or not self.should_retry(error):
                    error.context["attempts"] = attempt
                    if error is exc:
                        raise
                    raise error from exc
                wait = self.delay_for(attempt, error)
                if on_retry is not None:
                    on_retry(attempt, error, wait)
                sleep(wait)
                attempt += 1
