"""End to end: a workflow failing three times and then succeeding, with the servicenow channel
configured in spine.toml, makes one incident with two work notes, then resolves it."""

from __future__ import annotations

from typing import Any

import spine_servicenow

from spine_host.alerts.ledger import AlertLedger
from spine_host.config import parse_config
from spine_host.host import Host
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.storage import migrations


class FlakyJob:
    """A plugin with workflow ``itsm.flaky``: fails while ``params["fail"]`` is true."""

    @staticmethod
    def _step(context: Any, inputs: Any, params: Any) -> None:
        if params.get("fail"):
            raise ConnectionError("warehouse connection reset")

    from spine_host import hookimpl

    @hookimpl
    def spine_register_workflows(self, register: Any) -> None:
        register(Workflow("itsm.flaky", [Step("load", self._step)]))


def test_three_failures_make_one_incident_with_two_work_notes_and_success_resolves_it(
    servicenow: Any, tmp_path: Any
) -> None:
    host = Host(
        config=parse_config(
            {
                "alerts": {
                    "channels": {
                        "itsm": {
                            "type": "servicenow",
                            "instance_url": servicenow.url,
                            "username": servicenow.username,
                            "password": servicenow.password,
                            "throttle": "0s",  # every repeat becomes a work note
                        }
                    }
                }
            }
        ),
        plugins=[spine_servicenow, FlakyJob()],
        load_entrypoints=False,
        storage_url=f"sqlite:///{tmp_path}/spine.db",
        environ={},
    )
    migrations.upgrade(host.storage)
    try:
        runner = WorkflowRunner(host)
        for _ in range(3):
            runner.run("itsm.flaky", {"fail": True})
            assert host.alerts.flush(30)
        (incident,) = servicenow.incidents
        assert incident["correlation_id"] == "workflow:itsm.flaky"
        assert len(incident["work_notes"]) == 2
        assert incident["active"] in (True, "true")

        runner.run("itsm.flaky", {"fail": False})
        assert host.alerts.flush(30)
        (incident,) = servicenow.incidents
        assert incident["state"] == "6"
        assert incident["active"] in (False, "false")

        delivered = [
            (alert.title, row.status.value, row.external_ref)
            for alert in reversed(AlertLedger(host.storage).alerts())
            for row in alert.deliveries
        ]
        number = incident["number"]
        assert delivered == [
            ("workflow itsm.flaky FAILED", "SENT", number),
            ("workflow itsm.flaky FAILED", "SENT", number),
            ("workflow itsm.flaky FAILED", "SENT", number),
            ("workflow itsm.flaky recovered", "SENT", number),
        ]
    finally:
        host.close()
