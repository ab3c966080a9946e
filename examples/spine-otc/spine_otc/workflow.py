"""``otc.weekly_refresh``: ingest the week, check it, then summarize it."""

from __future__ import annotations

from spine_host.orchestration.workflow import Step, Workflow
from spine_host.retry import RetryPolicy

__all__ = ["weekly_refresh"]

weekly_refresh = Workflow(
    name="otc.weekly_refresh",
    description="Load a week of OTC venue volume, gate it on quality, summarize by venue.",
    steps=[
        # A file share can hiccup: retry the load, but only for retryable errors.
        Step("ingest", "otc.ingest_week", retry=RetryPolicy(max_attempts=3, delay=1.0)),
        Step("check", "otc.check_week", depends_on=["ingest"]),
        Step("summarize", "otc.summarize_week", depends_on=["check"]),
    ],
)
