"""RetryPolicy: which failures are retried, how long each wait is, and what callers observe."""

from __future__ import annotations

import threading
import time

import pytest

from spine_host.errors import ConfigError, ErrorCategory, SpineError
from spine_host.retry import Backoff, RetryPolicy
from spine_host.structuring import structure


class Failing:
    """Raises the given errors in order, then returns "done"; counts calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def transient() -> SpineError:
    return SpineError("flaky", category=ErrorCategory.TRANSIENT)


def test_exponential_delays_double_and_are_capped() -> None:
    policy = RetryPolicy(delay=1.0, backoff=Backoff.EXPONENTIAL, max_delay=5.0)
    assert [policy.delay_for(attempt) for attempt in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]


def test_fixed_delay_is_the_same_every_time() -> None:
    policy = RetryPolicy(delay=0.5, backoff="fixed")  # type: ignore[arg-type]
    assert [policy.delay_for(attempt) for attempt in (1, 2, 5)] == [0.5, 0.5, 0.5]


def test_jitter_spreads_the_delay_by_the_given_fraction() -> None:
    policy = RetryPolicy(delay=10.0, backoff=Backoff.FIXED, jitter=0.2)
    assert policy.delay_for(1, rand=lambda: 0.0) == pytest.approx(8.0)
    assert policy.delay_for(1, rand=lambda: 0.5) == pytest.approx(10.0)
    assert policy.delay_for(1, rand=lambda: 0.999999) == pytest.approx(12.0, rel=1e-4)


def test_retry_after_is_a_minimum_even_beyond_the_cap() -> None:
    policy = RetryPolicy(delay=0.1, max_delay=1.0)
    error = SpineError("slow down", category=ErrorCategory.RATE_LIMIT, retry_after=30)
    assert policy.delay_for(1, error) == 30
    assert policy.delay_for(1, SpineError("x", retry_after=0.01)) == pytest.approx(0.1)


def test_transient_failures_are_retried_until_success() -> None:
    attempts: list[tuple[int, str, float]] = []
    waits: list[float] = []
    fn = Failing(transient(), ConnectionResetError("reset by peer"))
    policy = RetryPolicy(max_attempts=3, delay=1.0)

    result = policy.call(
        fn,
        on_retry=lambda attempt, error, delay: attempts.append(
            (attempt, error.category.value, delay)
        ),
        sleep=waits.append,
    )

    assert result == "done"
    assert fn.calls == 3
    assert attempts == [(1, "TRANSIENT", 1.0), (2, "TRANSIENT", 2.0)]
    assert waits == [1.0, 2.0]


def test_a_non_retryable_error_is_raised_at_once() -> None:
    fn = Failing(SpineError("bad input", category=ErrorCategory.VALIDATION))
    with pytest.raises(SpineError) as raised:
        RetryPolicy(max_attempts=5, delay=0).call(fn, sleep=lambda _: None)
    assert raised.value.category is ErrorCategory.VALIDATION
    assert raised.value.context["attempts"] == 1
    assert fn.calls == 1


def test_the_last_error_is_raised_when_attempts_run_out() -> None:
    fn = Failing(transient(), transient(), TimeoutError("read timed out"))
    with pytest.raises(SpineError) as raised:
        RetryPolicy(max_attempts=3, delay=0).call(fn, sleep=lambda _: None)
    assert raised.value.category is ErrorCategory.TIMEOUT
    assert raised.value.context["attempts"] == 3
    assert isinstance(raised.value.__cause__, TimeoutError)
    assert fn.calls == 3


def test_retry_on_names_the_categories_to_retry() -> None:
    policy = RetryPolicy(max_attempts=2, delay=0, retry_on=["NOT_FOUND"])  # type: ignore[arg-type]
    assert policy.call(Failing(FileNotFoundError("late file")), sleep=lambda _: None) == "done"
    fn = Failing(transient())
    with pytest.raises(SpineError):
        policy.call(fn, sleep=lambda _: None)
    assert fn.calls == 1


def test_rate_limit_waits_for_retry_after_in_real_time() -> None:
    fn = Failing(SpineError("429", category=ErrorCategory.RATE_LIMIT, retry_after=0.5))
    started = time.monotonic()
    assert RetryPolicy(max_attempts=2, delay=0.01).call(fn) == "done"
    assert 0.5 <= time.monotonic() - started < 2


def test_concurrent_calls_keep_their_own_attempt_counts() -> None:
    policy = RetryPolicy(max_attempts=3, delay=0.01)
    barrier = threading.Barrier(4)
    results: list[str] = []

    def worker() -> None:
        fn = Failing(transient(), transient())

        def synchronised() -> str:
            barrier.wait(timeout=5)  # all workers fail and retry at the same moments
            return fn()

        results.append(policy.call(synchronised))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == ["done"] * 4


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be >= 1"),
        ({"delay": -1}, "delay must be >= 0"),
        ({"jitter": 1.5}, "jitter must be between 0 and 1"),
        ({"backoff": "linear"}, "'linear' is not a valid Backoff"),
    ],
)
def test_invalid_policies_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_a_policy_structures_from_configuration() -> None:
    policy = structure(
        {"max_attempts": 4, "delay": 2, "backoff": "fixed", "retry_on": ["TIMEOUT", "AUTH"]},
        RetryPolicy,
        "pipelines.x.retry",
    )
    assert policy == RetryPolicy(
        max_attempts=4,
        delay=2.0,
        backoff=Backoff.FIXED,
        retry_on=frozenset({ErrorCategory.TIMEOUT, ErrorCategory.AUTH}),
    )
    with pytest.raises(ConfigError, match=r"pipelines\.x\.retry\.max_attempts"):
        structure({"max_attempts": "3"}, RetryPolicy, "pipelines.x.retry")
