"""The builtin file source on real files: formats, rejects, types, change detection, failures."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
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


def test_a_value_that_does_not_fit_its_type_fails_as_parse(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "id\n1\nnot a number\n")
    result = file_source(path, types={"id": "int64"}).fetch()
    assert not result.ok
    assert result.error is not None
    assert result.error.category is ErrorCategory.PARSE
    assert "not a number" in result.error.message


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
        ({"types": {"n": "integer"}}, r"types\.n: unknown column type 'integer'"),
        ({"format": "xls"}, "format: expected one of csv, psv"),
        ({"columns": ["a"]}, "set header = false"),
        ({"delimiter": "||"}, "delimiter: must be a single character"),
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
