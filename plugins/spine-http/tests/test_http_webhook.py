"""The webhook alert channel POSTs alerts as JSON to a real local server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from spine_http.webhook import WebhookChannel

from spine_host import Host
from spine_host.alerts.alert import Alert, DeliveryStatus
from spine_host.config import load_config
from spine_host.errors import ErrorCategory
from spine_host.testing.conformance.alerts import AlertChannelSuite

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


def test_a_signing_secret_signs_the_body_with_hmac_sha256(api: Any) -> None:
    import hashlib
    import hmac

    api.route("/signed", lambda request: (200, {"ok": True}))
    delivery = channel(api.url("/signed"), signing_secret="sh4red-s3cret").send(ALERT)
    assert delivery.status is DeliveryStatus.SENT
    (hit,) = api.hits("/signed")
    expected = hmac.new(b"sh4red-s3cret", hit.body, hashlib.sha256).hexdigest()
    assert hit.header("X-Spine-Signature") == f"sha256={expected}"
    assert "sh4red-s3cret" not in repr(channel(api.url("/signed"), signing_secret="sh4red-s3cret"))


class TestWebhookChannel(AlertChannelSuite):
    @pytest.fixture
    def channel(self, api: Any) -> WebhookChannel:
        api.route("/hooks/T0K3N-conformance", lambda request: (200, {"ok": True}))
        return channel(api.url("/hooks/T0K3N-conformance"), signing_secret="s1gning-key")

    @pytest.fixture
    def received(self, api: Any):  # type: ignore[no-untyped-def]
        return lambda: [hit.body.decode() for hit in api.hits("/hooks/T0K3N-conformance")]

    @pytest.fixture
    def unreachable_channel(self, closed_port_url: str) -> WebhookChannel:
        return channel(closed_port_url + "/hooks/T0K3N-conformance", signing_secret="s1gning-key")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return ["T0K3N-conformance", "s1gning-key"]
