"""How bad something is: the ordered scale used by errors, alerts and channel routing."""

from __future__ import annotations

import enum

__all__ = ["Severity"]


class Severity(enum.IntEnum):
    """Alert severity, ordered so that ``Severity.ERROR >= Severity.WARNING``.

    Config files spell it by name (``min_severity = "ERROR"``); :meth:`parse` accepts any case.
    """

    INFO = 10
    WARNING = 20
    ERROR = 30
    CRITICAL = 40

    @classmethod
    def parse(cls, value: str | int | Severity) -> Severity:
        """Read a severity from a name (any case), a number or a Severity.

        Raises ValueError naming the allowed values when ``value`` is none of them.
        """
        if isinstance(value, Severity):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return cls(value)
            except ValueError:
                pass
        elif isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        allowed = ", ".join(cls.__members__)
        raise ValueError(f"{value!r} is not a severity; expected one of {allowed}")

    def __str__(self) -> str:
        return self.name
