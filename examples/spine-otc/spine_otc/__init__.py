"""spine-otc: an example domain plugin, written the way a data team would write theirs.

Weekly OTC (over-the-counter) trading volume by venue: three pipelines, the workflow that
chains them and a schedule for it, with sample data for three weeks (one file holds two
malformed lines).

    spine db upgrade
    spine workflows run otc.weekly_refresh -p week_ending=2025-12-26
    spine runs list
    spine schedules next otc.weekly --count 5

The entry module imports only the standard library and spine_host: pipelines, workflow and
schedule are registered by name with ``register.lazy(name, "module:attribute")``, and their
modules load the first time the host uses one of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spine_host import hookimpl

if TYPE_CHECKING:
    from spine_host.registry import Register, RegisterNamed

__all__ = [
    "spine_register_pipelines",
    "spine_register_schedules",
    "spine_register_tables",
    "spine_register_workflows",
]


@hookimpl
def spine_register_pipelines(register: Register[object]) -> None:
    """Provide ``otc.ingest_week``, ``otc.check_week`` and ``otc.summarize_week``.

    Registered lazily: ``spine_otc.pipelines`` (and SQLAlchemy with it) is imported only when
    one of them is looked up to run or to be described, never by ``spine plugins``.
    """
    register.lazy("otc.ingest_week", "spine_otc.pipelines:ingest_week")
    register.lazy("otc.check_week", "spine_otc.pipelines:check_week")
    register.lazy("otc.summarize_week", "spine_otc.pipelines:summarize_week")


@hookimpl
def spine_register_workflows(register: RegisterNamed[object]) -> None:
    """Provide ``otc.weekly_refresh``: ingest, check, summarize."""
    register.lazy("otc.weekly_refresh", "spine_otc.workflow:weekly_refresh")


@hookimpl
def spine_register_schedules(register: RegisterNamed[object]) -> None:
    """Provide ``otc.weekly``: the refresh every Wednesday 06:00 America/New_York."""
    register.lazy("otc.weekly", "spine_otc.schedules:weekly")


@hookimpl
def spine_register_tables(register: RegisterNamed[object]) -> None:
    """Provide the ``otc`` tables, created and migrated by ``spine db upgrade``."""
    register.lazy("otc", "spine_otc.tables:OTC_TABLES")
