"""A failing workflow with an email channel (min ERROR, a real aiosmtpd server) and a slack
channel (min CRITICAL, the local Slack): the email arrives with the run id, Slack gets nothing,
and both decisions are in ``alert_deliveries``. With the SMTP server down, the run is neither
slower nor different, email is FAILED after its retries with the connection error, and Slack
(then at ERROR) still delivers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
import spine_slack
from aiosmtpd.controller import Controller

from spine_host.alerts.ledger import AlertLedger
from spine_host.alerts.router import AlertRouter
from spine_host.config import parse_config
from spine_host.host import Host
from spine_host.orchestration.records import RunStatus
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.plugins import hookimpl
from spine_host.retry import RetryPolicy
from spine_host.storage import migrations


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


class Failing:
    @staticmethod
    def _step(context: Any, inputs: Any, params: Any) -> None:
        raise ValueError("bad rows in the load")

    @hookimpl
    def spine_register_workflows(self, register: Any) -> None:
        register(Workflow("mail.failing", [Step("load", self._step)]))


def make_host(tmp_path: Any, smtp_port: int, slack: Any, slack_minimum: str) -> Host:
    host = Host(
        config=parse_config(
            {
                "alerts": {
                    "channels": {
                        "mail": {
                            "type": "email",
                            "min_severity": "ERROR",
                            "host": "127.0.0.1",
                            "port": smtp_port,
                            "security": "none",
                            "sender": "spine@example.com",
                            "recipients": ["ops@example.com"],
                            "timeout": 2,
                        },
                        "chat": {
                            "type": "slack",
                            "min_severity": slack_minimum,
                            "webhook_url": slack.webhook_url,
                        },
                    }
                }
            }
        ),
        plugins=[spine_slack, Failing()],
        load_entrypoints=False,
        storage_url=f"sqlite:///{tmp_path}/spine.db",
        environ={},
    )
    migrations.upgrade(host.storage)
    return host


def test_email_gets_the_error_and_slack_at_critical_gets_nothing(
    smtp: tuple[Inbox, int], slack: Any, tmp_path: Any
) -> None:
    inbox, port = smtp
    host = make_host(tmp_path, port, slack, "CRITICAL")
    try:
        run = WorkflowRunner(host).run("mail.failing")
        assert run.status is RunStatus.FAILED
        assert host.alerts.flush(30)
        (message,) = inbox.messages
        assert message["Subject"] == "[ERROR] workflow mail.failing FAILED"
        assert run.run_id in message.as_string()
        assert slack.arrived == []
        (alert,) = AlertLedger(host.storage).alerts()
        decisions = {row.channel: (row.status.value, row.last_error) for row in alert.deliveries}
        assert decisions == {
            "mail": ("SENT", None),
            "chat": ("FILTERED", "severity ERROR below CRITICAL"),
        }
    finally:
        host.close()


def test_smtp_down_fails_email_after_retries_and_slack_still_delivers(
    slack: Any, tmp_path: Any
) -> None:
    host = make_host(tmp_path, free_port(), slack, "ERROR")  # nothing listens on that port
    host.use_alert_router(AlertRouter(host, retry_policy=RetryPolicy(max_attempts=3, delay=0.2)))
    try:
        started = time.monotonic()
        run = WorkflowRunner(host).run("mail.failing")
        took = time.monotonic() - started
        assert run.status is RunStatus.FAILED
        assert took < 1.0  # delivery (and its retries) happens off the run's path
        assert host.alerts.flush(30)
        assert len(slack.arrived) == 1
        (alert,) = AlertLedger(host.storage).alerts()
        rows = {row.channel: row for row in alert.deliveries}
        assert (rows["chat"].status.value, rows["chat"].attempts) == ("SENT", 1)
        assert (rows["mail"].status.value, rows["mail"].attempts) == ("FAILED", 3)
        assert "127.0.0.1" in rows["mail"].last_error
        assert "refused" in rows["mail"].last_error.lower()
    finally:
        host.close()
