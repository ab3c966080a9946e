"""A pipeline that loads rows and gates them in one transaction, so a failed gate keeps no rows.

``atomic.load`` writes ``rows`` rows into ``table`` and gates on at least ``at_least`` of them,
all inside ``storage.transaction()``: the shape of a pipeline that must not publish data its
own quality checks refuse.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import attrs

from spine_host import hookimpl
from spine_host.pipelines import CheckResult, ExecutionContext, register_all, register_pipeline


@attrs.frozen
class LoadParams:
    table: str
    rows: int = 3
    at_least: int = 5


@register_pipeline("atomic.load")
def load(context: ExecutionContext, params: LoadParams) -> dict[str, int]:
    """Load rows and gate them in one transaction."""
    storage = context.host.storage
    with storage.transaction():
        storage.bulk_insert(params.table, [{"id": n} for n in range(params.rows)])
        quality = context.quality()
        quality.add("row_count", lambda: CheckResult.compare(params.rows, at_least=params.at_least))
        quality.add("ids_unique", lambda: CheckResult(status="PASS", actual=0, expected=0))
        quality.gate()
    return {"rows_in": params.rows, "rows_out": params.rows, "rows_rejected": 0}


@hookimpl
def spine_register_pipelines(register: Callable[..., None]) -> None:
    register_all(register, sys.modules[__name__])
