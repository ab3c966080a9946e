"""The builtin ``console`` channel keeps the channel contract (AlertChannelSuite)."""

from __future__ import annotations

import io

import pytest

from spine_host.alerts.console import ConsoleChannel
from spine_host.testing.conformance.alerts import AlertChannelSuite


class TestConsoleChannel(AlertChannelSuite):
    @pytest.fixture
    def stream(self) -> io.StringIO:
        return io.StringIO()

    @pytest.fixture
    def channel(self, stream: io.StringIO) -> ConsoleChannel:
        return ConsoleChannel("ops", stream=stream)

    @pytest.fixture
    def received(self, stream: io.StringIO):  # type: ignore[no-untyped-def]
        return lambda: [line for line in stream.getvalue().splitlines() if line]

    @pytest.fixture
    def unreachable_channel(self) -> ConsoleChannel:
        closed = io.StringIO()
        closed.close()
        return ConsoleChannel("ops", stream=closed)

    @pytest.fixture
    def secrets(self) -> list[str]:
        return []


def test_one_line_per_alert_even_for_a_multi_line_message() -> None:
    stream = io.StringIO()
    from spine_host.testing.conformance.alerts import sample_alert

    ConsoleChannel("ops", stream=stream).send(sample_alert(message="line one\nline two"))
    assert stream.getvalue().count("\n") == 1
    assert "line one line two" in stream.getvalue()
