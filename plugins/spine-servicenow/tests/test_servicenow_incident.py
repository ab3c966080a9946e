"""What an alert becomes in the incident table (no server needed: plain field mappings)."""

from __future__ import annotations

from spine_servicenow.incident import correlation_id, new_incident, resolution

from spine_host.alerts.alert import Alert


def test_the_dedup_key_is_the_correlation_id_when_it_fits() -> None:
    alert = Alert(severity="ERROR", title="t", dedup_key="workflow:otc.weekly_refresh:FAILED")

    assert correlation_id(alert) == "workflow:otc.weekly_refresh:FAILED"


def test_a_key_too_long_for_the_field_stays_unique_and_readable() -> None:
    one = Alert(severity="ERROR", title="t", dedup_key="pipeline:" + "a" * 200)
    other = Alert(severity="ERROR", title="t", dedup_key="pipeline:" + "a" * 199 + "b")

    assert len(correlation_id(one)) == 100
    assert correlation_id(one).startswith("pipeline:aaa")
    assert correlation_id(one) != correlation_id(other)
    assert correlation_id(one) == correlation_id(one)


def test_a_key_holding_the_query_separator_is_hashed() -> None:
    # "^" separates the conditions of an encoded query: it must not reach sysparm_query.
    alert = Alert(severity="ERROR", title="t", dedup_key="source:a^active=false")

    assert "^" not in correlation_id(alert)
    assert new_incident(alert)["correlation_id"] == correlation_id(alert)


def test_a_resolution_sets_the_configured_state_and_close_code() -> None:
    alert = Alert(severity="INFO", title="workflow w recovered", message="run r2 SUCCEEDED")

    fields = resolution(alert, state="6", close_code="Resolved by caller")

    assert fields["state"] == "6"
    assert fields["close_code"] == "Resolved by caller"
    assert fields["close_notes"].startswith("workflow w recovered\nrun r2 SUCCEEDED\n\n")
