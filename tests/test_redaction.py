"""URL credentials are masked everywhere a URL is shown or stored: the password in user-info and
query parameters named like credentials (issue 13, item 6)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from spine_host.config import parse_config
from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Step, Workflow
from spine_host.redaction import redact_url
from spine_host.storage import schema
from tests.plugins.workflow_fixtures import make_host


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://h/db?user=u&password=P4ss", "postgresql://h/db?user=u&password=***"),
        ("https://api.example/v1?api_key=K123&limit=5", "https://api.example/v1?api_key=***&limit=5"),
        ("https://u:pw@h:8080/a?token=abc#top", "https://u:***@h:8080/a?token=***#top"),
        ("https://h/x?apikey=1&Signature=2&access_token=3", "https://h/x?apikey=***&Signature=***&access_token=***"),
        ("https://h:8080/a@b?page=2", "https://h:8080/a@b?page=2"),
        ("no url here, a=b", "no url here, a=b"),
    ],
)  # fmt: skip
def test_redact_url_masks_user_info_passwords_and_secret_query_parameters(
    text: str, shown: str
) -> None:
    assert redact_url(text) == shown


def test_config_show_and_reprs_mask_query_string_passwords() -> None:
    config = parse_config(
        {
            "storage": {"url": "postgresql://h/db?user=u&password=Q5ecret"},
            "sources": {"api": {"type": "http", "url": "https://api.example/x?api_key=K5ecret"}},
        }
    )
    shown = json.dumps(config.redacted()) + repr(config.storage) + repr(config.sources["api"])
    assert "Q5ecret" not in shown
    assert "K5ecret" not in shown


def test_a_failed_run_stores_its_error_with_the_url_masked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def fetch(context, inputs, params):  # type: ignore[no-untyped-def]
        raise SpineError(
            "GET https://api.example/prices?api_key=Z5ecret failed: HTTP 500",
            category=ErrorCategory.TRANSIENT,
            retryable=False,
            context={"url": "https://user:Y5ecret@api.example/prices?token=X5ecret"},
        )

    host = make_host(f"sqlite:///{tmp_path}/h.db")
    try:
        run = WorkflowRunner(host).run(Workflow("leaky", [Step("fetch", fetch)]))
        stored = host.storage.query(
            sa.select(schema.workflow_runs, schema.workflow_steps.c.error.label("step_error")).join(
                schema.workflow_steps
            )
        )
        text = json.dumps(stored, default=str) + json.dumps(run.error)
        for secret in ("Z5ecret", "Y5ecret", "X5ecret"):
            assert secret not in text
        assert "api_key=***" in text
    finally:
        host.close()


def test_the_logging_filter_keeps_a_record_whose_arguments_do_not_fit() -> None:
    import logging

    from spine_host.redaction import RedactingFilter, Redactor

    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "%d rows for s3cret", ("a",), None
    )
    assert RedactingFilter(Redactor({"s3cret"})).filter(record) is True
    assert record.getMessage() == "%d rows for *** (its arguments could not be formatted)"
