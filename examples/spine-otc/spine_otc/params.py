"""The one parameter every OTC pipeline takes: the Friday the trading week ends on."""

from __future__ import annotations

from datetime import date

import attrs

__all__ = ["WeekParams"]


def _friday(instance: object, attribute: attrs.Attribute[date], value: date) -> None:
    if value.weekday() != 4:
        raise ValueError(f"must be a Friday (it is a {value:%A})")


@attrs.frozen
class WeekParams:
    """``-p week_ending=2025-12-26``: OTC weeks end on Fridays."""

    week_ending: date = attrs.field(validator=_friday)
