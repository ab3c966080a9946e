"""The runs page (filters, day grid, keyset pages), the run page, and an execution's page."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from spine_host.orchestration.records import RunStatus
from spine_host.pipelines.repository import ExecutionRepository
from spine_host.storage.types import utc_now
from spine_web.context import web_context
from spine_web.run_detail import load_run
from spine_web.run_listing import RunCursor, RunFilters, list_runs

__all__ = ["execution_page", "run_page", "runs_page"]

#: Seconds between reloads of a page showing work still going.
REFRESH_SECONDS = 2


def runs_page(request: Request) -> Response:
    """``/runs``: filters, the workflow x day grid, and one page of runs."""
    web = web_context(request)
    query = request.query_params
    try:
        since_day = _day(query.get("since"), "since")
        until_day = _day(query.get("until"), "until")
        before = RunCursor.decode(query["before"]) if query.get("before") else None
    except ValueError as exc:
        return _bad_request(request, str(exc))
    status = (query.get("status") or "").upper() or None
    if status is not None and status not in RunStatus.__members__:
        return _bad_request(request, f"unknown status {status!r}")
    filters = RunFilters(
        workflow=query.get("workflow") or None,
        status=status,
        since=_start(since_day),
        until=_start(until_day + timedelta(days=1)) if until_day else None,
    )
    page = list_runs(web.storage, filters, before=before)
    grid = web.grids.grid(last_day=until_day or utc_now().date(), workflow=filters.workflow)
    shown = {
        "workflow": filters.workflow or "",
        "status": status or "",
        "since": since_day.isoformat() if since_day else "",
        "until": until_day.isoformat() if until_day else "",
    }
    return web.pages.render(
        request,
        "runs.html",
        {
            "title": "Runs",
            "page": page,
            "grid": grid,
            "shown": shown,
            "filter_query": {key: value for key, value in shown.items() if value},
            "workflows": sorted(
                set(web.host.registries.workflows.names()) | {shown["workflow"]} - {""}
            ),
            "statuses": [status.value for status in RunStatus],
            "paged": before is not None,
            "next_cursor": page.next_cursor.encode() if page.next_cursor else None,
        },
        section="runs",
    )


def run_page(request: Request) -> Response:
    """``/runs/{run_id}``: the timeline, params, outputs, errors, attempts and their logs."""
    web = web_context(request)
    run_id = request.path_params["run_id"]
    detail = load_run(web.host, run_id, audit=web.audit)
    starting = web.jobs.running(f"run:{run_id}")
    if detail is None:
        if starting:
            return web.pages.render(
                request,
                "message.html",
                {
                    "title": f"Run {run_id}",
                    "message": "The run is starting; this page follows it.",
                    "refresh_seconds": REFRESH_SECONDS,
                },
                section="runs",
            )
        return web.pages.render(
            request,
            "message.html",
            {"title": "No such run", "message": f"no workflow run {run_id}"},
            status_code=404,
            section="runs",
        )
    going = starting or detail.run.status is RunStatus.RUNNING
    return web.pages.render(
        request,
        "run.html",
        {
            "title": f"Run {detail.run.run_id}",
            "detail": detail,
            "run": detail.run,
            "timeline": detail.timeline,
            "job_running": starting,
            "refresh_seconds": REFRESH_SECONDS if going else None,
        },
        section="runs",
    )


def execution_page(request: Request) -> Response:
    """``/executions/{execution_id}``: a pipeline execution and its events."""
    web = web_context(request)
    execution_id = request.path_params["execution_id"]
    executions = ExecutionRepository(web.storage)
    execution = executions.get(execution_id)
    if execution is None:
        return web.pages.render(
            request,
            "message.html",
            {"title": "No such execution", "message": f"no execution {execution_id}"},
            status_code=404,
            section="runs",
        )
    return web.pages.render(
        request,
        "execution.html",
        {
            "title": f"Execution {execution_id}",
            "execution": execution,
            "events": executions.events(execution_id),
        },
        section="runs",
    )


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a date such as 2025-12-26") from None


def _start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), UTC) if day is not None else None


def _bad_request(request: Request, message: str) -> HTMLResponse:
    return web_context(request).pages.render(
        request,
        "message.html",
        {"title": "Bad request", "message": message},
        status_code=400,
        section="runs",
    )
