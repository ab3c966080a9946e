"""Pipelines for workflow tests: ``wf.extract`` counts rows, ``wf.load`` may be told to fail."""

from __future__ import annotations

import attrs

from spine_host import hookimpl
from spine_host.pipelines.registration import register_pipeline


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


@hookimpl
def spine_register_pipelines(register):
    register(extract.name, extract)
    register(load.name, load)
