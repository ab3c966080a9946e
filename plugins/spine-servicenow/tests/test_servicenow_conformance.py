"""The servicenow channel keeps the alert channel contract (AlertChannelSuite)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from spine_servicenow import ServiceNowChannel

from spine_host.testing.conformance.alerts import AlertChannelSuite


class TestServiceNowChannel(AlertChannelSuite):
    @pytest.fixture
    def channel(self, make_channel: Callable[..., ServiceNowChannel]) -> ServiceNowChannel:
        return make_channel()

    @pytest.fixture
    def received(self, servicenow: Any) -> Callable[[], list[str]]:
        return servicenow.texts

    @pytest.fixture
    def unreachable_channel(self, servicenow: Any, closed_port_url: str) -> ServiceNowChannel:
        config = ServiceNowChannel.Config(
            instance_url=closed_port_url,
            username=servicenow.username,
            password=servicenow.password,
            timeout=2.0,
        )
        return ServiceNowChannel("itsm", config)

    @pytest.fixture
    def secrets(self, servicenow: Any) -> list[str]:
        return [servicenow.password, servicenow.token]


class TestServiceNowChannelWithBearerToken(TestServiceNowChannel):
    @pytest.fixture
    def channel(self, make_channel: Callable[..., ServiceNowChannel]) -> ServiceNowChannel:
        return make_channel(auth="bearer")

    @pytest.fixture
    def unreachable_channel(self, servicenow: Any, closed_port_url: str) -> ServiceNowChannel:
        config = ServiceNowChannel.Config(instance_url=closed_port_url, token=servicenow.token)
        return ServiceNowChannel("itsm", config)
