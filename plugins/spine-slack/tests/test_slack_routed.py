"""Through the router, as a failing workflow's alert travels: Slack answering 429 with
``Retry-After: 1`` and then 200 gets the alert on the second attempt, about a second later, and
the delivery row records two attempts."""

from __future__ import annotations

import time
from typing import Any

import spine_slack

from spine_host.alerts.alert import DeliveryStatus
from spine_host.alerts.ledger import AlertLedger
from spine_host.config import parse_config
from spine_host.host import Host
from spine_host.orchestration.records import RunStatus
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.plugins import hookimpl
from spine_host.storage import migrations


class Failing:
    @staticmethod
    def _step(context: Any, inputs: Any, params: Any) -> None:
        raise ValueError("bad rows")

    @hookimpl
    def spine_register_workflows(self, register: Any) -> None:
        register(Workflow("chat.failing", [Step("load", self._step)]))


def test_a_429_with_retry_after_is_delivered_on_the_second_attempt(
    slack: Any, tmp_path: Any
) -> None:
    host = Host(
        config=parse_config(
            {"alerts": {"channels": {"chat": {"type": "slack", "webhook_url": slack.webhook_url}}}}
        ),
        plugins=[spine_slack, Failing()],
        load_entrypoints=False,
        storage_url=f"sqlite:///{tmp_path}/spine.db",
        environ={},
    )
    migrations.upgrade(host.storage)
    slack.answer_next(429, "rate_limited", headers={"Retry-After": "1"})
    try:
        started = time.monotonic()
        run = WorkflowRunner(host).run("chat.failing")
        run_took = time.monotonic() - started
        assert run.status is RunStatus.FAILED
        assert run_took < 1.0  # the retry wait is not the run's
        assert host.alerts.flush(30)
        first, second = slack.arrived
        assert first.body == second.body
        assert "chat.failing FAILED" in second.body
        (alert,) = AlertLedger(host.storage).alerts()
        (delivery,) = alert.deliveries
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
        assert delivery.delivered_at is not None
        waited = (delivery.delivered_at - alert.created_at).total_seconds()
        assert 0.9 <= waited < 3.0  # Retry-After: 1 honoured, not much more
    finally:
        host.close()
