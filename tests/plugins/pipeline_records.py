"""Pipelines and workflows for the run-record tests (issue 9): loads that can be slowed down,
held inside a transaction, or killed mid-way, and that write real rows.

``records.load`` writes ``rows`` rows of ``week`` into ``records_loaded`` (created by the
tests) and advances the manifest stage ``LOADED`` of partition ``week``. Inside its transaction
it may ``hold`` for some seconds before writing (a slow statement, a lock held), and it may wait
while ``<gate>/sleep`` exists, after touching ``<gate>/started``, so a test can kill it there.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host import hookimpl
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.pipelines import ExecutionContext, register_all, register_pipeline

TABLE = "records_loaded"

records_table = sa.Table(
    TABLE,
    sa.MetaData(),
    sa.Column("week", sa.String(20), nullable=False),
    sa.Column("n", sa.Integer(), nullable=False),
)


@attrs.frozen
class LoadParams:
    week: str
    rows: int = 3
    hold: float = 0.0
    gate: str = ""


@register_pipeline("records.load", domain="records", stage="LOADED", partition="{week}")
def load(context: ExecutionContext, params: LoadParams) -> dict[str, int]:
    """Load ``rows`` rows of ``week`` in one transaction (optionally held, or gated)."""
    storage = context.host.storage
    with storage.transaction():
        if params.gate:
            Path(params.gate, "started").touch()
            while Path(params.gate, "sleep").exists():
                time.sleep(0.02)
        if params.hold:
            time.sleep(params.hold)
        storage.bulk_insert(TABLE, [{"week": params.week, "n": n} for n in range(params.rows)])
    return {"rows_in": params.rows, "rows_out": params.rows, "rows_rejected": 0}


def _append(params: Any, name: str) -> None:
    with Path(params["dir"], "effects.log").open("a", encoding="utf-8") as log:
        log.write(name + "\n")


def first(context: Any, inputs: Any, params: Any) -> dict[str, int]:
    """Not idempotent: each run appends a line."""
    _append(params, "first")
    return {"value": 1}


def slow(context: Any, inputs: Any, params: Any) -> dict[str, int]:
    """Says it started, then waits while ``<dir>/sleep`` exists."""
    Path(params["dir"], "slow-started").touch()
    while Path(params["dir"], "sleep").exists():
        time.sleep(0.02)
    _append(params, "slow")
    return {"value": inputs["first"]["value"] + 1}


write_ahead = Workflow(
    "records.write_ahead",
    [Step("first", first), Step("slow", slow, ["first"])],
    description="first appends a line; slow (needs first) waits while <dir>/sleep exists",
)


def hold_lock(context: Any, inputs: Any, params: Any) -> dict[str, float]:
    """Hold SQLite's write lock (a write transaction) for ``hold`` seconds."""
    storage = context.host.storage
    with storage.transaction():
        storage.bulk_insert(TABLE, [{"week": params["week"], "n": 0}])
        Path(params["dir"], "holding").touch()
        time.sleep(float(params["hold"]))
    return {"held": float(params["hold"])}


long_transaction = Workflow(
    "records.long_transaction",
    [Step("hold", hold_lock), Step("after", lambda c, i, p: {"after": True}, ["hold"])],
)

quick = Workflow("records.quick", [Step("only", lambda c, i, p: {"ok": True})])


@hookimpl
def spine_register_pipelines(register: Callable[..., None]) -> None:
    register_all(register, sys.modules[__name__])


@hookimpl
def spine_register_workflows(register: Callable[..., None]) -> None:
    for workflow in (write_ahead, long_transaction, quick):
        register(workflow)
