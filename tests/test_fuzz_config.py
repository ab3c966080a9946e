"""Property: whatever bytes or TOML values spine.toml holds, spine answers with a config or a
CONFIG error that names the problem; never a traceback, never another exception type."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import tomli_w
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import tests.fuzzing  # noqa: F401  (the hypothesis profile)
from spine_host.cli import cli
from spine_host.config import load_config
from spine_host.errors import ConfigError, ErrorCategory

# -- values TOML can hold ----------------------------------------------------------------------

scalars = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=8,
)


def table(known: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A table of some real keys (plausible or arbitrary values) and now and then a junk key."""
    plausible = {key: strategy | values for key, strategy in known.items()}
    return st.fixed_dictionaries({}, optional={**plausible, "bogus": values})


names = st.sampled_from(["a", "otc", "x.y", "", "ünï", "a b"])
storage = table(
    {
        "url": st.sampled_from(
            [
                "sqlite:///spine.db",
                "sqlite://",
                "postgresql://u:p@127.0.0.1/db",
                "mysql://h",
                "::::",
                "sqlite:////nonexistent/dir/x.db",
                "db2+ibm_db://h/db",
            ]
        ),
        "chunk_size": st.integers(-5, 5),
        "synchronous": st.sampled_from(["FULL", "OFF", "MAYBE"]),
        "busy_timeout_ms": st.integers(-5, 5) | st.just("abc"),
        "pool_size": st.integers(-1, 3),
    }
)
file_source = table(
    {
        "type": st.sampled_from(["file", "database", "http", "nope"]),
        "path": st.sampled_from(["data.csv", "*.psv", "/nonexistent"]),
        "format": st.sampled_from(["csv", "psv", "xls"]),
        "types": st.dictionaries(names, st.sampled_from(["int64", "date", "klingon"]), max_size=2),
        "columns": st.lists(st.text(max_size=5), max_size=3) | st.text(max_size=5),
        "header": st.booleans(),
        "encoding": st.sampled_from(["utf8", "latin-1", "klingon", "rot13"]),
        "delimiter": st.text(max_size=2),
        "quote": st.text(max_size=2),
        "url": st.sampled_from(["https://127.0.0.1/x?api_key=K", "ftp://h"]),
        "query": st.text(max_size=20),
    }
)
schedule = table(
    {
        "workflow": st.sampled_from(["otc.weekly_refresh", "nope"]),
        "pipeline": st.sampled_from(["otc.ingest_week", "nope"]),
        "cron": st.sampled_from(["0 6 * * 3", "61 * * * *", "", "@daily"]),
        "timezone": st.sampled_from(["UTC", "America/New_York", "Mars/Olympus"]),
        "params": st.dictionaries(st.text(max_size=5), scalars, max_size=2),
        "catchup": st.sampled_from(["latest", "all", "none", "some"]),
        "overlap": st.sampled_from(["skip", "queue", "allow", "x"]),
        "deadline": st.sampled_from(["2h", "-1h", "soon"]),
        "enabled": st.booleans(),
        "after": st.lists(st.text(max_size=5), max_size=2),
    }
)
channel = table(
    {
        "type": st.sampled_from(["console", "email", "slack", "webhook", "nope"]),
        "min_severity": st.sampled_from(["INFO", "ERROR", "LOUD"]),
        "domains": st.lists(st.text(max_size=5), max_size=2) | st.text(max_size=5),
        "throttle": st.sampled_from(["10m", "never"]),
        "url": st.sampled_from(["http://127.0.0.1:9/hook", "not a url"]),
        "webhook_url": st.sampled_from(["http://127.0.0.1:9/hook"]),
        "enabled": st.booleans(),
    }
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "storage": storage,
        "plugins": table({"disable": st.lists(st.text(max_size=5), max_size=2) | st.text()}),
        "sources": st.dictionaries(names, file_source, max_size=2),
        "schedules": st.dictionaries(names, schedule, max_size=2),
        "alerts": st.fixed_dictionaries(
            {}, optional={"channels": st.dictionaries(names, channel, max_size=2)}
        ),
        "freshness": st.dictionaries(names, table({"max_age": st.just("2h")}), max_size=1),
        "nonsense": values,
    },
)


@given(st.binary(max_size=2_000))
def test_any_bytes_are_a_config_or_a_config_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spine.toml"
        path.write_bytes(data)
        error: ConfigError | None = None
        try:
            load_config(path, environ={})
        except ConfigError as exc:
            error = exc
        if error is not None:
            assert error.category is ErrorCategory.CONFIG
            assert error.message


@given(documents)
def test_config_check_answers_any_toml_with_ok_or_exit_2(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spine.toml"
        path.write_text(tomli_w.dumps(document), encoding="utf-8")

        result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])

        assert result.exit_code in (0, 2), (result.output, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        assert "Traceback" not in result.output
        assert list(Path(folder).iterdir()) == [path], "config check created a file"


VALID = b"""
[storage]
url = "sqlite:///spine.db"
busy_timeout_ms = 5000

[sources.otc_files]
type = "file"
path = "data/*.psv"
types = { week_ending = "date32", total_shares = "int64" }

[schedules."otc.weekly"]
workflow = "otc.weekly_refresh"
cron = "0 6 * * 3"
timezone = "America/New_York"
params = { week_ending = "2025-12-26" }

[alerts.channels.ops]
type = "console"
min_severity = "ERROR"
domains = ["otc"]
"""


@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID)), st.integers(0, 3), st.binary(max_size=4)),
        min_size=1,
        max_size=4,
    )
)
def test_a_damaged_valid_config_is_a_config_or_a_config_error(
    edits: list[tuple[int, int, bytes]],
) -> None:
    data = bytearray(VALID)
    for position, removed, inserted in edits:
        data[position : position + removed] = inserted
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spine.toml"
        path.write_bytes(bytes(data))
        result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
        assert result.exit_code in (0, 2), (result.output, result.exc_info)
        assert "Traceback" not in result.output
