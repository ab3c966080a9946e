"""The builtin file source on real files: formats, rejects, types, change detection, failures."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import spine_host.builtins.sources
from spine_host.config import SourceConfig, SpineConfig
from spine_host.errors import ConfigError, ErrorCategory, SpineError
from spine_host.host import Host
from spine_host.sources.file import FileSource, FileSourceConfig
from spine_host.structuring import structure

HEADER = "week_ending|tier|symbol|total_shares"
GOOD = [
    "2025-12-26|NMS_TIER_1|AAPL|1000",
    "2025-12-26|NMS_TIER_1|MSFT|2000",
    "2025-12-26|NMS_TIER_2|ZZZ|30",
    "2025-12-26|OTC|ABCD|4",
]


def file_source(path: Path | str, **options: Any) -> FileSource:
    config = structure({"path": str(path), **options}, FileSourceConfig, "sources.test")
    return FileSource("test", config)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_psv_with_two_malformed_lines_loads_good_rows_and_reports_both(tmp_path: Path) -> None:
    lines = [HEADER, GOOD[0], "2025-12-26|NMS_TIER_1|BROKEN", GOOD[1], GOOD[2]]
    lines += ["2025-12-26|OTC|TOO|MANY|FIELDS", GOOD[3]]
    path = write(tmp_path / "week.psv", "\n".join(lines) + "\n")

    result = file_source(path).fetch()

    assert result.ok, result.error
    assert [row["symbol"] for row in result.rows()] == ["AAPL", "MSFT", "ZZZ", "ABCD"]
    assert [(r.line_number, r.raw) for r in result.rejects] == [
        (3, "2025-12-26|NMS_TIER_1|BROKEN"),
        (6, "2025-12-26|OTC|TOO|MANY|FIELDS"),
    ]
    assert result.rejects[0].reason == "expected 4 columns, found 3"
    assert result.rejects[0].locator == str(path)
    assert result.metadata is not None
    assert result.metadata.row_count == 4


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path: Path) -> None:
    text = (
        'id,comment,amount\n1,plain,10\n\n2,"spans\ntwo lines",20\nbad,row\n'
        '3,"a ""quoted"" word",30\n\n\n4,x,40,extra\n5,last,50\n'
    )
    path = write(tmp_path / "notes.csv", text)

    result = file_source(path).fetch()

    assert [(r.line_number, r.raw) for r in result.rejects] == [
        (6, "bad,row"),
        (10, "4,x,40,extra"),
    ]
    assert [row["comment"] for row in result.rows()] == [
        "plain",
        "spans\ntwo lines",
        'a "quoted" word',
        "last",
    ]


def test_line_numbers_stay_right_across_many_blocks(tmp_path: Path) -> None:
    lines = ["n,word"] + [f"{n},w{n}" for n in range(1, 20001)]
    lines[5000] = "broken"  # line 5001
    lines[17000] = "1,2,3"  # line 17001
    path = write(tmp_path / "big.csv", "\n".join(lines) + "\n")

    result = file_source(path, block_size=4096).fetch()

    assert [(r.line_number, r.raw) for r in result.rejects] == [(5001, "broken"), (17001, "1,2,3")]
    assert result.row_count == 19998


def test_stream_yields_typed_values(tmp_path: Path) -> None:
    path = write(tmp_path / "week.psv", "\n".join([HEADER, *GOOD]) + "\n")
    rows = list(file_source(path).stream())
    assert rows[0] == {
        "week_ending": dt.date(2025, 12, 26),
        "tier": "NMS_TIER_1",
        "symbol": "AAPL",
        "total_shares": 1000,
    }


def test_declared_types_are_applied(tmp_path: Path) -> None:
    path = write(
        tmp_path / "typed.csv",
        "id,price,amount,flag,at,day,code\n1,2.5,12.34,true,2025-01-02T03:04:05Z,2025-01-02,007\n",
    )
    types = {
        "id": "int32",
        "price": "float64",
        "amount": "decimal128(10, 2)",
        "flag": "bool",
        "at": "timestamp[us, tz=UTC]",
        "day": "date32",
        "code": "string",
    }
    source = file_source(path, types=types)
    [row] = list(source.stream())
    assert row == {
        "id": 1,
        "price": 2.5,
        "amount": Decimal("12.34"),
        "flag": True,
        "at": dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "day": dt.date(2025, 1, 2),
        "code": "007",
    }
    [batch] = list(source.batches())
    assert batch.schema.field("id").type == pa.int32()
    assert batch.schema.field("amount").type == pa.decimal128(10, 2)


PEOPLES_TYPES = """
types = {d = "date", n = "int", p = "decimal(10,2)", t = "datetime"}
"""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("typed.csv", "d,n,p,t\n2025-12-26,7,12.34,2025-12-26T09:30:00\n"),
        ("typed.jsonl", '{"d": "2025-12-26", "n": 7, "p": "12.34", "t": "2025-12-26T09:30:00"}\n'),
    ],
)
def test_types_take_the_names_people_write(tmp_path: Path, name: str, text: str) -> None:
    path = write(tmp_path / name, text)
    source = file_source(path, **tomllib.loads(PEOPLES_TYPES))

    [batch] = list(source.batches())
    [row] = source.fetch().rows()

    assert row == {
        "d": dt.date(2025, 12, 26),
        "n": 7,
        "p": Decimal("12.34"),
        "t": dt.datetime(2025, 12, 26, 9, 30),
    }
    assert [field.type for field in batch.schema] == [
        pa.date32(),
        pa.int64(),
        pa.decimal128(10, 2),
        pa.timestamp("us"),
    ]


@pytest.mark.parametrize(
    ("written", "arrow"),
    [
        ("date", pa.date32()),
        ("datetime", pa.timestamp("us")),
        ("datetime[tz=UTC]", pa.timestamp("us", tz="UTC")),
        ("int", pa.int64()),
        ("str", pa.string()),
        ("text", pa.string()),
        ("float", pa.float64()),
        ("bool", pa.bool_()),
        ("decimal(12, 2)", pa.decimal128(12, 2)),
        ("decimal(50,4)", pa.decimal256(50, 4)),
        ("date32", pa.date32()),
        ("int64", pa.int64()),
        ("timestamp[us, tz=UTC]", pa.timestamp("us", tz="UTC")),
        ("decimal128(12, 2)", pa.decimal128(12, 2)),
    ],
)
def test_a_written_type_name_means_its_arrow_type(written: str, arrow: pa.DataType) -> None:
    source = file_source("x.csv", types={"c": written})
    assert source.read_spec().types == {"c": arrow}


def test_an_aware_datetime_and_text_load_as_declared(tmp_path: Path) -> None:
    path = write(tmp_path / "at.csv", "at,code,ok,ratio\n2025-12-26T09:30:00Z,007,true,0.5\n")
    types = {"at": "datetime[tz=UTC]", "code": "text", "ok": "bool", "ratio": "float"}

    [row] = list(file_source(path, types=types).stream())

    assert row == {
        "at": dt.datetime(2025, 12, 26, 9, 30, tzinfo=dt.UTC),
        "code": "007",
        "ok": True,
        "ratio": 0.5,
    }


def test_a_bad_value_under_a_written_type_name_is_a_reject(tmp_path: Path) -> None:
    path = write(tmp_path / "n.csv", "n,d\n1,2025-12-26\nx,2025-12-27\n")

    result = file_source(path, types={"n": "int", "d": "date"}).fetch()

    assert result.ok, result.error
    assert [row["n"] for row in result.rows()] == [1]
    assert [(r.line_number, r.reason) for r in result.rejects] == [
        (3, "column n: 'x' is not a valid int64")
    ]


def test_an_unknown_type_lists_the_names_accepted() -> None:
    with pytest.raises(ConfigError) as caught:
        structure({"path": "x.csv", "types": {"n": "integer"}}, FileSourceConfig, "sources.test")
    message = caught.value.message
    for name in ("date", "datetime", "int", "str", "text", "decimal(P, S)", "int64", "date32"):
        assert name in message


OTC_HEADER = "week_ending|tier|symbol|trade_count"
OTC_TYPES = {"week_ending": "date32", "trade_count": "int64"}


def test_values_that_do_not_fit_their_types_are_rejects_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    lines = [OTC_HEADER, *GOOD[:2], "2025-12-26|NMS_TIER_1|AAPL|not-a-number", GOOD[2]]
    lines += ["2025-13-45|OTC|BADD|5", GOOD[3]]
    path = write(tmp_path / "week.psv", "\n".join(lines) + "\n")
    source = file_source(path, types=OTC_TYPES)

    result = source.fetch()

    assert result.ok, result.error
    assert [(r.line_number, r.raw, r.reason_code, r.reason) for r in result.rejects] == [
        (
            4,
            "2025-12-26|NMS_TIER_1|AAPL|not-a-number",
            "BAD_VALUE",
            "column trade_count: 'not-a-number' is not a valid int64",
        ),
        (
            6,
            "2025-13-45|OTC|BADD|5",
            "BAD_VALUE",
            "column week_ending: '2025-13-45' is not a valid date32",
        ),
    ]
    expected = [
        {"week_ending": dt.date(2025, 12, 26), "tier": tier, "symbol": symbol, "trade_count": n}
        for tier, symbol, n in [
            ("NMS_TIER_1", "AAPL", 1000),
            ("NMS_TIER_1", "MSFT", 2000),
            ("NMS_TIER_2", "ZZZ", 30),
            ("OTC", "ABCD", 4),
        ]
    ]
    assert result.rows() == expected
    assert result.table is not None
    assert result.table.schema.field("trade_count").type == pa.int64()
    assert result.metadata is not None
    assert result.metadata.extra["rejects"] == 2
    assert list(source.stream()) == expected
    batches = list(source.batches())
    assert [row for batch in batches for row in batch.to_pylist()] == expected
    assert {batch.schema.field("week_ending").type for batch in batches} == {pa.date32()}


def test_a_wrong_width_row_and_a_bad_value_are_both_reported(tmp_path: Path) -> None:
    lines = [OTC_HEADER, GOOD[0], "2025-12-26|OTC|SHORT", GOOD[1], "2025-12-26|OTC|X|12x", GOOD[2]]
    path = write(tmp_path / "week.psv", "\n".join(lines) + "\n")

    result = file_source(path, types=OTC_TYPES).fetch()

    assert [(r.line_number, r.reason_code, r.raw) for r in result.rejects] == [
        (3, "COLUMN_COUNT", "2025-12-26|OTC|SHORT"),
        (5, "BAD_VALUE", "2025-12-26|OTC|X|12x"),
    ]
    assert [row["symbol"] for row in result.rows()] == ["AAPL", "MSFT", "ZZZ"]


def test_bad_values_in_a_gzipped_file_are_rejects(tmp_path: Path) -> None:
    path = tmp_path / "week.psv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write(f"{OTC_HEADER}\n{GOOD[0]}\n2025-12-26|OTC|X|many\n{GOOD[1]}\n")

    result = file_source(path, types=OTC_TYPES).fetch()

    assert [(r.line_number, r.raw) for r in result.rejects] == [(3, "2025-12-26|OTC|X|many")]
    assert [row["trade_count"] for row in result.rows()] == [1000, 2000]


def test_a_bad_value_after_many_blocks_keeps_every_row_once_and_lines_right(
    tmp_path: Path,
) -> None:
    # Blocks before the bad value were already yielded typed when pyarrow fails; the casting
    # read must not repeat them, nor report the wrong-width rows a second time.
    lines = ["n,word,day"] + [f"{n},w{n},2025-01-02" for n in range(1, 20001)]
    lines[3000] = "broken"  # line 3001
    lines[12000] = '12000,"two\nlines",2025-01-02'  # lines 12001-12002
    lines[15000] = "15000,w15000,someday"  # line 15002
    lines[16000] = "16000,w16000,,extra"  # line 16002
    lines[18000] = "lots,w18000,2025-01-02"  # line 18002
    path = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    source = file_source(path, block_size=4096, types={"n": "int32", "day": "date32"})

    result = source.fetch()

    assert [(r.line_number, r.reason_code, r.raw) for r in result.rejects] == [
        (3001, "COLUMN_COUNT", "broken"),
        (15002, "BAD_VALUE", "15000,w15000,someday"),
        (16002, "COLUMN_COUNT", "16000,w16000,,extra"),
        (18002, "BAD_VALUE", "lots,w18000,2025-01-02"),
    ]
    numbers = result.table.column("n").to_pylist() if result.table is not None else []
    assert numbers == [n for n in range(1, 20001) if n not in (3000, 15000, 16000, 18000)]
    assert result.rows()[11998]["word"] == "two\nlines"
    assert sum(batch.num_rows for batch in source.batches()) == len(numbers)


def test_a_word_in_a_column_inferred_as_numbers_is_a_reject(tmp_path: Path) -> None:
    lines = ["n,word"] + [f"{n},w{n}" for n in range(1, 5001)]
    lines[4000] = "many,w4000"  # line 4001, far past the block pyarrow inferred int64 from
    path = write(tmp_path / "inferred.csv", "\n".join(lines) + "\n")

    result = file_source(path, block_size=4096).fetch()

    [reject] = result.rejects
    assert (reject.line_number, reject.reason_code) == (4001, "BAD_VALUE")
    assert reject.reason.startswith("column n: 'many' is not a valid int64 (the type pyarrow")
    assert result.row_count == 4999


def test_after_a_bad_value_nulls_and_padding_read_as_on_a_clean_file(tmp_path: Path) -> None:
    body = ["id,amount,price,day,flag", "1, 12 ,2.5,2025-01-02,true", "2,,NA, 2025-01-03,"]
    body += ["3,N/A,null,,false"]
    clean = write(tmp_path / "clean.csv", "\n".join(body) + "\n")
    dirty = write(tmp_path / "dirty.csv", "\n".join([*body, "4,x,1.0,2025-01-04,true"]) + "\n")
    types = {"amount": "int64", "price": "float64", "day": "date32", "flag": "bool"}

    expected = file_source(clean, types=types).fetch()
    result = file_source(dirty, types=types).fetch()

    assert expected.rejects == []
    assert [r.line_number for r in result.rejects] == [5]
    assert result.rows() == expected.rows()
    assert result.rows()[1] == {
        "id": 2,
        "amount": None,
        "price": None,
        "day": dt.date(2025, 1, 3),
        "flag": None,
    }


def test_stream_skips_bad_values_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [OTC_HEADER, GOOD[0], "2025-12-26|OTC|X|x", "2025-12-26|OTC|Y|y", GOOD[1]]
    path = write(tmp_path / "week.psv", "\n".join(lines) + "\n")
    with caplog.at_level("WARNING", logger="spine_host.sources.file"):
        rows = list(file_source(path, types=OTC_TYPES).stream())
    assert [row["symbol"] for row in rows] == ["AAPL", "MSFT"]
    [record] = caplog.records
    assert "skipped 2" in record.getMessage()
    assert "line 3" in record.getMessage()


def test_no_header_with_given_columns_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path / "raw.txt", "1;'a;b'\n2;'c'\n")
    source = file_source(
        path, format="csv", header=False, columns=["n", "text"], delimiter=";", quote="'"
    )
    assert list(source.stream()) == [{"n": 1, "text": "a;b"}, {"n": 2, "text": "c"}]


def test_tsv_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "data.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write("a\tb\n1\tx\n2\ty\nbroken\n3\tz\n")
    result = file_source(path).fetch()
    assert result.rows() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": "z"}]
    assert [(r.line_number, r.raw) for r in result.rejects] == [(4, "broken")]


def test_a_glob_reads_files_in_sorted_order_and_names_them_in_rejects(tmp_path: Path) -> None:
    write(tmp_path / "b.psv", f"{HEADER}\n{GOOD[1]}\nbad\n")
    write(tmp_path / "a.psv", f"{HEADER}\n{GOOD[0]}\n")
    write(tmp_path / "c.csv", "ignored\n1\n")
    result = file_source(tmp_path / "*.psv").fetch()
    assert [row["symbol"] for row in result.rows()] == ["AAPL", "MSFT"]
    assert [(Path(r.locator or "").name, r.line_number) for r in result.rejects] == [("b.psv", 3)]
    assert result.metadata is not None
    assert [Path(p).name for p in result.metadata.extra["files"]] == ["a.psv", "b.psv"]


def test_json_array_and_wrapped_records(tmp_path: Path) -> None:
    records = [
        {"symbol": "AAA", "day": "2025-01-03", "n": 1},
        {"symbol": "BBB", "day": None, "n": 2},
    ]
    write(tmp_path / "plain.json", json.dumps(records))
    write(tmp_path / "wrapped.json", json.dumps({"meta": {}, "data": {"items": [*records, 7]}}))

    plain = file_source(tmp_path / "plain.json", types={"day": "date32"}).fetch()
    wrapped = file_source(
        tmp_path / "wrapped.json", records_path="data.items", types={"day": "date32"}
    ).fetch()

    expected = [
        {"symbol": "AAA", "day": dt.date(2025, 1, 3), "n": 1},
        {"symbol": "BBB", "day": None, "n": 2},
    ]
    assert sorted(plain.rows()[0]) == sorted(expected[0])
    assert plain.rows() == expected
    assert wrapped.rows() == expected
    assert [r.reason_code for r in wrapped.rejects] == ["NOT_AN_OBJECT"]
    missing = file_source(tmp_path / "wrapped.json", records_path="data.nope").fetch()
    assert missing.error is not None
    assert missing.error.category is ErrorCategory.PARSE


def test_jsonl_rejects_bad_lines_with_their_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "events.jsonl",
        '{"id": 1, "at": "2025-01-02T00:00:00Z"}\n{"id": 2,\n\n"text"\n'
        '{"id": "three"}\n{"id": 4, "at": "2025-01-03T00:00:00Z"}\n',
    )
    result = file_source(path, types={"at": "timestamp[us, tz=UTC]"}).fetch()
    assert [row["id"] for row in result.rows()] == [1, 4]
    assert result.rows()[1]["at"] == dt.datetime(2025, 1, 3, tzinfo=dt.UTC)
    assert [(r.line_number, r.raw) for r in result.rejects] == [
        (2, '{"id": 2,'),
        (4, '"text"'),
        (5, '{"id": "three"}'),
    ]


def test_jsonl_values_that_do_not_fit_declared_types_are_rejects(tmp_path: Path) -> None:
    path = write(
        tmp_path / "trades.jsonl",
        '{"id": 1, "day": "2025-01-02"}\n{"id": "two", "day": "2025-01-02"}\n'
        '{"id": 3, "day": "2025-13-45"}\n{"id": 4, "day": "2025-01-05"}\n',
    )

    result = file_source(path, types={"id": "int64", "day": "date32"}).fetch()

    assert result.rows() == [
        {"id": 1, "day": dt.date(2025, 1, 2)},
        {"id": 4, "day": dt.date(2025, 1, 5)},
    ]
    assert [(r.line_number, r.reason_code, r.reason, r.raw) for r in result.rejects] == [
        (
            2,
            "BAD_VALUE",
            "column id: 'two' is not a valid int64",
            '{"id": "two", "day": "2025-01-02"}',
        ),
        (
            3,
            "BAD_VALUE",
            "column day: '2025-13-45' is not a valid date32",
            '{"id": 3, "day": "2025-13-45"}',
        ),
    ]


def test_parquet_in_bounded_batches(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    table = pa.table({"id": list(range(10)), "day": [dt.date(2025, 1, 1)] * 10})
    pq.write_table(table, path, row_group_size=4)
    source = file_source(path, types={"id": "int32"})
    batches = list(source.batches(batch_size=3))
    assert max(batch.num_rows for batch in batches) <= 3
    assert sum(batch.num_rows for batch in batches) == 10
    assert batches[0].schema.field("id").type == pa.int32()
    assert source.fetch().rows() == table.to_pylist()


def test_reading_twice_with_previous_metadata_is_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path / "week.psv", "\n".join([HEADER, *GOOD]) + "\n")
    source = file_source(path)
    first = source.fetch()
    again = source.fetch(previous=first.metadata)
    assert again.ok
    assert again.changed is False
    assert again.rows() == []
    assert again.metadata is not None
    assert again.metadata.row_count == 4
    assert again.metadata.content_hash == first.metadata.content_hash  # type: ignore[union-attr]


def test_a_one_byte_edit_with_the_same_size_and_mtime_is_changed(tmp_path: Path) -> None:
    path = write(tmp_path / "week.psv", "\n".join([HEADER, *GOOD]) + "\n")
    before = path.stat()
    source = file_source(path)
    first = source.fetch()
    path.write_bytes(path.read_bytes().replace(b"1000", b"1001"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size

    again = source.fetch(previous=first.metadata)

    assert again.changed is True
    assert again.rows()[0]["total_shares"] == 1001


def test_a_new_file_in_a_glob_is_a_change(tmp_path: Path) -> None:
    write(tmp_path / "a.psv", f"{HEADER}\n{GOOD[0]}\n")
    source = file_source(tmp_path / "*.psv")
    first = source.fetch()
    assert source.fetch(previous=first.metadata).changed is False
    write(tmp_path / "b.psv", f"{HEADER}\n{GOOD[1]}\n")
    assert source.fetch(previous=first.metadata).changed is True


@pytest.mark.parametrize("name", ["absent.csv", "absent-*.psv"])
def test_missing_file_or_empty_glob_is_a_failed_not_found_result(tmp_path: Path, name: str) -> None:
    result = file_source(tmp_path / name).fetch()
    assert not result.ok
    assert result.error is not None
    assert result.error.category is ErrorCategory.NOT_FOUND
    assert result.error.retryable is False
    with pytest.raises(SpineError) as raised:
        list(file_source(tmp_path / name).stream())
    assert raised.value.category is ErrorCategory.NOT_FOUND


def test_unknown_extension_and_unknown_parameter_fail_as_validation(tmp_path: Path) -> None:
    path = write(tmp_path / "data.xlsx", "x")
    result = file_source(path).fetch()
    assert result.error is not None
    assert result.error.category is ErrorCategory.VALIDATION
    assert "set format" in result.error.message
    result = file_source(path, format="csv").fetch(params={"week": "2025-12-26"})
    assert result.error is not None
    assert "unknown parameter" in result.error.message


def test_params_path_reads_another_file_with_the_same_options(tmp_path: Path) -> None:
    write(tmp_path / "a.psv", f"{HEADER}\n{GOOD[0]}\n")
    other = write(tmp_path / "b.psv", f"{HEADER}\n{GOOD[1]}\n")
    result = file_source(tmp_path / "a.psv").fetch(params={"path": str(other)})
    assert [row["symbol"] for row in result.rows()] == ["MSFT"]
    assert result.metadata is not None
    assert result.metadata.uri == str(other)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"types": {"n": "integer"}},
            r"^sources\.test\.types\.n = 'integer': unknown column type 'integer'",
        ),
        ({"format": "xls"}, r"^sources\.test\.format = 'xls': expected one of csv, psv"),
        ({"columns": ["a"]}, "set header = false"),
        ({"delimiter": "||"}, r"^sources\.test\.delimiter = '\|\|': must be a single character"),
        ({"encoding": "klingon"}, r"^sources\.test\.encoding = 'klingon': unknown encoding"),
        ({"header": "yes"}, r"sources\.test\.header = 'yes': expected true or false"),
        ({"sheet": 1}, "unknown key 'sheet'"),
    ],
)
def test_bad_configuration_is_a_config_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        structure({"path": "x.csv", **options}, FileSourceConfig, "sources.test")


def test_the_host_builds_a_configured_file_source(tmp_path: Path) -> None:
    path = write(tmp_path / "week.psv", "\n".join([HEADER, *GOOD]) + "\n")
    config = SpineConfig(
        sources={
            "otc": SourceConfig("file", {"path": str(path), "types": {"total_shares": "int32"}})
        }
    )
    host = Host(
        plugins=[spine_host.builtins.sources],
        load_entrypoints=False,
        storage_url="sqlite://",
        config=config,
        environ={},
    )
    source = host.source("otc")
    assert isinstance(source, FileSource)
    assert source.fetch().row_count == 4


@pytest.mark.parametrize(
    ("text", "kept", "rejected"),
    [
        # pyarrow 26 crashes the process on a chunk that starts with a "null" line.
        ("null\n", [], [(1, "a JSON null, not an object")]),
        ('  null  \n{"a": 1}\n', [{"a": 1}], [(1, "a JSON null, not an object")]),
        # pyarrow reads "null" after an object as a row of nulls, and "{} {}" as two rows.
        ('{"a": 1}\nnull\n', [{"a": 1}], [(2, "a JSON null, not an object")]),
        ('{"a": 1}\n{"a": 2} {"a": 3}\n', [{"a": 1}], [(2, "Extra data: line 1 column 10")]),
        ('{"a": 1}\n[1, 2]\ntrue\n', [{"a": 1}], [(2, "a JSON array"), (3, "a JSON boolean")]),
    ],
)
def test_jsonl_lines_that_are_not_one_object_are_rejects(
    tmp_path: Path, text: str, kept: list[dict[str, Any]], rejected: list[tuple[int, str]]
) -> None:
    path = write(tmp_path / "records.jsonl", text)

    result = file_source(path).fetch()

    assert result.ok, result.error
    assert result.rows() == kept
    assert [
        (r.line_number, r.reason[: len(reason)])
        for r, (_, reason) in zip(result.rejects, rejected, strict=True)
    ] == rejected
    assert {r.reason_code for r in result.rejects} == {"INVALID_JSON"}


def test_jsonl_lists_holding_nulls_load_as_written(tmp_path: Path) -> None:
    # pyarrow 26's JSON reader builds a broken array for these ([null, 1]: "index out of
    # bounds" when read); the source must give the values back as written.
    path = write(
        tmp_path / "lists.jsonl",
        '{"a": [null, null], "b": {"c": [null, 2]}}\n{"a": [1], "b": {"c": []}}\n',
    )

    result = file_source(path).fetch()

    assert result.ok, result.error
    assert result.rows() == [
        {"a": [None, None], "b": {"c": [None, 2]}},
        {"a": [1], "b": {"c": []}},
    ]
