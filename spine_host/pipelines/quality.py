"""Quality checks: PASS / WARN / FAIL with actual and expected values, kept in ``core_quality``.

A check is a function returning a :class:`CheckResult`. :class:`QualityRunner` runs checks,
persists every result (one bulk insert), and as a gate turns any FAIL into a QUALITY error that
fails the pipeline running it::

    quality = context.quality()
    quality.add("row_count", lambda: CheckResult.compare(len(rows), at_least=1))
    quality.add("null_prices", lambda: CheckResult.warn_if(nulls > 0, actual=nulls, expected=0))
    quality.gate()          # raises SpineError(category=QUALITY) if any check FAILed

A gate that fails inside ``with storage.transaction():`` rolls back the data it judged, and its
own rows with it; so the runner asks the adapter (``after_rollback``) to write them again once
the rollback is done, marked ``details["data_rolled_back"] = True``. What was judged, and why
it was refused, stays in ``spine quality list``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa

from spine_host.errors import ErrorCategory, SpineError
from spine_host.json_values import json_safe
from spine_host.storage import schema
from spine_host.storage.adapter import DatabaseAdapter
from spine_host.storage.types import utc_now

__all__ = [
    "DATA_ROLLED_BACK",
    "CheckResult",
    "QualityRecord",
    "QualityRunner",
    "QualityStatus",
    "list_quality",
    "record_from_row",
]

log = logging.getLogger(__name__)

_table = schema.core_quality

#: The ``details`` key set on results written again after their transaction rolled back.
DATA_ROLLED_BACK = "data_rolled_back"


class QualityStatus(enum.StrEnum):
    """The outcome of one check; only FAIL stops a gated pipeline."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"


@attrs.frozen(kw_only=True)
class CheckResult:
    """What a check found: its status, the actual and expected values, and why."""

    status: QualityStatus = attrs.field(converter=QualityStatus)
    actual: Any = None
    expected: Any = None
    message: str = ""
    details: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def compare(
        cls,
        actual: float,
        *,
        at_least: float | None = None,
        at_most: float | None = None,
        warn_only: bool = False,
    ) -> CheckResult:
        """PASS when ``actual`` lies within the bounds, else FAIL (WARN with ``warn_only``)."""
        low_ok = at_least is None or actual >= at_least
        high_ok = at_most is None or actual <= at_most
        expected = {"at_least": at_least, "at_most": at_most}
        expected = {name: bound for name, bound in expected.items() if bound is not None}
        if low_ok and high_ok:
            return cls(status=QualityStatus.PASS, actual=actual, expected=expected)
        bound = f">= {at_least}" if not low_ok else f"<= {at_most}"
        return cls(
            status=QualityStatus.WARN if warn_only else QualityStatus.FAIL,
            actual=actual,
            expected=expected,
            message=f"{actual} is not {bound}",
        )


@attrs.frozen(kw_only=True)
class QualityRecord:
    """A persisted check result, with where it came from."""

    check_name: str
    status: QualityStatus
    actual: Any
    expected: Any
    message: str
    details: dict[str, Any]
    execution_id: str | None
    pipeline: str | None
    domain: str | None
    partition_key: str | None
    checked_at: datetime | None

    @property
    def data_rolled_back(self) -> bool:
        """True when the transaction holding the data this check judged was rolled back."""
        return bool(self.details.get(DATA_ROLLED_BACK))


Check = Callable[[], CheckResult]


class QualityRunner:
    """Runs named checks, persists every result, and can gate on FAILs.

    Args:
        storage: the host's storage adapter.
        execution_id, pipeline, domain, partition_key: recorded on every result.
    """

    def __init__(
        self,
        storage: DatabaseAdapter,
        *,
        execution_id: str | None = None,
        pipeline: str | None = None,
        domain: str | None = None,
        partition_key: str | None = None,
    ) -> None:
        self.storage = storage
        self.execution_id = execution_id
        self.pipeline = pipeline
        self.domain = domain
        self.partition_key = partition_key
        self._checks: dict[str, Check] = {}

    def add(self, name: str, check: Check) -> QualityRunner:
        """Add a check to run; names are unique per runner. Returns the runner, for chaining."""
        if name in self._checks:
            raise ValueError(f"quality check {name!r} is already added")
        self._checks[name] = check
        return self

    def run(self) -> list[QualityRecord]:
        """Run every check and persist every result; a check that raises counts as a FAIL.

        Inside a ``transaction()`` block the results are also written again if that block rolls
        back (marked ``data_rolled_back``), so a failed gate's record outlives the rollback.
        """
        records = [
            self._record(name, _outcome(name, check)) for name, check in self._checks.items()
        ]
        if records:
            rows = [_row(record) for record in records]
            # Registered first: if this insert fails, the block can only roll back, and the
            # callback is then the only way these results are kept.
            self._keep_after_rollback(rows)
            self.storage.bulk_insert(_table.name, rows)
        return records

    def gate(self) -> list[QualityRecord]:
        """Run and persist every check, then raise a QUALITY error if any FAILed.

        Raises:
            SpineError: category QUALITY, naming each failed check with actual and expected.
        """
        records = self.run()
        failed = [record for record in records if record.status is QualityStatus.FAIL]
        if failed:
            described = "; ".join(
                f"{record.check_name}: actual {_shown(record.actual)}, "
                f"expected {_shown(record.expected)}"
                + (f" ({record.message})" if record.message else "")
                for record in failed
            )
            raise SpineError(
                f"{len(failed)} of {len(records)} quality check(s) failed: {described}",
                category=ErrorCategory.QUALITY,
                context={
                    "failed_checks": [record.check_name for record in failed],
                    "execution_id": self.execution_id,
                },
            )
        return records

    def _keep_after_rollback(self, rows: list[dict[str, Any]]) -> None:
        # after_rollback is not part of the DatabaseAdapter protocol (adding a method would break
        # adapters written against it); SqlAlchemyAdapter and every shipped adapter have it.
        register = getattr(self.storage, "after_rollback", None)
        if register is None:
            return
        storage = self.storage

        def write_again() -> None:
            storage.bulk_insert(
                _table.name,
                [{**row, "details": {**row["details"], DATA_ROLLED_BACK: True}} for row in rows],
            )
            log.info(
                "%d quality result(s) of execution %s written again: their transaction rolled back",
                len(rows),
                self.execution_id,
            )

        register(write_again)

    def _record(self, name: str, result: CheckResult) -> QualityRecord:
        return QualityRecord(
            check_name=name,
            status=result.status,
            actual=json_safe(result.actual),
            expected=json_safe(result.expected),
            message=result.message,
            details=json_safe(dict(result.details)),
            execution_id=self.execution_id,
            pipeline=self.pipeline,
            domain=self.domain,
            partition_key=self.partition_key,
            checked_at=utc_now(),
        )


def list_quality(
    storage: DatabaseAdapter,
    *,
    execution_id: str | None = None,
    status: QualityStatus | str | None = None,
    limit: int = 100,
) -> list[QualityRecord]:
    """Persisted check results, newest first, optionally of one execution or one status."""
    statement = sa.select(_table)
    if execution_id is not None:
        statement = statement.where(_table.c.execution_id == execution_id)
    if status is not None:
        statement = statement.where(_table.c.status == QualityStatus(status).value)
    statement = statement.order_by(_table.c.checked_at.desc(), _table.c.check_id.desc())
    return [record_from_row(row) for row in storage.query(statement.limit(limit))]


def _outcome(name: str, check: Check) -> CheckResult:
    try:
        result = check()
    except Exception as exc:  # a broken check must not pass silently
        return CheckResult(
            status=QualityStatus.FAIL,
            message=f"check {name!r} raised {type(exc).__name__}: {exc}",
        )
    if not isinstance(result, CheckResult):
        return CheckResult(
            status=QualityStatus.FAIL,
            actual=repr(result),
            message=f"check {name!r} returned {type(result).__name__}, not a CheckResult",
        )
    return result


def _row(record: QualityRecord) -> dict[str, Any]:
    return {
        "execution_id": record.execution_id,
        "pipeline": record.pipeline,
        "domain_name": record.domain,
        "partition_key": record.partition_key,
        "check_name": record.check_name,
        "status": record.status.value,
        "actual": record.actual,
        "expected": record.expected,
        "message": record.message,
        "details": record.details,
        "checked_at": record.checked_at,
    }


def record_from_row(row: Mapping[str, Any]) -> QualityRecord:
    """A ``QualityRecord`` from a row of its table (as ``storage.query`` returns it)."""
    return QualityRecord(
        check_name=row["check_name"],
        status=QualityStatus(row["status"]),
        actual=row["actual"],
        expected=row["expected"],
        message=row["message"] or "",
        details=dict(row["details"] or {}),
        execution_id=row["execution_id"],
        pipeline=row["pipeline"],
        domain=row["domain_name"],
        partition_key=row["partition_key"],
        checked_at=row["checked_at"],
    )


def _shown(value: Any) -> str:
    """A check's actual or expected value as a person writes it (``at_least=1``, not a repr)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return " ".join(f"{key}={_shown(value[key])}" for key in sorted(value)) or "-"
    if isinstance(value, list | tuple):
        return ",".join(_shown(item) for item in value)
    return str(value)
