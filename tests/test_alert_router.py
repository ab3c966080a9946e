"""The alert router and the automatic alerts, with test-double channels, on SQLite and PostgreSQL:
routing and its records, throttling with a digest, retries honouring retry_after, isolation of
a slow channel, recovery notices, missed fires, secrets kept out of ``alert_channels``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from spine_host.alerts.alert import Alert, DeliveryStatus
from spine_host.alerts.ledger import AlertLedger
from spine_host.alerts.router import AlertRouter
from spine_host.config import parse_config
from spine_host.errors import ErrorCategory, SpineError
from spine_host.host import Host
from spine_host.orchestration.records import RunStatus
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.pipelines.dispatcher import Dispatcher
from spine_host.severity import Severity
from spine_host.storage import schema
from spine_host.testing.alerts import FailingChannels, FakeClock, RecordingChannels
from tests.plugins import schedule_targets
from tests.plugins.workflow_fixtures import storage_plugins, storage_url

__all__ = ["storage_url"]

ALERT_TABLES = (schema.alert_deliveries, schema.alerts, schema.alert_channels)


def alerting_host(url: str, channels: dict, *plugins: object) -> Host:
    host = Host(
        config=parse_config({"alerts": {"channels": channels}}),
        plugins=[*storage_plugins(url), schedule_targets, *plugins],
        load_entrypoints=False,
        storage_url=url,
        environ={},
    )
    engine = host.storage.engine  # type: ignore[attr-defined]
    schema.metadata.create_all(engine)
    with engine.begin() as connection:
        for table in (*ALERT_TABLES, schema.workflow_steps, schema.workflow_runs):
            connection.execute(sa.delete(table))
    return host


@pytest.fixture
def recording() -> RecordingChannels:
    return RecordingChannels(types=["recording", "pager"])


@pytest.fixture
def host(storage_url: str, recording: RecordingChannels) -> Iterator[Host]:
    made = alerting_host(
        storage_url,
        {
            "ops": {"type": "recording", "min_severity": "ERROR"},
            "pager": {"type": "pager", "min_severity": "CRITICAL"},
        },
        recording,
    )
    yield made
    made.close()


def deliveries(host: Host) -> dict[tuple[str, str], list[str]]:
    """(alert title, channel) -> statuses."""
    found: dict[tuple[str, str], list[str]] = {}
    for alert in AlertLedger(host.storage).alerts(limit=1000):
        for row in alert.deliveries:
            found.setdefault((alert.title, row.channel), []).append(row.status.value)
    return found


def test_a_failed_workflow_alerts_the_channels_that_want_it(
    host: Host, recording: RecordingChannels
) -> None:
    run = WorkflowRunner(host).run("sched.fail", {"fail": True})
    assert run.status is RunStatus.FAILED
    assert host.alerts.flush(10)
    (alert,) = recording.sent["ops"]
    assert alert.title == "workflow sched.fail FAILED"
    assert alert.run_id == run.run_id
    assert "told to fail" in alert.message
    assert "maybe_fail" in alert.message  # the failed step
    assert recording.sent["pager"] == []
    assert deliveries(host) == {
        ("workflow sched.fail FAILED", "ops"): ["SENT"],
        ("workflow sched.fail FAILED", "pager"): ["FILTERED"],
    }
    (stored,) = AlertLedger(host.storage).alerts()
    pager = next(row for row in stored.deliveries if row.channel == "pager")
    assert pager.last_error == "severity ERROR below CRITICAL"


def test_ten_identical_failures_deliver_once_and_the_next_carries_the_digest(
    storage_url: str,
) -> None:
    recording = RecordingChannels()
    host = alerting_host(storage_url, {"ops": {"type": "recording"}}, recording)
    clock = FakeClock(datetime(2026, 5, 4, 9, 0, tzinfo=UTC))
    host.use_alert_router(AlertRouter(host, clock=clock, throttle_window=600))
    try:
        for _ in range(10):
            host.alerts.raise_alert(failure(clock))
            clock.advance(10)
        assert host.alerts.flush(10)
        assert len(recording.sent["ops"]) == 1
        statuses = sorted(s for statuses in deliveries(host).values() for s in statuses)
        assert statuses == ["SENT"] + ["THROTTLED"] * 9
        clock.advance(600)
        host.alerts.raise_alert(failure(clock))
        assert host.alerts.flush(10)
        latest = recording.sent["ops"][-1]
        assert latest.suppressed == 9
        assert latest.digest.startswith("9 similar alerts suppressed since 2026-05-04 09:00:10")
    finally:
        host.close()


def failure(clock: FakeClock) -> Alert:
    return Alert(
        severity=Severity.ERROR,
        title="workflow x FAILED",
        dedup_key="workflow:x",
        created_at=clock(),
    )


def test_a_transient_failure_is_retried_after_retry_after(storage_url: str) -> None:
    failing = FailingChannels(
        times=1,
        error=SpineError("HTTP 429", category=ErrorCategory.RATE_LIMIT, retry_after=1.0),
    )
    host = alerting_host(storage_url, {"chat": {"type": "failing"}}, failing)
    waits: list[float] = []
    host.use_alert_router(AlertRouter(host, sleep=waits.append))
    try:
        (result,) = host.alerts.deliver(failure(FakeClock()))
        assert (result.status, result.attempts) == (DeliveryStatus.SENT, 2)
        assert waits
        assert waits[0] >= 1.0
        (stored,) = AlertLedger(host.storage).alerts()
        assert (stored.deliveries[0].status, stored.deliveries[0].attempts) == (
            DeliveryStatus.SENT,
            2,
        )
    finally:
        host.close()


def test_a_permanent_failure_is_failed_at_once_with_the_error(storage_url: str) -> None:
    failing = FailingChannels(
        times=-1, error=SpineError("bad channel", category=ErrorCategory.CONFIG)
    )
    host = alerting_host(storage_url, {"chat": {"type": "failing"}}, failing)
    try:
        (result,) = host.alerts.deliver(failure(FakeClock()))
        assert (result.status, result.attempts) == (DeliveryStatus.FAILED, 1)
        (stored,) = AlertLedger(host.storage).alerts()
        assert stored.deliveries[0].last_error == "[CONFIG] bad channel"
    finally:
        host.close()


def test_a_slow_channel_does_not_hold_back_another_or_the_run(storage_url: str) -> None:
    release = threading.Event()
    recording = RecordingChannels(types=["recording"])

    class Slow(RecordingChannels):
        def _deliver(self, channel, alert):  # type: ignore[no-untyped-def]
            release.wait(10)
            return super()._deliver(channel, alert)

    slow = Slow(types=["slow"])
    host = alerting_host(
        storage_url, {"fast": {"type": "recording"}, "slow": {"type": "slow"}}, recording, slow
    )
    try:
        started = time.monotonic()
        run = WorkflowRunner(host).run("sched.fail", {"fail": True})
        took = time.monotonic() - started
        assert run.status is RunStatus.FAILED
        assert took < 5  # the slow channel is still waiting; the run did not
        deadline = time.monotonic() + 5
        while not recording.sent["fast"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(recording.sent["fast"]) == 1
        assert slow.sent["slow"] == []
    finally:
        release.set()
        host.close()
    assert len(slow.sent["slow"]) == 1  # close() delivered what was queued


def test_a_channel_that_raises_is_a_failed_delivery_not_a_failed_run(storage_url: str) -> None:
    class Raising(RecordingChannels):
        def _deliver(self, channel, alert):  # type: ignore[no-untyped-def]
            raise RuntimeError("channel bug")

    host = alerting_host(storage_url, {"bad": {"type": "raising"}}, Raising(types=["raising"]))
    try:
        run = WorkflowRunner(host).run("sched.fail", {"fail": True})
        assert run.status is RunStatus.FAILED
        assert host.alerts.flush(10)
        ((_, channel), statuses) = next(iter(deliveries(host).items()))
        assert (channel, statuses) == ("bad", ["FAILED"])
        (stored,) = AlertLedger(host.storage).alerts()
        assert stored.deliveries[0].last_error == "[INTERNAL] RuntimeError: channel bug"
    finally:
        host.close()


def test_a_workflow_that_succeeds_after_failing_sends_one_recovery_notice(
    host: Host, recording: RecordingChannels
) -> None:
    runner = WorkflowRunner(host)
    runner.run("sched.fail", {"fail": True})
    runner.run("sched.fail", {"fail": False})
    runner.run("sched.fail", {"fail": False})
    assert host.alerts.flush(10)
    titles = [alert.title for alert in AlertLedger(host.storage).alerts()]
    assert titles == ["workflow sched.fail recovered", "workflow sched.fail FAILED"]
    (notice,) = [a for a in AlertLedger(host.storage).alerts() if "recovered" in a.title]
    assert notice.severity == "INFO"
    # INFO is below both channels' minimum, but ops heard of the failure: it hears it is over.
    # pager never heard of it (CRITICAL only): a recovery would be noise there.
    assert {row.channel: row.status for row in notice.deliveries} == {
        "ops": DeliveryStatus.SENT,
        "pager": DeliveryStatus.FILTERED,
    }
    assert [alert.recovery for alert in recording.sent["ops"]] == [False, True]


def test_a_failed_pipeline_alerts_but_a_failed_workflow_step_alerts_once(
    host: Host, recording: RecordingChannels
) -> None:
    from spine_host.orchestration.workflow import Step, Workflow

    assert Dispatcher(host).run("sched.load", {"day": "2026-01-01"}).status.value == "COMPLETED"
    assert host.alerts.flush(10)  # a completed pipeline alerts nobody
    assert recording.sent["ops"] == []

    def boom(context, params):  # type: ignore[no-untyped-def]
        raise ValueError("pipeline broke")

    from spine_host.pipelines.registration import register_pipeline

    pipeline = register_pipeline("tests.alerting_boom")(boom)
    host.registries.pipelines.add(pipeline.name, pipeline, provider="test")
    execution = Dispatcher(host).run("tests.alerting_boom", {})
    assert execution.status.value == "FAILED"
    WorkflowRunner(host).run(Workflow("wf.boom", [Step("boom", "tests.alerting_boom")]))
    assert host.alerts.flush(10)
    assert [alert.title for alert in recording.sent["ops"]] == [
        "pipeline tests.alerting_boom FAILED",
        "workflow wf.boom FAILED",
    ]
    assert recording.sent["ops"][0].run_id == execution.execution_id


def test_a_missed_schedule_fire_raises_a_warning(storage_url: str) -> None:
    from spine_host import Schedule
    from spine_host.orchestration.scheduler import SchedulerService

    recording = RecordingChannels()
    host = alerting_host(storage_url, {"ops": {"type": "recording"}}, recording)
    with host.storage.engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(sa.delete(schema.schedule_runs))
        connection.execute(sa.delete(schema.schedules))
    try:
        clock = FakeClock(datetime(2026, 5, 4, 9, 0, 30, tzinfo=UTC))
        minutely = Schedule("m", workflow="sched.tick", cron="* * * * *", catchup="none")
        SchedulerService(host, [minutely], clock=clock).sync()
        clock.now = datetime(2026, 5, 4, 9, 3, 30, tzinfo=UTC)
        SchedulerService(host, [minutely], clock=clock).run_pending(clock.now)
        assert host.alerts.flush(10)
        titles = sorted(alert.title for alert in recording.sent["ops"])
        # Two fires missed (09:01, 09:02); the second is a repeat within the throttle window.
        assert titles == ["schedule m missed its fire at 2026-05-04T09:01:00+00:00"]
        stored = AlertLedger(host.storage).alerts()
        assert len(stored) == 2
        assert all(alert.severity == "WARNING" for alert in stored)
    finally:
        host.close()


def test_channel_settings_are_mirrored_without_secrets(storage_url: str) -> None:
    recording = RecordingChannels(replace=["console"])
    host = alerting_host(
        storage_url,
        {"ops": {"type": "console", "webhook_url": "https://hooks.example/T0/B0/s3cr3tpath"}},
        recording,
    )
    try:
        host.alerts.deliver(failure(FakeClock()))
        rows = host.storage.query(sa.select(schema.alert_channels))
        assert [(row["channel_name"], row["channel_type"]) for row in rows] == [("ops", "console")]
        assert "s3cr3tpath" not in repr(rows)
        assert rows[0]["settings"]["webhook_url"] == "***"
    finally:
        host.close()


def test_domain_globs_route_and_an_alert_without_domain_skips_filtered_channels(
    storage_url: str,
) -> None:
    recording = RecordingChannels(types=["recording", "everything"])
    host = alerting_host(
        storage_url,
        {
            "otc": {"type": "recording", "domains": ["otc*"]},
            "all": {"type": "everything"},
        },
        recording,
    )
    try:
        for domain in ("otc", "otc_eu", "prices", None):
            host.alerts.deliver(
                Alert(
                    severity="ERROR", title=f"about {domain}", domain=domain, dedup_key=str(domain)
                )
            )
        assert [alert.domain for alert in recording.sent["otc"]] == ["otc", "otc_eu"]
        assert [alert.domain for alert in recording.sent["all"]] == [
            "otc",
            "otc_eu",
            "prices",
            None,
        ]
        filtered = {
            alert.title: row.last_error
            for alert in AlertLedger(host.storage).alerts()
            for row in alert.deliveries
            if row.channel == "otc" and row.status is DeliveryStatus.FILTERED
        }
        assert filtered == {
            "about prices": "domain prices not in otc*",
            "about None": "no domain; the channel takes otc*",
        }
    finally:
        host.close()


def test_spine_alert_delivered_fires_once_per_channel_decision(storage_url: str) -> None:
    from spine_host import hookimpl

    seen: list[tuple[str, str]] = []

    class Audit:
        @hookimpl
        def spine_alert_delivered(self, alert, delivery, host):  # type: ignore[no-untyped-def]
            assert host is not None
            seen.append((delivery.channel, delivery.status.value))

    recording = RecordingChannels(types=["recording", "pager"])
    host = alerting_host(
        storage_url,
        {"ops": {"type": "recording"}, "pager": {"type": "pager", "min_severity": "CRITICAL"}},
        recording,
        Audit(),
    )
    try:
        host.alerts.raise_alert(failure(FakeClock()))
        assert host.alerts.flush(10)
        assert sorted(seen) == [("ops", "SENT"), ("pager", "FILTERED")]
    finally:
        host.close()
