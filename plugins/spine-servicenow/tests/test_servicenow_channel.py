"""The servicenow channel against a real local Table API: one incident per problem, its work
notes and its resolution; auth; failures as classified FAILED results."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from spine_servicenow import ServiceNowChannel

from spine_host.alerts.alert import Alert, DeliveryStatus
from spine_host.errors import ErrorCategory
from spine_host.severity import Severity

MakeChannel = Callable[..., ServiceNowChannel]


def failure(run_id: str, severity: Severity = Severity.ERROR, **changes: Any) -> Alert:
    """A failed run of otc.weekly_refresh, as the automatic alerts raise it."""
    alert = Alert(
        severity=severity,
        title="workflow otc.weekly_refresh FAILED",
        message="step load failed: [TRANSIENT] connection reset by peer",
        source="workflow:otc.weekly_refresh",
        domain="otc",
        run_id=run_id,
        error_category="TRANSIENT",
        metadata={"step": "load", "attempt": 3},
        dedup_key="workflow:otc.weekly_refresh:FAILED",
    )
    return attrs.evolve(alert, **changes)


def recovery() -> Alert:
    return failure(
        "run-5",
        Severity.INFO,
        title="workflow otc.weekly_refresh recovered",
        message="run run-5 SUCCEEDED after 3 failed runs",
        error_category=None,
        recovery=True,
    )


def test_one_workflow_failing_three_times_is_one_incident_resolved_on_recovery(
    servicenow: Any, make_channel: MakeChannel
) -> None:
    channel = make_channel()

    results = [channel.send(failure(run_id)) for run_id in ("run-1", "run-2", "run-3")]

    assert [result.status for result in results] == [DeliveryStatus.SENT] * 3
    (incident,) = servicenow.incidents
    number = incident["number"]
    assert [result.external_ref for result in results] == [number] * 3
    assert [result.detail for result in results] == [
        f"incident {number} created",
        f"work note added to {number}",
        f"work note added to {number}",
    ]
    assert len(incident["work_notes"]) == 2
    assert "run-2" in incident["work_notes"][0]
    assert "run-3" in incident["work_notes"][1]

    resolved = channel.send(recovery())

    assert (resolved.status, resolved.detail) == (DeliveryStatus.SENT, f"{number} resolved")
    assert (incident["state"], incident["active"]) == ("6", "false")
    assert incident["close_code"] == "Solution provided"
    assert "workflow otc.weekly_refresh recovered" in incident["close_notes"]

    again = channel.send(failure("run-6"))

    assert again.detail.endswith("created")
    assert len(servicenow.incidents) == 2
    assert again.external_ref == servicenow.incidents[1]["number"] != number
    assert servicenow.incidents[1]["active"] == "true"


def test_a_new_incident_says_what_failed_and_where_to_look(
    servicenow: Any, make_channel: MakeChannel
) -> None:
    channel = make_channel(assignment_group="Data Platform", caller_id="spine", category="software")

    channel.send(failure("run-1", suppressed=4))

    (incident,) = servicenow.incidents
    assert incident["short_description"] == "[ERROR] workflow otc.weekly_refresh FAILED"
    assert incident["correlation_id"] == "workflow:otc.weekly_refresh:FAILED"
    assert (incident["assignment_group"], incident["caller_id"], incident["category"]) == (
        "Data Platform",
        "spine",
        "software",
    )
    description = incident["description"]
    assert description.startswith("step load failed: [TRANSIENT] connection reset by peer\n\n")
    for line in (
        "Source: workflow:otc.weekly_refresh",
        "Domain: otc",
        "Run: run-1",
        "Error category: TRANSIENT",
        "Look further: spine runs show run-1",
        "Details: step=load, attempt=3",
        "4 similar alerts suppressed",
    ):
        assert line in description


def test_optional_fields_are_left_to_the_instance_when_not_configured(
    servicenow: Any, make_channel: MakeChannel
) -> None:
    make_channel().send(failure("run-1"))

    body = json.loads(servicenow.texts()[0])
    assert not {"assignment_group", "caller_id", "category"} & set(body)


@pytest.mark.parametrize(
    ("severity", "impact", "urgency"),
    [
        (Severity.CRITICAL, "1", "1"),
        (Severity.ERROR, "2", "2"),
        (Severity.WARNING, "3", "3"),
        (Severity.INFO, "3", "3"),
    ],
)
def test_impact_and_urgency_follow_the_severity(
    servicenow: Any, make_channel: MakeChannel, severity: Severity, impact: str, urgency: str
) -> None:
    make_channel().send(failure("run-1", severity))

    (incident,) = servicenow.incidents
    assert (incident["impact"], incident["urgency"]) == (impact, urgency)
    assert incident["short_description"].startswith(f"[{severity.name}] ")


def test_a_work_note_carries_the_digest_of_suppressed_repeats(
    servicenow: Any, make_channel: MakeChannel
) -> None:
    channel = make_channel()
    channel.send(failure("run-1"))

    channel.send(failure("run-9", suppressed=7))

    (note,) = servicenow.incidents[0]["work_notes"]
    assert note.startswith("Occurred again: [ERROR] workflow otc.weekly_refresh FAILED\n")
    assert "Run: run-9" in note
    assert "7 similar alerts suppressed" in note


def test_a_recovery_with_no_open_incident_creates_nothing(
    servicenow: Any, make_channel: MakeChannel
) -> None:
    result = make_channel().send(recovery())

    assert result.status is DeliveryStatus.SENT
    assert result.detail == "no open incident for workflow:otc.weekly_refresh:FAILED"
    assert result.external_ref is None
    assert servicenow.incidents == []


def test_a_long_title_is_cut_to_the_short_description_field(
    servicenow: Any, make_channel: MakeChannel
) -> None:
    make_channel().send(failure("run-1", title="x" * 300))

    short = servicenow.incidents[0]["short_description"]
    assert len(short) == 160
    assert short.startswith("[ERROR] xxx")
    assert short.endswith("…")


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_basic_auth_and_bearer_token_both_work(
    servicenow: Any, make_channel: MakeChannel, auth: str
) -> None:
    result = make_channel(auth=auth).send(failure("run-1"))

    assert result.status is DeliveryStatus.SENT, result.detail
    assert len(servicenow.incidents) == 1


def test_refused_credentials_are_a_failed_auth_delivery_not_retried(
    servicenow: Any, make_channel: MakeChannel
) -> None:
    wrong = "n0t-the-passw0rd"
    result = make_channel(password=wrong).send(failure("run-1"))

    assert result.status is DeliveryStatus.FAILED
    assert result.error.category is ErrorCategory.AUTH
    assert not result.error.retryable
    assert "HTTP 401" in result.detail
    assert wrong not in f"{result!r} {result.error.to_dict()}"
    assert servicenow.incidents == []


def test_a_server_error_is_a_failed_transient_delivery_retried(
    servicenow: Any, make_channel: MakeChannel
) -> None:
    servicenow.fail_next(503)

    result = make_channel().send(failure("run-1"))

    assert result.status is DeliveryStatus.FAILED
    assert result.error.category is ErrorCategory.TRANSIENT
    assert result.error.retryable
    assert result.detail.startswith(f"GET {servicenow.url}/api/now/table/incident: HTTP 503")


def test_a_rate_limit_says_when_to_retry(servicenow: Any, make_channel: MakeChannel) -> None:
    servicenow.fail_next(429, {"Retry-After": "2"})

    result = make_channel().send(failure("run-1"))

    assert result.status is DeliveryStatus.FAILED
    assert result.error.retryable
    assert result.error.retry_after == 2.0


def test_a_retry_after_a_failed_write_adds_a_note_instead_of_a_second_incident(
    servicenow: Any, make_channel: MakeChannel
) -> None:
    channel = make_channel()
    channel.send(failure("run-1"))
    servicenow.fail_next(503)

    first = channel.send(failure("run-2"))
    retried = channel.send(failure("run-2"))

    assert first.status is DeliveryStatus.FAILED
    assert retried.detail == f"work note added to {servicenow.incidents[0]['number']}"
    assert len(servicenow.incidents) == 1


def test_an_answer_that_is_no_table_api_result_is_a_parse_failure(
    make_channel: MakeChannel,
) -> None:
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    class LoginPage(BaseHTTPRequestHandler):
        # What a hibernating developer instance answers: 200 and HTML.
        def do_GET(self) -> None:
            page = b"<html>Your instance is hibernating</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), LoginPage)
    Thread(target=server.handle_request, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = make_channel(instance_url=url).send(failure("run-1"))
    finally:
        server.server_close()

    assert result.status is DeliveryStatus.FAILED
    assert result.error.category is ErrorCategory.PARSE
    assert "not a Table API result" in result.detail


def test_an_unreachable_instance_is_a_failed_transient_delivery(
    make_channel: MakeChannel, closed_port_url: str
) -> None:
    result = make_channel(instance_url=closed_port_url, timeout=2.0).send(failure("run-1"))

    assert result.status is DeliveryStatus.FAILED
    assert result.error.category is ErrorCategory.TRANSIENT
    assert result.error.retryable
    assert result.detail == f"GET {closed_port_url}/api/now/table/incident: ConnectionError"
