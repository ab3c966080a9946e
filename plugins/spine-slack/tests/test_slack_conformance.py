"""The slack channel keeps the alert channel contract, through a webhook and through the Web API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from spine_slack import SlackChannel

from spine_host.testing.conformance.alerts import AlertChannelSuite


class TestWebhookConformance(AlertChannelSuite):
    @pytest.fixture
    def channel(self, slack: Any) -> SlackChannel:
        return SlackChannel("ops", SlackChannel.Config(webhook_url=slack.webhook_url))

    @pytest.fixture
    def received(self, slack: Any) -> Callable[[], list[str]]:
        bodies: Callable[[], list[str]] = slack.bodies
        return bodies

    @pytest.fixture
    def unreachable_channel(self, slack: Any, closed_port: int) -> SlackChannel:
        url = f"http://127.0.0.1:{closed_port}{urlsplit(slack.webhook_url).path}"
        return SlackChannel("ops", SlackChannel.Config(webhook_url=url, timeout=2.0))

    @pytest.fixture
    def secrets(self, slack: Any) -> list[str]:
        return [slack.webhook_url, "hook-secret-4f9a2c"]


class TestWebApiConformance(AlertChannelSuite):
    @pytest.fixture
    def channel(self, slack: Any) -> SlackChannel:
        config = SlackChannel.Config(token=slack.token, channel="#ops", api_url=slack.api_url)
        return SlackChannel("ops", config)

    @pytest.fixture
    def received(self, slack: Any) -> Callable[[], list[str]]:
        bodies: Callable[[], list[str]] = slack.bodies
        return bodies

    @pytest.fixture
    def unreachable_channel(self, slack: Any, closed_port: int) -> SlackChannel:
        config = SlackChannel.Config(
            token=slack.token,
            channel="#ops",
            api_url=f"http://127.0.0.1:{closed_port}/api",
            timeout=2.0,
        )
        return SlackChannel("ops", config)

    @pytest.fixture
    def secrets(self, slack: Any) -> list[str]:
        return [slack.token]
