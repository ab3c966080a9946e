"""Secrets in URL query strings, end to end (issue 13): a PostgreSQL password in the storage
URL's query, an API key in an HTTP source's URL and a token in a webhook's. A run fails on the
source, alerts go out, then every command a user would reach for prints its output: no secret
appears in any output, any log line, or any row of any table in the database."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from spine_host import hookimpl
from spine_host.cli import cli
from spine_host.config import load_config
from spine_host.host import Host
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow

DB_PASSWORD = "Pg5ecret-in-query"
API_KEY = "Api5ecret-in-query"
HOOK_TOKEN = "Hook5ecret-in-query"
SECRETS = (DB_PASSWORD, API_KEY, HOOK_TOKEN)


class PricesPlugin:
    """A workflow whose one step reads the configured ``prices`` source."""

    @hookimpl
    def spine_register_workflows(self, register: Any) -> None:
        register(Workflow("leak.prices", [Step("fetch", self.fetch)]))

    def fetch(self, context: Any, inputs: Any, params: Any) -> dict[str, int]:
        result = context.host.source("prices").fetch()
        if result.error is not None:
            raise result.error
        return {"rows_out": len(result.rows())}


def test_query_string_secrets_show_nowhere_after_a_failing_run(
    api: Any, postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api.route("/prices", lambda request: (500, {"error": "upstream down"}))
    api.route("/hook", lambda request: (200, {"ok": True}))
    separator = "&" if "?" in postgres_url else "?"
    config = tmp_path / "spine.toml"
    config.write_text(
        f"""
[storage]
url = "{postgres_url}{separator}password={DB_PASSWORD}"

[sources.prices]
type = "http"
url = "{api.url("/prices")}?symbol=AAPL&api_key={API_KEY}"
retry = {{ max_attempts = 1 }}

[alerts.channels.hook]
type = "webhook"
url = "{api.url("/hook")}?token={HOOK_TOKEN}"
""",
        encoding="utf-8",
    )
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()

    def spine(*args: str) -> str:
        result = runner.invoke(cli, ["-vv", "--config", str(config), *args])
        return f"{result.output}\n{result.exception!r}"

    outputs = [spine("db", "upgrade")]
    host = Host(config=load_config(config), plugins=[PricesPlugin()])
    try:
        run = WorkflowRunner(host).run("leak.prices")
    finally:
        host.close()  # delivers the failure alert
    assert run.status.value == "FAILED"
    assert "HTTP 500" in json.dumps(run.error)
    assert api.hits("/hook"), "the failure alert was not delivered"

    outputs += [
        spine("config", "show"),
        spine("config", "show", "--json"),
        spine("config", "check"),
        spine("runs", "list"),
        spine("runs", "list", "--json"),
        spine("runs", "show", run.run_id),
        spine("runs", "show", run.run_id, "--json"),
        spine("alerts", "list", "--json"),
        spine("alerts", "channels", "--json"),
        spine("sources", "preview", "prices"),
        spine("db", "status"),
    ]
    shown = "\n".join(outputs) + "\n".join(record.getMessage() for record in caplog.records)
    assert "api_key=***" in shown
    tables = _every_row(postgres_url)
    assert "api_key=***" in tables  # the run's error is stored, with the key masked
    for secret in SECRETS:
        assert secret not in shown, secret
        assert secret not in tables, secret


def _every_row(url: str) -> str:
    """Every row of every table in the database, as text."""
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return "\n".join(
                json.dumps([list(row) for row in connection.execute(sa.select(table))], default=str)
                for table in metadata.sorted_tables
            )
    finally:
        engine.dispose()
