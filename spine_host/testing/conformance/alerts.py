"""AlertChannelSuite: what every alert channel must do, as tests a plugin author inherits.

::

    from spine_host.testing.conformance.alerts import AlertChannelSuite

    class TestPagerChannel(AlertChannelSuite):
        @pytest.fixture
        def channel(self, pager_server):
            return PagerChannel("pager", PagerChannel.Config(url=pager_server.url, token="t0k"))

        @pytest.fixture
        def received(self, pager_server):
            return pager_server.texts      # () -> list[str]: what arrived, as text

        @pytest.fixture
        def unreachable_channel(self):
            return PagerChannel("pager", PagerChannel.Config(url="http://127.0.0.1:9", token="t0k"))

        @pytest.fixture
        def secrets(self):
            return ["t0k"]                  # must never show in results, reprs or messages

The suite checks that ``send`` delivers every severity and a recovery notice with the title, the
run id and the digest line in what arrives; that an unreachable endpoint is a FAILED result
carrying a ``SpineError`` (never an exception); and that no secret appears in a result, an error
or the channel's ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
from spine_host.alerts.channel import AlertChannel
from spine_host.errors import SpineError
from spine_host.severity import Severity

__all__ = ["AlertChannelSuite"]


def sample_alert(severity: Severity = Severity.ERROR, **changes: Any) -> Alert:
    """A failed-run alert as the automatic alerts raise it."""
    alert = Alert(
        severity=severity,
        title="workflow conformance.sample FAILED",
        message="step load failed: [TRANSIENT] connection reset by peer",
        source="workflow:conformance.sample",
        domain="conformance",
        run_id="0123456789abcdef0123456789abcdef",
        error_category="TRANSIENT",
        metadata={"step": "load", "attempt": 3},
        dedup_key="workflow:conformance.sample:FAILED",
    )
    return attrs.evolve(alert, **changes)


class AlertChannelSuite:
    """Subclass (as ``Test...``) and provide ``channel``, ``received``, ``unreachable_channel``
    and ``secrets`` (see the module docstring). Collected only through subclasses."""

    def test_is_an_alert_channel_with_a_config_class(self, channel: AlertChannel) -> None:
        """The channel satisfies the protocol and declares its table as an attrs ``Config``."""
        assert isinstance(channel, AlertChannel)
        assert attrs.has(type(channel).Config)  # type: ignore[attr-defined]

    @pytest.mark.parametrize("severity", list(Severity))
    def test_every_severity_is_delivered_with_title_and_run_id(
        self, channel: AlertChannel, received: Callable[[], list[str]], severity: Severity
    ) -> None:
        """send() reports SENT under the channel's name, and what arrives names the run."""
        result = channel.send(sample_alert(severity))
        assert isinstance(result, DeliveryResult)
        assert (result.channel, result.status) == (channel.name, DeliveryStatus.SENT), result
        arrived = received()[-1]
        assert "workflow conformance.sample FAILED" in arrived
        assert "0123456789abcdef0123456789abcdef" in arrived

    def test_the_digest_line_arrives(
        self, channel: AlertChannel, received: Callable[[], list[str]]
    ) -> None:
        """An alert carrying suppressed repeats shows how many were suppressed."""
        alert = sample_alert(suppressed=9, suppressed_since=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
        assert channel.send(alert).status is DeliveryStatus.SENT
        assert "9 similar alerts suppressed" in received()[-1]

    def test_a_recovery_notice_is_delivered(
        self, channel: AlertChannel, received: Callable[[], list[str]]
    ) -> None:
        """A recovery notice (INFO, ``recovery=True``) is delivered like any alert."""
        channel.send(sample_alert())
        recovered = sample_alert(
            Severity.INFO, title="workflow conformance.sample recovered", recovery=True
        )
        assert channel.send(recovered).status is DeliveryStatus.SENT
        assert "workflow conformance.sample recovered" in received()[-1]

    def test_an_unreachable_endpoint_is_a_failed_result_not_an_exception(
        self, unreachable_channel: AlertChannel, secrets: list[str]
    ) -> None:
        """FAILED with a classified SpineError whose words hold no secret."""
        result = unreachable_channel.send(sample_alert())
        assert result.status is DeliveryStatus.FAILED
        assert isinstance(result.error, SpineError)
        shown = f"{result!r} {result.detail} {result.error.message} {result.error.to_dict()}"
        for secret in secrets:
            assert secret not in shown

    def test_no_secret_in_results_or_reprs(self, channel: AlertChannel, secrets: list[str]) -> None:
        """A delivery's result and the channel's repr never show a secret."""
        result = channel.send(sample_alert())
        shown = f"{result!r} {result.detail} {channel!r} {getattr(channel, 'config', None)!r}"
        for secret in secrets:
            assert secret not in shown
