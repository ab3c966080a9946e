"""The webhook alert channel POSTs alerts as JSON to a real local server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spine_http.webhook import WebhookChannel

from spine_host import Host
from spine_host.alerts.alert import Alert, DeliveryStatus
from spine_host.config import load_config
from spine_host.errors import ErrorCategory

ALERT = Alert(
    severity="ERROR",
    title="otc.weekly_refresh failed",
    message="step load: HTTP 503",
    source="workflow",
    run_id="run-42",
    metadata={"attempts": 3},
)


def channel(url: str, **options: Any) -> WebhookChannel:
    return WebhookChannel("hook", WebhookChannel.Config(url=url, **options))


def test_an_alert_is_posted_as_json_and_sent(api: Any, tmp_path: Path) -> None:
    api.route("/hooks/T0K3N", lambda request: (204, None))
    config_file = tmp_path / "spine.toml"
    config_file.write_text(
        f'[alerts.channels.hook]\ntype = "webhook"\nurl = "{api.url("/hooks/T0K3N")}"\n'
        'headers = { "X-Team" = "data" }\n',
        encoding="utf-8",
    )
    host = Host(config=load_config(config_file), storage_url="sqlite://", environ={})

    delivery = host.alert_channel("hook").send(ALERT)

    assert delivery.status is DeliveryStatus.SENT
    (hit,) = api.hits("/hooks/T0K3N")
    assert hit.method == "POST"
    assert hit.header("X-Team") == "data"
    body = json.loads(hit.body)
    assert body["severity"] == "ERROR"
    assert body["title"] == "otc.weekly_refresh failed"
    assert body["run_id"] == "run-42"
    assert body["metadata"] == {"attempts": 3}
    host.close()


def test_a_server_error_is_a_failed_transient_delivery(api: Any) -> None:
    api.route("/hook", lambda request: (503, {"error": "busy"}))

    delivery = channel(api.url("/hook")).send(ALERT)

    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.error.category is ErrorCategory.TRANSIENT
    assert delivery.error.retryable


def test_a_refused_webhook_is_a_failed_auth_delivery(api: Any) -> None:
    api.route("/hook", lambda request: (403, None))

    delivery = channel(api.url("/hook")).send(ALERT)

    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.error.category is ErrorCategory.AUTH


def test_an_unreachable_webhook_fails_without_showing_its_url(closed_port_url: str) -> None:
    url = closed_port_url.replace("/data", "/hooks/T0K3N-secret")

    delivery = channel(url, timeout=1.0).send(ALERT)

    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.error.category is ErrorCategory.TRANSIENT
    assert "T0K3N" not in delivery.detail
    assert "T0K3N" not in json.dumps(delivery.error.to_dict())
