"""``otc.weekly``: refresh last week's OTC volume every Wednesday at 06:00 New York time.

OTC weeks end on Fridays and the week's files are complete by Tuesday night, so the Wednesday
run loads the week that ended the Friday before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from spine_host.orchestration.schedule import register_schedule

__all__ = ["previous_friday", "weekly"]

_FRIDAY = 4


def previous_friday(day: datetime) -> str:
    """The Friday strictly before ``day``, as ``YYYY-MM-DD``."""
    days_back = (day.weekday() - _FRIDAY) % 7 or 7
    return (day - timedelta(days=days_back)).strftime("%Y-%m-%d")


@register_schedule(
    "otc.weekly",
    workflow="otc.weekly_refresh",
    cron="0 6 * * WED",
    timezone="America/New_York",
    catchup="latest",
)
def weekly(logical_date: datetime) -> dict[str, str]:
    """The week that ended the Friday before the run's logical date."""
    return {"week_ending": previous_friday(logical_date)}
