"""Pipelines for workflow tests: ``wf.extract`` counts rows, ``wf.load`` may be told to fail,
``wf.flaky`` fails ``failures`` times per ``token`` before it works (and retries by itself)."""

from __future__ import annotations

from collections import Counter

import attrs

from spine_host import hookimpl
from spine_host.pipelines.registration import register_pipeline
from spine_host.retry import RetryPolicy


@attrs.frozen
class ExtractParams:
    rows: int
    region: str = "us"


@register_pipeline("wf.extract", params=ExtractParams)
def extract(context, params):
    return {
        "rows_in": params.rows,
        "rows_out": params.rows - 1,
        "region": params.region,
        "parent": context.parent_execution_id,
        "batch": context.batch_id,
    }


@attrs.frozen
class LoadParams:
    fail: bool = False


@register_pipeline("wf.load", params=LoadParams)
def load(context, params):
    if params.fail:
        raise PermissionError("the warehouse refused the load")
    return {"rows_out": 7}


#: Calls of ``wf.flaky`` per token, across attempts.
FLAKY_CALLS: Counter[str] = Counter()


@attrs.frozen
class FlakyParams:
    token: str
    failures: int = 2


@register_pipeline(
    "wf.flaky", params=FlakyParams, retry_policy=RetryPolicy(max_attempts=3, delay=0)
)
def flaky(context, params):
    FLAKY_CALLS[params.token] += 1
    if FLAKY_CALLS[params.token] <= params.failures:
        raise ConnectionError("feed reset")  # TRANSIENT: worth another attempt
    return {"rows_out": 1}


@hookimpl
def spine_register_pipelines(register):
    register(extract.name, extract)
    register(load.name, load)
    register(flaky.name, flaky)
