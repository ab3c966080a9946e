"""Replacing the real slack channel with a recording double is one call, and the production
``[alerts.channels.NAME]`` table stays as it is."""

from __future__ import annotations

import spine_slack

from spine_host.config import parse_config
from spine_host.host import Host
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.plugins import hookimpl
from spine_host.storage import migrations
from spine_host.testing.alerts import RecordingChannels


class Failing:
    @hookimpl
    def spine_register_workflows(self, register):  # type: ignore[no-untyped-def]
        def step(context, inputs, params):  # type: ignore[no-untyped-def]
            raise ValueError("nope")

        register(Workflow("chat.broken", [Step("only", step)]))


def test_recording_channels_replace_slack_in_one_call(tmp_path) -> None:  # type: ignore[no-untyped-def]
    recording = RecordingChannels(replace=["slack"])  # the one call
    host = Host(
        config=parse_config(
            {
                "alerts": {
                    "channels": {
                        "chat": {
                            "type": "slack",
                            "webhook_url": "https://hooks.slack.com/services/T0/B0/never-called",
                        }
                    }
                }
            }
        ),
        plugins=[spine_slack, Failing(), recording],
        load_entrypoints=False,
        storage_url=f"sqlite:///{tmp_path}/spine.db",
        environ={},
    )
    migrations.upgrade(host.storage)
    try:
        run = WorkflowRunner(host).run("chat.broken")
        assert host.alerts.flush(10)
        assert [(alert.title, alert.run_id) for alert in recording.sent["chat"]] == [
            ("workflow chat.broken FAILED", run.run_id)
        ]
    finally:
        host.close()
