"""Pipeline parameters: strings structured into typed values, with errors people can act on."""

from __future__ import annotations

import enum
import typing
from collections.abc import MutableSequence, MutableSet, Sequence, Set
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest

from spine_host import ErrorCategory, SpineError
from spine_host.pipelines.params import describe_params, params_to_json, structure_params
from tests.plugins.pipeline_otc import IngestParams, Tier


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@attrs.frozen
class AllKinds:
    day: date
    at: datetime | None = None
    tier: Tier = Tier.OTC
    priority: Priority = Priority.LOW
    limit: int = 10
    ratio: float = 0.5
    dry_run: bool = False
    venues: list[str] = attrs.field(factory=list)
    weeks: tuple[int, ...] = ()
    price: Decimal = Decimal("0")


def invalid(params_cls: type[Any] | None, raw: dict[str, Any]) -> SpineError:
    with pytest.raises(SpineError) as caught:
        structure_params("otc.test", params_cls, raw)
    assert caught.value.category is ErrorCategory.VALIDATION
    return caught.value


def test_strings_become_typed_values() -> None:
    params = structure_params(
        "otc.test",
        AllKinds,
        {
            "day": "2025-12-26",
            "at": "2025-12-26T06:00:00+00:00",
            "tier": "NMS_TIER_2",
            "priority": "2",
            "limit": "25",
            "ratio": "0.75",
            "dry_run": "yes",
            "venues": "XNAS, XNYS",
            "weeks": "1,2,3",
            "price": "10.05",
        },
    )
    assert params == AllKinds(
        day=date(2025, 12, 26),
        at=datetime(2025, 12, 26, 6, tzinfo=UTC),
        tier=Tier.NMS_TIER_2,
        priority=Priority.HIGH,
        limit=25,
        ratio=0.75,
        dry_run=True,
        venues=["XNAS", "XNYS"],
        weeks=(1, 2, 3),
        price=Decimal("10.05"),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("FALSE", False), ("1", True), ("0", False), ("yes", True), ("no", False)],
)
def test_booleans_accept_the_usual_spellings(text: str, expected: bool) -> None:
    assert structure_params("t", AllKinds, {"day": "2025-01-03", "dry_run": text}).dry_run is (
        expected
    )


def test_enums_accept_value_or_name() -> None:
    by_value = structure_params("t", AllKinds, {"day": "2025-01-03", "tier": "T1"})
    by_name = structure_params("t", AllKinds, {"day": "2025-01-03", "tier": "nms_tier_1"})
    assert by_value.tier is by_name.tier is Tier.NMS_TIER_1


def test_typed_values_pass_through_unchanged() -> None:
    params = structure_params(
        "t", AllKinds, {"day": date(2025, 1, 3), "venues": ["A"], "limit": 3, "tier": Tier.OTC}
    )
    assert (params.day, params.venues, params.limit, params.tier) == (
        date(2025, 1, 3),
        ["A"],
        3,
        Tier.OTC,
    )


def test_defaults_never_mutate_the_callers_dict() -> None:
    raw = {"week_ending": "2025-12-26"}
    first = structure_params("otc.ingest", IngestParams, raw)
    first.venues.append("CHANGED")
    second = structure_params("otc.ingest", IngestParams, raw)
    assert raw == {"week_ending": "2025-12-26"}
    assert second.venues == ["XNAS"]


def test_validator_failure_names_the_parameter_value_and_rule() -> None:
    error = invalid(IngestParams, {"week_ending": "2025-12-27"})
    assert "week_ending" in error.message
    assert "2025-12-27" in error.message
    assert "must be a Friday (it is a Saturday)" in error.message


def test_unknown_parameter_names_it_and_the_known_ones() -> None:
    error = invalid(IngestParams, {"week_ending": "2025-12-26", "unknown": "1"})
    assert "unknown parameter 'unknown'" in error.message
    assert "known parameters: week_ending, tier, venues, bad_lines" in error.message


def test_missing_parameter_is_named_with_its_expected_type() -> None:
    error = invalid(IngestParams, {})
    assert "week_ending: required but missing (expected a date as YYYY-MM-DD)" in error.message


def test_every_bad_value_is_reported_with_what_was_expected() -> None:
    error = invalid(
        AllKinds,
        {"day": "26/12/2025", "tier": "GOLD", "limit": "ten", "weeks": "1,x", "dry_run": "maybe"},
    )
    assert "day = '26/12/2025': expected a date as YYYY-MM-DD" in error.message
    assert "tier = 'GOLD': expected one of T1, T2, OTC" in error.message
    assert "limit = 'ten': expected an integer" in error.message
    assert "weeks = '1,x': item 2 'x': expected an integer" in error.message
    assert "dry_run = 'maybe': expected true or false" in error.message
    assert len(error.context["problems"]) == 5


def test_pipeline_without_params_refuses_any() -> None:
    assert structure_params("otc.gated", None, {}) is None
    error = invalid(None, {"unknown": "1"})
    assert error.message == "pipeline 'otc.test': takes no parameters; got 'unknown'"


def test_json_form_and_description() -> None:
    params = structure_params("otc.ingest", IngestParams, {"week_ending": "2025-12-26"})
    assert params_to_json(params) == {
        "week_ending": "2025-12-26",
        "tier": "T1",
        "venues": ["XNAS"],
        "bad_lines": 2,
    }
    assert describe_params(IngestParams) == [
        "week_ending: a date as YYYY-MM-DD",
        "tier: one of T1, T2, OTC = T1",
        "venues: a comma-separated list of text = (computed)",
        "bad_lines: an integer = 2",
    ]


@attrs.frozen
class Collections:
    read_only: Sequence[str] = ()
    typing_alias: typing.Sequence[int] = ()
    mutable: MutableSequence[int] = attrs.field(factory=list)
    unique: Set[str] = frozenset()
    mutable_set: MutableSet[int] = attrs.field(factory=set)
    frozen: frozenset[date] = frozenset()
    weeks: tuple[int, ...] = ()
    pair: tuple[int, str] = (0, "")
    maybe: Sequence[Tier] | None = None


def test_abstract_collections_split_on_commas_and_build_the_declared_kind() -> None:
    params = structure_params(
        "t",
        Collections,
        {
            "read_only": "x,y",
            "typing_alias": "1, 2",
            "mutable": "3,4",
            "unique": "x,y,x",
            "mutable_set": "5,5,6",
            "frozen": "2025-12-26,2025-12-19",
            "weeks": "7,8",
            "pair": "9,nine",
            "maybe": "T1,OTC",
        },
    )
    assert params == Collections(
        read_only=("x", "y"),
        typing_alias=(1, 2),
        mutable=[3, 4],
        unique=frozenset({"x", "y"}),
        mutable_set={5, 6},
        frozen=frozenset({date(2025, 12, 26), date(2025, 12, 19)}),
        weeks=(7, 8),
        pair=(9, "nine"),
        maybe=(Tier.NMS_TIER_1, Tier.OTC),
    )
    # Read-only kinds become immutable values; mutable ones stay mutable.
    kinds = [type(params.read_only), type(params.unique), type(params.mutable)]
    assert [*kinds, type(params.mutable_set)] == [tuple, frozenset, list, set]


def test_collection_items_are_checked_one_by_one() -> None:
    error = invalid(Collections, {"typing_alias": "1,x", "frozen": "20251226", "pair": "1"})
    assert "typing_alias = '1,x': item 2 'x': expected an integer" in error.message
    assert "frozen = '20251226': item 1 '20251226': expected a date as YYYY-MM-DD" in (
        error.message
    )
    assert "pair = '1': expected 2 comma-separated values (an integer, text), got 1" in (
        error.message
    )


@pytest.mark.parametrize("text", ["20251226", "2025-W52-5", "2025-360", "2025-12-26T06:00+00:00"])
def test_dates_are_exactly_yyyy_mm_dd(text: str) -> None:
    error = invalid(AllKinds, {"day": text})
    assert f"day = {text!r}: expected a date as YYYY-MM-DD" in error.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-26T06:00:00Z", datetime(2025, 12, 26, 6, tzinfo=UTC)),
        ("2025-12-26T06:00:00.250+00:00", datetime(2025, 12, 26, 6, 0, 0, 250_000, tzinfo=UTC)),
        ("2025-12-26T01:00-05:00", datetime(2025, 12, 26, 6, tzinfo=UTC)),
    ],
)
def test_datetimes_with_an_offset_are_accepted(text: str, expected: datetime) -> None:
    at = structure_params("t", AllKinds, {"day": "2025-12-26", "at": text}).at
    assert at == expected
    assert at.utcoffset() is not None


@pytest.mark.parametrize("text", ["2025-12-26T06:00", "2025-12-26T06:00:00"])
def test_naive_datetimes_are_refused_asking_for_an_offset(text: str) -> None:
    error = invalid(AllKinds, {"day": "2025-12-26", "at": text})
    assert f"at = {text!r}: a date and time needs an offset or Z (spine stores UTC)" in (
        error.message
    )
    naive = invalid(AllKinds, {"day": "2025-12-26", "at": datetime(2025, 12, 26, 6)})
    assert "needs an offset or Z" in naive.message


@pytest.mark.parametrize("text", ["2025-12-26", "20251226T060000Z", "2025-12-26 06:00+00:00"])
def test_datetimes_must_be_extended_iso_8601(text: str) -> None:
    error = invalid(AllKinds, {"day": "2025-12-26", "at": text})
    assert f"at = {text!r}: expected a date and time as ISO 8601 with an offset" in error.message


@pytest.mark.parametrize(
    ("field", "text", "expectation"),
    [
        ("limit", "1_000", "expected an integer"),
        ("limit", "١٢", "expected an integer"),
        ("ratio", "nan", "expected a finite number"),
        ("ratio", "inf", "expected a finite number"),
        ("ratio", "-Infinity", "expected a finite number"),
        ("ratio", "1_0.5", "expected a finite number"),
        ("price", "NaN", "expected a finite decimal number"),
        ("price", "1_000", "expected a finite decimal number"),
    ],
)
def test_numbers_refuse_underscores_and_non_finite_values(
    field: str, text: str, expectation: str
) -> None:
    error = invalid(AllKinds, {"day": "2025-12-26", field: text})
    assert f"{field} = {text!r}: {expectation}" in error.message


def test_signed_numbers_are_still_accepted() -> None:
    params = structure_params(
        "t", AllKinds, {"day": "2025-12-26", "limit": "-3", "ratio": "+1e3", "price": "-0.5"}
    )
    assert (params.limit, params.ratio, params.price) == (-3, 1000.0, Decimal("-0.5"))


def test_an_int_enum_refuses_booleans() -> None:
    error = invalid(AllKinds, {"day": "2025-12-26", "priority": True})
    assert "priority = True: expected one of 1, 2" in error.message
    assert structure_params("t", AllKinds, {"day": "2025-12-26", "priority": 2}).priority is (
        Priority.HIGH
    )
