"""A domain plugin providing OTC pipelines, registered the way a real plugin does.

``otc.ingest`` uses everything a pipeline can: typed params with a validator, a manifest stage
per week, rejects and a quality gate. The others each show one behaviour of the dispatcher.
"""

from __future__ import annotations

import enum
import sys
import threading
import time
from collections import Counter
from datetime import date

import attrs

from spine_host import ErrorCategory, SpineError, hookimpl
from spine_host.pipelines import (
    CheckResult,
    ExecutionContext,
    Pipeline,
    register_all,
    register_pipeline,
)

#: How often each pipeline body ran, keyed by (pipeline, marker); tests read it.
CALLS: Counter[tuple[str, str]] = Counter()
_LOCK = threading.Lock()


def called(pipeline: str, marker: str) -> int:
    with _LOCK:
        CALLS[(pipeline, marker)] += 1
        return CALLS[(pipeline, marker)]


class Tier(enum.Enum):
    NMS_TIER_1 = "T1"
    NMS_TIER_2 = "T2"
    OTC = "OTC"


def _friday(instance: object, attribute: attrs.Attribute[date], value: date) -> None:
    if value.weekday() != 4:
        raise ValueError(f"must be a Friday (it is a {value:%A})")


@attrs.frozen
class IngestParams:
    week_ending: date = attrs.field(validator=_friday)
    tier: Tier = Tier.NMS_TIER_1
    venues: list[str] = attrs.field(factory=lambda: ["XNAS"])
    bad_lines: int = 2


@register_pipeline("otc.ingest", stage="INGESTED", stages=("INGESTED", "NORMALIZED"),
                   partition="{week_ending}")  # fmt: skip
def ingest(context: ExecutionContext, params: IngestParams) -> dict[str, object]:
    """Ingest one week of OTC volume for a tier."""
    called("otc.ingest", str(params.week_ending))
    rows = [{"venue": venue, "volume": 100} for venue in params.venues]
    with context.rejects("PARSE") as rejects:
        for line in range(params.bad_lines):
            rejects.add(
                "BAD_VOLUME",
                f"volume 'x{line}' is not a number",
                raw=f"XNAS|x{line}",
                line_number=line + 2,
                locator=f"otc/{params.week_ending}.psv",
            )
    quality = context.quality()
    quality.add("row_count", lambda: CheckResult.compare(len(rows), at_least=1))
    quality.add("rejects", lambda: CheckResult.compare(rejects.count, at_most=0, warn_only=True))
    quality.gate()
    return {"rows_in": len(rows) + rejects.count, "rows_out": len(rows),
            "rows_rejected": rejects.count, "tier": params.tier}  # fmt: skip


@register_pipeline("otc.gated")
def gated(context: ExecutionContext, params: None) -> dict[str, int]:
    """Fails its quality gate: one FAIL among three checks."""
    quality = context.quality()
    quality.add("has_rows", lambda: CheckResult.compare(0, at_least=1))
    quality.add("fresh", lambda: CheckResult(status="PASS", actual=1, expected=1))
    quality.add(
        "nulls", lambda: CheckResult(status="WARN", actual=3, expected=0, message="3 nulls")
    )
    quality.gate()
    return {"rows_out": 0}


@attrs.frozen
class FlakyParams:
    failures: int = 2
    category: ErrorCategory = ErrorCategory.TRANSIENT
    retry_after: float | None = None
    marker: str = ""


@register_pipeline("otc.flaky")
def flaky(context: ExecutionContext, params: FlakyParams) -> dict[str, int]:
    """Fails ``failures`` times with ``category``, then succeeds."""
    attempt = called("otc.flaky", params.marker)
    if attempt <= params.failures:
        raise SpineError(
            f"upstream hiccup #{attempt}",
            category=params.category,
            retry_after=params.retry_after,
        )
    return {"rows_out": attempt}


@attrs.frozen
class SlowParams:
    marker: str
    seconds: float = 0.3


@register_pipeline("otc.slow")
class SlowPipeline(Pipeline):
    """Takes a while; counts how often it ran."""

    Params = SlowParams

    def run(self, context: ExecutionContext, params: SlowParams) -> dict[str, str]:
        called("otc.slow", params.marker)
        time.sleep(params.seconds)
        return {"execution_id": context.execution_id}


@register_pipeline("otc.parent")
def parent(context: ExecutionContext, params: None) -> dict[str, list[str]]:
    """Starts two child executions of otc.flaky in the same batch."""
    from spine_host.pipelines import Dispatcher

    dispatcher = Dispatcher(context.host)
    children = [
        dispatcher.run(
            "otc.flaky", {"failures": "0", "marker": f"child{n}"}, context=context.child()
        )
        for n in range(2)
    ]
    return {"children": [child.execution_id for child in children]}


@hookimpl
def spine_register_pipelines(register):
    register_all(register, sys.modules[__name__])
