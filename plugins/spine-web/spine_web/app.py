"""The dashboard as an ASGI application: routes, static files, and the guard in front.

::

    app = create_app(host, WebSettings())                 # read-only, on 127.0.0.1
    app = create_app(host, WebSettings(allow_actions=True, token="..."))

``spine web`` serves it with uvicorn (:mod:`spine_web.server`); a test can drive it with
Starlette's ``TestClient`` or serve it on a thread.
"""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from spine_host.api import ConfigError, Host
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter
from spine_web.action_routes import confirm_page, post_action
from spine_web.actions import WebActions
from spine_web.audit import AuditLog
from spine_web.context import WebContext
from spine_web.guard import Guard
from spine_web.jobs import BackgroundJobs
from spine_web.login import login_form, login_submit, logout
from spine_web.overview_pages import (
    actions_page,
    alerts_page,
    plugins_page,
    quality_page,
    rejects_page,
    schedules_page,
)
from spine_web.rendering import Pages
from spine_web.run_grid import GridCache
from spine_web.run_pages import execution_page, run_page, runs_page
from spine_web.settings import WebSettings

__all__ = ["create_app"]

#: The tables every page reads; the others are optional (a page without them shows nothing).
_HISTORY_TABLES = ("workflow_runs", "workflow_steps", "workflow_step_logs")


def create_app(
    host: Host, settings: WebSettings, *, jobs: BackgroundJobs | None = None
) -> Starlette:
    """The dashboard for ``host``.

    Raises :class:`ConfigError` for a storage adapter not built on SQLAlchemy (the pages
    query with SQLAlchemy Core), for a database without spine's tables, and when actions are
    allowed but the audit table is missing (``spine db upgrade`` has not run since spine-web
    was installed): no action may go unrecorded.
    """
    storage = host.storage
    if not isinstance(storage, SqlAlchemyAdapter):
        raise ConfigError(
            f"spine web needs a SQLAlchemy-based storage adapter, got {type(storage).__name__}"
        )
    _require_history(storage)
    pages = Pages(settings, host.redactor)
    audit_log = AuditLog(storage)
    audit = audit_log if audit_log.available() else None
    if audit is None and settings.allow_actions:
        raise ConfigError(
            "--allow-actions needs the table web_actions, where every action is recorded: "
            "run `spine db upgrade`"
        )
    jobs = jobs or BackgroundJobs()
    actions = WebActions(host, audit, jobs) if settings.allow_actions and audit else None
    app = Starlette(routes=_routes())
    app.state.web = WebContext(
        host=host,
        storage=storage,
        settings=settings,
        pages=pages,
        audit=audit,
        jobs=jobs,
        actions=actions,
        grids=GridCache(storage),
    )
    app.add_middleware(Guard, settings=settings, pages=pages)
    return app


def _require_history(storage: SqlAlchemyAdapter) -> None:
    """Refuse a database without spine's tables (and never create a missing SQLite file)."""
    missing_file = getattr(storage, "database_missing", lambda: None)()
    if missing_file is not None:
        raise ConfigError(
            f"the SQLite database {missing_file} does not exist yet: run `spine db upgrade`"
        )
    with storage.engine.connect() as connection:
        inspector = sa.inspect(connection)
        missing = [name for name in _HISTORY_TABLES if not inspector.has_table(name)]
    if missing:
        raise ConfigError(
            f"spine's table(s) {', '.join(missing)} do not exist yet: run `spine db upgrade`"
        )


def _routes() -> list[BaseRoute]:
    static = str(resources.files("spine_web") / "static")
    return [
        Route("/", _home),
        Route("/runs", runs_page),
        Route("/runs/{run_id}", run_page),
        Route("/runs/{run_id}/confirm/{action}", confirm_page),
        Route("/runs/{run_id}/{action}", post_action, methods=["POST"]),
        Route("/executions/{execution_id}", execution_page),
        Route("/schedules", schedules_page),
        Route("/schedules/{name}/confirm/{action}", confirm_page),
        Route("/schedules/{name}/{action}", post_action, methods=["POST"]),
        Route("/alerts", alerts_page),
        Route("/rejects", rejects_page),
        Route("/quality", quality_page),
        Route("/plugins", plugins_page),
        Route("/actions", actions_page),
        Route("/login", login_form),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]


def _home(request: Request) -> Response:
    return RedirectResponse("/runs", status_code=303)
