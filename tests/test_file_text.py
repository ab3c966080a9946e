"""Delimited files whose text is not what it claims: wrong encoding, unclosed quotes, junk.

Nothing of such a file may load as ``bytes`` values or as rows merged into one: each case is a
PARSE error that names the file and line, or (with the right ``encoding``) clean text rows.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from spine_host.cli import cli
from spine_host.errors import ConfigError, ErrorCategory, SpineError
from spine_host.sources.file import FileSource, FileSourceConfig
from spine_host.structuring import structure

LATIN_1 = "name,age\nJosé,3\nAnn,4\n".encode("latin-1")


def file_source(path: Path, **options: Any) -> FileSource:
    config = structure({"path": str(path), **options}, FileSourceConfig, "sources.people")
    return FileSource("people", config)


def parse_error(path: Path, **options: Any) -> SpineError:
    result = file_source(path, **options).fetch()
    assert result.error is not None, f"expected a PARSE error, got rows {result.rows()}"
    assert result.error.category is ErrorCategory.PARSE
    return result.error


def test_a_latin_1_file_read_as_utf8_is_a_parse_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(LATIN_1)

    error = parse_error(path)

    assert f"{path} line 2: bytes that are not valid utf8: Jos\\xe9,3" in error.message
    assert 'encoding = "latin-1"' in error.message


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "iso-8859-1"])
def test_with_the_declared_encoding_the_same_file_loads_as_text(
    tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(LATIN_1)

    result = file_source(path, encoding=encoding).fetch()

    assert result.ok, result.error
    assert result.rows() == [{"name": "José", "age": 3}, {"name": "Ann", "age": 4}]


def test_utf_16_with_its_encoding_loads(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,age\nJosé,3\n", encoding="utf-16")

    assert file_source(path, encoding="utf-16").fetch().rows() == [{"name": "José", "age": 3}]
    assert "not valid utf8" in parse_error(path).message


def test_a_bad_byte_far_into_the_file_is_found_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "big.csv.gz"
    rows = b"".join(b"%d,x\n" % n for n in range(200_000))  # several 1 MiB blocks
    with gzip.open(path, "wb") as stream:
        stream.write(b"id,name\n" + rows + b"7,Jos\xe9\n8,y\n")

    error = parse_error(path)

    assert "line 200002: bytes that are not valid utf8: 7,Jos\\xe9" in error.message


def test_a_multibyte_character_split_across_blocks_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    row = "1,Zoë Łukasz 東京\n"
    path.write_text("id,name\n" + row * 150_000, encoding="utf-8")  # > 2 MiB, odd alignment

    result = file_source(path).fetch()

    assert result.ok, result.error
    assert result.metadata is not None
    assert result.metadata.row_count == 150_000


def test_an_unknown_encoding_is_refused_when_the_config_is_read(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"sources\.people\.encoding = 'klingon': unknown encoding 'klingon'"
    ):
        file_source(tmp_path / "x.csv", encoding="klingon")


def test_an_unclosed_quote_is_a_parse_error_naming_its_line_not_merged_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('id,note\n1,fine\n2,"starts here\n3,never closed\n4,last\n')

    error = parse_error(path)

    assert f"{path} line 3: a quoted value starts on this line and is never closed" in (
        error.message
    )
    with pytest.raises(SpineError, match="line 3: a quoted value"):
        list(file_source(path).stream())  # before any row is yielded


def test_quoted_values_spanning_lines_and_block_boundaries_load(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    rows = "".join(f'{n},"first line\nsecond ""line"" {n}"\n' for n in range(2_000))
    path.write_text("id,note\n" + rows)

    result = file_source(path, block_size=1024).fetch()

    assert result.ok, result.error
    assert result.rows()[1999] == {"id": 1999, "note": 'first line\nsecond "line" 1999'}


def test_an_odd_quote_inside_an_unquoted_value_is_just_a_character(tmp_path: Path) -> None:
    path = tmp_path / "pipes.csv"
    path.write_text('id,size\n1,5" pipe\n2,ok\n')

    assert file_source(path).fetch().rows() == [
        {"id": 1, "size": '5" pipe'},
        {"id": 2, "size": "ok"},
    ]


def test_binary_junk_is_a_parse_error_that_quotes_no_raw_bytes(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(random.Random(13).randbytes(4096) + b"\x1b[2J\x00\xff")

    error = parse_error(path)

    assert "line " in error.message
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in error.message), error.message
    captured = capfd.readouterr()
    assert "Exception ignored" not in captured.err + captured.out


def test_junk_in_a_row_of_the_wrong_width_prints_nothing_from_pyarrow(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"a,b\n1,2\n\x81\x82,3,4\n5,6\n")

    assert "line 3: bytes that are not valid utf8" in parse_error(path).message
    captured = capfd.readouterr()
    assert "Exception ignored" not in captured.err + captured.out


def test_the_cli_shows_control_characters_from_a_file_as_escapes(tmp_path: Path) -> None:
    (tmp_path / "colours.csv").write_text("a,b\n1,\x1b[2J\x1b[31mred\x07\n")
    config = tmp_path / "spine.toml"
    config.write_text('[sources.colours]\ntype = "file"\npath = "colours.csv"\n')

    result = CliRunner().invoke(cli, ["--config", str(config), "sources", "preview", "colours"])

    assert result.exit_code == 0, result.output
    assert "\\x1b[2J\\x1b[31mred\\x07" in result.output
    assert "\x1b" not in result.output
    assert "\x07" not in result.output
