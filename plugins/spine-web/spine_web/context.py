"""What every route of one server shares: the host, its options, the pages, and the actions.

Kept on ``app.state.web``; routes reach it with :func:`web_context`.
"""

from __future__ import annotations

import attrs
from starlette.requests import Request

from spine_host.api import Host
from spine_host.storage.sqlalchemy_base import SqlAlchemyAdapter
from spine_web.actions import Requester, WebActions
from spine_web.audit import AuditLog
from spine_web.jobs import BackgroundJobs
from spine_web.rendering import Pages
from spine_web.run_grid import GridCache
from spine_web.settings import WebSettings

__all__ = ["WebContext", "web_context"]


@attrs.frozen(kw_only=True)
class WebContext:
    """One server's shared state.

    Attributes:
        host: what the pages read and the actions act on.
        storage: the host's storage adapter (SQLAlchemy-based: the pages query with Core).
        settings: the server's options.
        pages: the template renderer.
        audit: the audit log; None when its table is missing (read-only servers only).
        jobs: background work started by actions.
        actions: the actions; None without ``--allow-actions``.
        grids: the runs page's day grids, counted at most every few seconds.
    """

    host: Host
    storage: SqlAlchemyAdapter
    settings: WebSettings
    pages: Pages
    audit: AuditLog | None
    jobs: BackgroundJobs
    actions: WebActions | None
    grids: GridCache

    def requester(self, request: Request) -> Requester:
        """Who is asking: the server's actor and the client's address."""
        address = request.client.host if request.client is not None else None
        return Requester(self.settings.actor, address)


def web_context(request: Request) -> WebContext:
    """The shared state of the server answering ``request``."""
    found: WebContext = request.app.state.web
    return found
