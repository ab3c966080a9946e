"""The servicenow channel is built through a Host from ``[alerts.channels.NAME]``, and a table
with both or neither auth mode is refused naming the keys."""

from __future__ import annotations

from typing import Any

import pytest
import spine_servicenow
from spine_servicenow import ServiceNowChannel

from spine_host.alerts.alert import Alert, DeliveryStatus
from spine_host.config import parse_config
from spine_host.errors import ConfigError
from spine_host.host import Host


def host_with(**table: Any) -> Host:
    config = parse_config({"alerts": {"channels": {"itsm": {"type": "servicenow", **table}}}})
    return Host(
        config=config,
        plugins=[spine_servicenow],
        load_entrypoints=False,
        storage_url="sqlite://",
        environ={},
    )


def test_the_host_builds_the_channel_from_its_table(servicenow: Any) -> None:
    host = host_with(
        instance_url=servicenow.url, username=servicenow.username, password=servicenow.password
    )

    channel = host.alert_channel("itsm")

    assert isinstance(channel, ServiceNowChannel)
    assert channel.name == "itsm"
    assert channel.config.timeout == 10.0
    assert channel.config.verify is True
    assert channel.send(Alert(severity="ERROR", title="t")).status is DeliveryStatus.SENT
    assert servicenow.password not in repr(channel.config)
    host.close()


def test_a_password_from_the_environment_is_masked_in_the_config(servicenow: Any) -> None:
    config = parse_config(
        {
            "alerts": {
                "channels": {
                    "itsm": {
                        "type": "servicenow",
                        "instance_url": servicenow.url,
                        "username": servicenow.username,
                        "password": "${SNOW_PASSWORD}",
                    }
                }
            }
        },
        environ={"SNOW_PASSWORD": servicenow.password},
    )

    assert servicenow.password not in str(config.redacted())


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        (
            {"username": "u", "password": "p4ssw0rd", "token": "t0k3n-value"},
            "give username and password (basic auth) or token (OAuth bearer), not both",
        ),
        ({}, "no credentials: give username and password (basic auth) or token (OAuth bearer)"),
        ({"username": "u"}, "username given without password: basic auth needs both"),
        ({"password": "p4ssw0rd"}, "password given without username: basic auth needs both"),
    ],
)
def test_a_table_without_exactly_one_auth_mode_is_refused_naming_the_keys(
    credentials: dict[str, str], reason: str
) -> None:
    host = host_with(instance_url="https://dev12345.service-now.com", **credentials)

    with pytest.raises(ConfigError) as refused:
        host.alert_channel("itsm")

    message = refused.value.message
    assert message.startswith("alerts.channels.itsm = {")
    assert message.endswith(f"}}: {reason}")
    assert "p4ssw0rd" not in message
    assert "t0k3n-value" not in message
    assert host.check_configured() == [message]
    host.close()


def test_an_instance_url_that_is_no_url_is_refused() -> None:
    host = host_with(instance_url="dev12345", token="t0k3n")

    with pytest.raises(ConfigError) as refused:
        host.alert_channel("itsm")

    assert refused.value.message == (
        "alerts.channels.itsm.instance_url = 'dev12345': "
        "'instance_url' must look like https://INSTANCE.service-now.com "
        "(credentials go in username and password, or token)"
    )
    host.close()


def test_credentials_in_the_instance_url_are_refused() -> None:
    host = host_with(instance_url="https://u:s3cr3t-pw@dev12345.service-now.com", token="t0k3n")

    with pytest.raises(ConfigError) as refused:
        host.alert_channel("itsm")

    assert "credentials go in username and password, or token" in refused.value.message
    assert "s3cr3t-pw" not in refused.value.message
    host.close()
