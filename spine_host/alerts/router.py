"""``AlertRouter``: every alert recorded, routed to the channels that want it, delivered off the
path of the work that raised it.

``raise_alert`` does, on the caller's thread, only what must not be lost: it writes the
``alerts`` row and, per configured channel, one ``alert_deliveries`` row with the routing
decision (FILTERED by severity or domain, THROTTLED as a repeat within the window, or PENDING).
Then it hands PENDING deliveries to that channel's own worker thread and returns. A worker
sends, retries what the channel calls transient with the router's ``RetryPolicy`` (waiting at
least the ``retry_after`` the other side asked for), and writes SENT or FAILED with the attempts
and the last error. One slow or failing channel delays only its own queue.

Throttling is per (channel, dedup key) and read from the delivery rows, so it holds across
processes: the first alert of a problem is delivered, repeats within ``throttle_window`` are
THROTTLED, and the next one delivered after the window carries the count of those suppressed
(``Alert.suppressed``, the digest line). A recovery notice is never throttled, and it reaches
every channel that heard of the failure it ends, whatever that channel's minimum severity (a
recovery is INFO; a ticketing channel must still resolve its incident).

The router never raises into the caller: a database or channel failure is logged.
"""

from __future__ import annotations

import atexit
import fnmatch
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
from spine_host.alerts.ledger import AlertLedger
from spine_host.errors import ErrorCategory, SpineError
from spine_host.retry import RetryPolicy
from spine_host.severity import Severity
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.alerts.channel import AlertChannel
    from spine_host.config import ChannelConfig
    from spine_host.host import Host

__all__ = ["DEFAULT_RETRY", "AlertRouter", "Route"]

log = logging.getLogger(__name__)

#: Retries for transient delivery failures: 4 attempts, 1 s, 2 s, 4 s apart (or retry_after).
DEFAULT_RETRY = RetryPolicy(max_attempts=4, delay=1.0, max_delay=30.0)
_STOP = object()


@attrs.frozen
class Route:
    """One channel and what it accepts: severity at least ``min_severity``, a domain matching
    one of ``domains`` (``["*"]`` also takes alerts without a domain)."""

    name: str
    channel: AlertChannel | None
    min_severity: Severity = Severity.WARNING
    domains: tuple[str, ...] = ("*",)
    broken: str | None = None  # why the channel could not be built
    throttle: float | None = None  # seconds; None: the router's window

    def refuses(self, alert: Alert) -> str | None:
        """Why this route filters ``alert`` out, or None when it takes it."""
        if alert.severity < self.min_severity:
            return f"severity {alert.severity.name} below {self.min_severity.name}"
        if self.domains == ("*",):
            return None
        if alert.domain is None:
            return f"no domain; the channel takes {', '.join(self.domains)}"
        if not any(fnmatch.fnmatchcase(alert.domain, pattern) for pattern in self.domains):
            return f"domain {alert.domain} not in {', '.join(self.domains)}"
        return None


class AlertRouter:
    """Records, routes, throttles and delivers alerts for one host.

    Args:
        host: storage for the alert tables, hooks, and ``[alerts.channels]``.
        routes: the channels; by default every enabled ``[alerts.channels.NAME]`` of the
            host's configuration, built by ``host.alert_channel``.
        throttle_window: seconds during which repeats of a dedup key are throttled per channel.
        retry_policy: how transient delivery failures are retried.
        clock: the current time, aware UTC.
        sleep: how a worker waits between attempts (tests pass a fake).
    """

    def __init__(
        self,
        host: Host,
        routes: list[Route] | None = None,
        *,
        throttle_window: float = 300.0,
        retry_policy: RetryPolicy = DEFAULT_RETRY,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = host
        self.ledger = AlertLedger(host.storage)
        self.routes = routes if routes is not None else routes_from_config(host)
        self.throttle_window = throttle_window
        self.retry_policy = retry_policy
        self.clock = clock
        self.sleep = sleep
        self._queues: dict[str, queue.Queue[Any]] = {}
        self._workers: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._mirrored = False
        _open_routers.add(self)

    # -- public --------------------------------------------------------------------------------

    def raise_alert(self, alert: Alert) -> list[DeliveryResult]:
        """Record ``alert`` and queue it for each channel that takes it; return the decisions
        made now (FILTERED, THROTTLED, or PENDING for deliveries under way). Never raises."""
        try:
            return self._route(alert, wait=False)
        except Exception:
            log.exception("alert %r could not be recorded or routed", alert.title)
            return []

    def deliver(self, alert: Alert) -> list[DeliveryResult]:
        """Record and deliver ``alert`` now, on this thread (``spine alerts test``); return the
        outcome per channel. Raises only when the alert cannot be recorded."""
        return self._route(alert, wait=True)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until queued deliveries are done; True when none is left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for name, pending in list(self._queues.items()):
            patient = timeout is None or timeout > 2.0
            if patient and pending.unfinished_tasks and not _join(pending, 2.0):
                # Someone is waiting on us (a command about to exit): say why.
                log.warning(
                    "alert channel %s: %d delivery(ies) still under way (retries); waiting%s",
                    name,
                    pending.unfinished_tasks,
                    "" if timeout is None else f" up to {timeout:g}s",
                )
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not _join(pending, remaining):
                log.warning("alert channel %s: deliveries still queued at exit", name)
                return False
        return True

    def close(self, timeout: float | None = 30.0) -> bool:
        """Flush (within ``timeout``), then stop the workers."""
        done = self.flush(timeout)
        for pending in self._queues.values():
            pending.put(_STOP)
        _open_routers.discard(self)
        return done

    # -- routing -------------------------------------------------------------------------------

    def _route(self, alert: Alert, *, wait: bool) -> list[DeliveryResult]:
        self._mirror()
        self.ledger.record(alert)
        results = []
        for route in self.routes:
            refused = route.refuses(alert)
            if refused is not None and alert.recovery and self._told_of_failure(route, alert):
                refused = None  # whoever heard of the failure hears that it is over
            if refused is not None:
                results.append(self._decided(alert, route, DeliveryStatus.FILTERED, refused))
                continue
            decision = self._throttle(alert, route)
            if decision is None:
                results.append(
                    self._decided(alert, route, DeliveryStatus.THROTTLED, "repeat within window")
                )
                continue
            delivery_id, to_send = decision
            if wait:
                results.append(self._send(route, to_send, delivery_id))
            else:
                self._queue(route).put((to_send, delivery_id))
                results.append(DeliveryResult(channel=route.name, status=DeliveryStatus.PENDING))
        return results

    def _told_of_failure(self, route: Route, alert: Alert) -> bool:
        return self.ledger.previous_reached(route.name, alert.dedup_key, alert.alert_id)

    def _throttle(self, alert: Alert, route: Route) -> tuple[int, Alert] | None:
        """Record a PENDING delivery (returning its id and the alert with its digest), or None
        when ``alert`` is a repeat within the window (the caller records it THROTTLED)."""
        with self.host.storage.lock(f"alert:{route.name}:{alert.dedup_key}"[:200]):
            now = self.clock()
            last = self.ledger.last_notified(route.name, alert.dedup_key)
            seconds = route.throttle if route.throttle is not None else self.throttle_window
            window = timedelta(seconds=seconds)
            if not alert.recovery and last is not None and now - last < window and seconds > 0:
                return None
            suppressed, first = self.ledger.throttled_since(route.name, alert.dedup_key, last)
            delivery_id = self.ledger.add_delivery(
                alert, route.name, DeliveryStatus.PENDING, now=now
            )
        if suppressed:
            alert = attrs.evolve(alert, suppressed=suppressed, suppressed_since=first)
        return delivery_id, alert

    def _decided(
        self, alert: Alert, route: Route, status: DeliveryStatus, why: str
    ) -> DeliveryResult:
        self.ledger.add_delivery(alert, route.name, status, last_error=why, now=self.clock())
        result = DeliveryResult(channel=route.name, status=status, detail=why, attempts=0)
        self.host.notify("spine_alert_delivered", alert=alert, delivery=result)
        return result

    # -- delivering ----------------------------------------------------------------------------

    def _send(self, route: Route, alert: Alert, delivery_id: int) -> DeliveryResult:
        attempt = 0
        result: DeliveryResult
        while True:
            attempt += 1
            result = self._attempt(route, alert)
            if result.status is DeliveryStatus.SENT:
                break
            error = _as_error(result)
            if attempt >= self.retry_policy.max_attempts or not self.retry_policy.should_retry(
                error
            ):
                break
            delay = self.retry_policy.delay_for(attempt, error)
            self.ledger.finish_delivery(
                delivery_id,
                DeliveryStatus.PENDING,
                attempts=attempt,
                last_error=result.detail or error.message,
                next_attempt_at=self.clock() + timedelta(seconds=delay),
            )
            self.sleep(delay)
        result = attrs.evolve(result, attempts=attempt)
        self.ledger.finish_delivery(
            delivery_id,
            result.status,
            attempts=attempt,
            last_error=None if result.status is DeliveryStatus.SENT else _error_text(result),
            external_ref=result.external_ref,
            delivered_at=self.clock() if result.status is DeliveryStatus.SENT else None,
        )
        self.host.notify("spine_alert_delivered", alert=alert, delivery=result)
        return result

    def _attempt(self, route: Route, alert: Alert) -> DeliveryResult:
        if route.channel is None:
            error = SpineError(
                f"alert channel {route.name} could not be built: {route.broken}",
                category=ErrorCategory.CONFIG,
                retryable=False,
            )
            return DeliveryResult(
                channel=route.name, status=DeliveryStatus.FAILED, detail=error.message, error=error
            )
        try:
            return route.channel.send(alert)
        except Exception as exc:  # a channel must not raise; one that does is a failed delivery
            error = self.host.classify(exc)
            return DeliveryResult(
                channel=route.name,
                status=DeliveryStatus.FAILED,
                detail=f"channel raised {type(exc).__name__}: {error.message}",
                error=error,
            )

    def _queue(self, route: Route) -> queue.Queue[Any]:
        with self._lock:
            pending = self._queues.get(route.name)
            if pending is None:
                pending = queue.Queue()
                self._queues[route.name] = pending
                worker = threading.Thread(
                    target=self._work,
                    args=(route, pending),
                    name=f"spine-alerts-{route.name[:20]}",
                    daemon=True,
                )
                self._workers[route.name] = worker
                worker.start()
            return pending

    def _work(self, route: Route, pending: queue.Queue[Any]) -> None:
        while True:
            item = pending.get()
            try:
                if item is _STOP:
                    return
                alert, delivery_id = item
                self._send(route, alert, delivery_id)
            except Exception:
                log.exception("alert channel %s: delivery failed unexpectedly", route.name)
            finally:
                pending.task_done()

    def _mirror(self) -> None:
        if self._mirrored:
            return
        self._mirrored = True
        try:
            self.ledger.mirror_channels(channel_settings(self.host))
        except SpineError as error:
            log.warning("could not record the alert channels: %s", error.message)


def routes_from_config(host: Host) -> list[Route]:
    """A route per enabled ``[alerts.channels.NAME]``; a channel that cannot be built still gets
    a route, whose deliveries fail with the reason (never a silent drop)."""
    routes = []
    for name, table in sorted(host.config.alerts.channels.items()):
        if not table.enabled:
            continue
        channel: AlertChannel | None = None
        broken = None
        try:
            channel = host.alert_channel(name)
        except SpineError as error:
            broken = error.message
        routes.append(_route(name, table, channel, broken))
    return routes


def channel_settings(host: Host) -> dict[str, dict[str, Any]]:
    """Each configured channel as stored in ``alert_channels``: routing plus redacted options."""
    redactor = host.config.redactor
    return {
        name: {
            "type": table.type,
            "min_severity": table.min_severity.name,
            "domains": list(table.domains),
            "enabled": table.enabled,
            "settings": redactor.redact_data(dict(table.options)),
        }
        for name, table in host.config.alerts.channels.items()
    }


def _route(
    name: str, table: ChannelConfig, channel: AlertChannel | None, broken: str | None
) -> Route:
    from spine_host.orchestration.schedule import parse_duration

    return Route(
        name=name,
        channel=channel,
        min_severity=table.min_severity,
        domains=tuple(table.domains),
        broken=broken,
        throttle=parse_duration(table.throttle),
    )


def _as_error(result: DeliveryResult) -> SpineError:
    if isinstance(result.error, SpineError):
        return result.error
    return SpineError(result.detail or "delivery failed", category=ErrorCategory.INTERNAL)


def _error_text(result: DeliveryResult) -> str:
    error = result.error
    if isinstance(error, SpineError):
        return f"[{error.category.value}] {error.message}"
    return result.detail or "delivery failed"


def _join(pending: queue.Queue[Any], timeout: float | None) -> bool:
    """``Queue.join`` with a timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with pending.all_tasks_done:
        while pending.unfinished_tasks:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            pending.all_tasks_done.wait(remaining)
    return True


# Routers still open at interpreter exit get a bounded flush, so a CLI command that raised an
# alert just before exiting still delivers it.
_open_routers: weakref.WeakSet[AlertRouter] = weakref.WeakSet()


@atexit.register
def _flush_open_routers() -> None:
    for router in list(_open_routers):
        router.close(timeout=30.0)


def routes_for(channels: Mapping[str, AlertChannel], **routing: Any) -> list[Route]:
    """Routes for channel objects (tests, embedding): the same routing for each."""
    return [Route(name=name, channel=channel, **routing) for name, channel in channels.items()]
