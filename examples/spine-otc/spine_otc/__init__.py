"""spine-otc: an example domain plugin, written the way a data team would write theirs.

Weekly OTC (over-the-counter) trading volume by venue: three pipelines, the workflow that
chains them and a schedule for it, with sample data for three weeks (one file holds two
malformed lines).

    spine db upgrade
    spine workflows run otc.weekly_refresh -p week_ending=2025-12-26
    spine runs list
    spine schedules next otc.weekly --count 5

The entry module imports only the standard library and spine_host; the pipelines' modules load
when the host asks for them.
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
    """Provide ``otc.ingest_week``, ``otc.check_week`` and ``otc.summarize_week``."""
    from spine_host.pipelines import register_all
    from spine_otc import pipelines

    register_all(register, pipelines)


@hookimpl
def spine_register_workflows(register: RegisterNamed[object]) -> None:
    """Provide ``otc.weekly_refresh``: ingest, check, summarize."""
    from spine_otc.workflow import weekly_refresh

    register(weekly_refresh)


@hookimpl
def spine_register_schedules(register: RegisterNamed[object]) -> None:
    """Provide ``otc.weekly``: the refresh every Wednesday 06:00 America/New_York."""
    from spine_host.orchestration.schedule import register_schedules
    from spine_otc import schedules

    register_schedules(register, schedules)


@hookimpl
def spine_register_tables(register: RegisterNamed[object]) -> None:
    """Provide the ``otc`` tables, created and migrated by ``spine db upgrade``."""
    from spine_otc.tables import otc_tables

    register(otc_tables())
