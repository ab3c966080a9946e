"""The pages beside runs: schedules, alerts, rejects, quality, plugins and the actions log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from spine_host.orchestration.history import WorkflowHistoryRepository
from spine_host.storage.types import utc_now
from spine_web.alert_view import load_alerts, load_channels
from spine_web.context import web_context
from spine_web.data_checks import (
    DataFilters,
    count_quality,
    count_rejects,
    latest_quality,
    latest_rejects,
)
from spine_web.plugin_view import load_plugins
from spine_web.schedule_view import load_schedules

__all__ = [
    "actions_page",
    "alerts_page",
    "plugins_page",
    "quality_page",
    "rejects_page",
    "schedules_page",
]


def schedules_page(request: Request) -> Response:
    """``/schedules``: next fires in local time and UTC, last outcomes, misses, pauses."""
    web = web_context(request)
    views, problem = load_schedules(web.host, utc_now())
    going = {
        view.schedule.name for view in views if web.jobs.running(f"schedule:{view.schedule.name}")
    }
    return web.pages.render(
        request,
        "schedules.html",
        {
            "title": "Schedules",
            "views": views,
            "problem": problem,
            "firing": going,
            "refresh_seconds": 2 if going else None,
        },
        section="schedules",
    )


def alerts_page(request: Request) -> Response:
    """``/alerts``: the latest alerts with their deliveries per channel, and the channels."""
    web = web_context(request)
    return web.pages.render(
        request,
        "alerts.html",
        {"title": "Alerts", "alerts": load_alerts(web.host), "channels": load_channels(web.host)},
        section="alerts",
    )


def rejects_page(request: Request) -> Response:
    """``/rejects``: rejects per partition and reason code, then the latest records."""
    web = web_context(request)
    filters, shown = _data_filters(request)
    return web.pages.render(
        request,
        "rejects.html",
        {
            "title": "Rejects",
            "shown": shown,
            "counts": count_rejects(web.storage, filters),
            "records": latest_rejects(web.storage, filters),
        },
        section="rejects",
    )


def quality_page(request: Request) -> Response:
    """``/quality``: checks per partition and status, then the latest results."""
    web = web_context(request)
    filters, shown = _data_filters(request)
    return web.pages.render(
        request,
        "quality.html",
        {
            "title": "Quality",
            "shown": shown,
            "counts": count_quality(web.storage, filters),
            "records": latest_quality(web.storage, filters),
        },
        section="quality",
    )


def plugins_page(request: Request) -> Response:
    """``/plugins``: what ``spine plugins`` lists; problems highlighted."""
    web = web_context(request)
    views, warnings = load_plugins(web.host)
    return web.pages.render(
        request,
        "plugins.html",
        {"title": "Plugins", "views": views, "warnings": warnings},
        section="plugins",
    )


def actions_page(request: Request) -> Response:
    """``/actions``: who did what from the dashboard, newest first."""
    web = web_context(request)
    return web.pages.render(
        request,
        "actions.html",
        {
            "title": "Actions",
            "entries": web.audit.latest() if web.audit is not None else [],
            "audit_missing": web.audit is None,
        },
        section="actions",
    )


def _data_filters(request: Request) -> tuple[DataFilters, dict[str, str]]:
    """The rejects/quality filters: domain, partition, and a run's or one execution's rows."""
    query = request.query_params
    shown = {
        name: (query.get(name) or "").strip()
        for name in ("domain", "partition", "run", "execution")
    }
    execution_ids: list[str] | None = None
    if shown["execution"]:
        execution_ids = [shown["execution"]]
    elif shown["run"]:
        run = WorkflowHistoryRepository(web_context(request).storage).get_run(shown["run"])
        execution_ids = [
            attempt.execution_id for attempt in (run.steps if run else []) if attempt.execution_id
        ]
    filters = DataFilters(
        domain=shown["domain"] or None,
        partition=shown["partition"] or None,
        execution_ids=execution_ids,
    )
    return filters, shown
