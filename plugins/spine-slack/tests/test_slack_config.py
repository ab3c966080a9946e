"""``[alerts.channels.NAME] type = "slack"`` as the host reads it: one way to post, or an error."""

from __future__ import annotations

from typing import Any

import pytest
import spine_slack
from spine_slack import SlackChannel

from spine_host.alerts.alert import Alert, DeliveryStatus
from spine_host.config import parse_config
from spine_host.errors import ConfigError
from spine_host.host import Host

WEBHOOK_URL = "https://hooks.slack.com/services/T0/B0/hook-secret-4f9a2c"
TOKEN = "xoxb-1234-5678-token-secret"


def host_with(table: dict[str, Any]) -> Host:
    config = parse_config({"alerts": {"channels": {"ops": {"type": "slack", **table}}}})
    return Host(
        config=config,
        plugins=[spine_slack],
        load_entrypoints=False,
        storage_url="sqlite://",
        environ={},
    )


def test_the_host_builds_a_slack_channel_that_delivers(slack: Any) -> None:
    host = host_with({"webhook_url": slack.webhook_url, "timeout": 5})

    channel = host.alert_channel("ops")

    assert isinstance(channel, SlackChannel)
    assert channel.name == "ops"
    assert channel.config.timeout == 5.0
    assert channel.send(Alert(severity="INFO", title="hello")).status is DeliveryStatus.SENT
    host.close()


def test_the_web_api_mode_is_built_with_its_defaults() -> None:
    channel = host_with({"token": TOKEN, "channel": "#ops"}).alert_channel("ops")

    assert isinstance(channel, SlackChannel)
    assert channel.config.api_url == "https://slack.com/api"
    assert (channel.config.timeout, channel.config.verify) == (10.0, True)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({}, "set webhook_url (an incoming webhook) or token and channel (the Web API)"),
        (
            {"webhook_url": WEBHOOK_URL, "token": TOKEN, "channel": "#ops"},
            "webhook_url and token are both set; keep one",
        ),
        ({"token": TOKEN}, 'channel is required with token (channel = "#ops")'),
        ({"webhook_url": WEBHOOK_URL, "channel": "#ops"}, "channel goes with token only"),
        ({"webhook_url": ""}, "webhook_url is empty"),
        ({"webhook_url": "hooks.slack.com/T0/B0/hook-secret-4f9a2c"}, "webhook_url must be a URL"),
    ],
)
def test_a_table_without_exactly_one_way_to_post_is_refused_naming_the_keys(
    table: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        host_with(table).alert_channel("ops")

    assert refused.value.message.startswith("alerts.channels.ops")
    assert expected in refused.value.message
    assert "hook-secret" not in refused.value.message
    assert TOKEN not in refused.value.message


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"timeout": 0}, "alerts.channels.ops.timeout = 0: 'timeout' must be a positive number"),
        ({"api_url": "slack.com/api"}, "alerts.channels.ops.api_url = 'slack.com/api': "),
        ({"proxy": "http://proxy:3128"}, "unknown key 'proxy'"),
    ],
)
def test_a_bad_option_is_refused_naming_it(table: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        host_with({"webhook_url": WEBHOOK_URL, **table}).alert_channel("ops")

    assert expected in refused.value.message


def test_secrets_stay_out_of_reprs() -> None:
    webhook = SlackChannel("ops", SlackChannel.Config(webhook_url=WEBHOOK_URL))
    web_api = SlackChannel("ops", SlackChannel.Config(token=TOKEN, channel="#ops"))

    shown = f"{webhook!r} {webhook.config!r} {web_api!r} {web_api.config!r}"

    assert "hook-secret" not in shown
    assert TOKEN not in shown
    assert repr(webhook) == "SlackChannel('ops', incoming webhook)"
    assert repr(web_api) == "SlackChannel('ops', #ops)"
