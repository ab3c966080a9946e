"""``spine alerts channels|test|list``: the configured channels, a test delivery, the alert log.

Secrets never show: channel settings are printed as stored in ``alert_channels`` (values from
``${ENV}`` and secret-named keys as ``***``), and delivery errors are the channels' own, which
hold no URL path, token or password.
"""

from __future__ import annotations

import uuid
from typing import Any

import click

from spine_host.cli.context import CliState, SpineCommandGroup, pass_state
from spine_host.cli.output import emit_json, emit_table, format_params, format_time
from spine_host.printable import quoted

__all__ = ["alerts_group"]

_STATUSES = ["PENDING", "SENT", "FAILED", "THROTTLED", "FILTERED"]


@click.group("alerts", cls=SpineCommandGroup)
def alerts_group() -> None:
    """Alert channels, test deliveries and the alerts raised."""


@alerts_group.command("channels")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def channels_command(state: CliState, as_json: bool) -> None:
    """Every [alerts.channels.NAME]: type, routing, whether it can be built, settings (masked)."""
    from spine_host.alerts.router import channel_settings
    from spine_host.errors import SpineError

    host = state.host()
    listed = []
    for name, table in sorted(channel_settings(host).items()):
        problem = None
        try:
            host.alert_channel(name)
        except SpineError as error:
            problem = error.message
        listed.append({"name": name, **table, "problem": problem})
    if as_json:
        emit_json(listed)
        return
    emit_table(
        ["NAME", "TYPE", "MIN SEVERITY", "DOMAINS", "ENABLED", "STATE", "SETTINGS"],
        [
            (
                item["name"],
                item["type"],
                item["min_severity"],
                ", ".join(item["domains"]),
                "yes" if item["enabled"] else "no",
                item["problem"] or "ok",
                format_params(item["settings"]),
            )
            for item in listed
        ],
        empty="no alert channels: add [alerts.channels.NAME] with a type to spine.toml",
    )


@alerts_group.command("test")
@click.argument("channel")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def test_command(state: CliState, channel: str, as_json: bool) -> None:
    """Send a labelled test alert to CHANNEL now and print what happened (exit 1 unless SENT).

    The alert has the channel's minimum severity, so its routing takes it; it is recorded in
    the alert log like any alert.
    """
    from spine_host.alerts.alert import Alert, DeliveryStatus
    from spine_host.alerts.router import AlertRouter, Route
    from spine_host.errors import ConfigError, SpineError

    host = state.host()
    table = host.config.alerts.channels.get(channel)
    if table is None:
        known = ", ".join(sorted(host.config.alerts.channels)) or "none configured"
        raise ConfigError(f"no alert channel named {quoted(channel)}; configured: {known}")
    built = None
    broken = None
    try:
        built = host.alert_channel(channel)
    except SpineError as error:
        broken = error.message
    route = Route(name=channel, channel=built, min_severity=table.min_severity, broken=broken)
    alert = Alert(
        severity=table.min_severity,
        title=f"spine test alert for channel {channel}",
        message="Sent by `spine alerts test`: if you can read this, the channel works.",
        source="spine alerts test",
        metadata={"test": True},
        dedup_key=f"spine-alerts-test:{channel}:{uuid.uuid4().hex}",
    )
    (result,) = AlertRouter(host, [route]).deliver(alert)
    if as_json:
        emit_json(
            {
                "alert_id": alert.alert_id,
                "channel": result.channel,
                "status": result.status.value,
                "attempts": result.attempts,
                "detail": result.detail,
                "external_ref": result.external_ref,
            }
        )
    else:
        emit_table(
            ["CHANNEL", "STATUS", "ATTEMPTS", "DETAIL"],
            [(result.channel, result.status.value, result.attempts, result.detail)],
        )
    if result.status is not DeliveryStatus.SENT:
        raise SystemExit(1)


@alerts_group.command("list")
@click.option("--since", help="Only alerts raised since: a duration (24h, 30m, 7d) or a date.")
@click.option(
    "--status",
    type=click.Choice(_STATUSES, case_sensitive=False),
    help="Only alerts with a delivery in this status.",
)
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(min=1), help="How many."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_state
def list_command(
    state: CliState, since: str | None, status: str | None, limit: int, as_json: bool
) -> None:
    """The latest alerts, newest first, with what each channel did with them."""
    from spine_host.alerts.alert import DeliveryStatus
    from spine_host.alerts.ledger import AlertLedger
    from spine_host.cli.times import parse_since
    from spine_host.pipelines._storage import require_tables
    from spine_host.storage import schema

    host = state.host()
    require_tables(host.storage, [schema.alerts, schema.alert_deliveries])
    found = AlertLedger(host.storage).alerts(
        since=parse_since(since) if since else None,
        status=DeliveryStatus(status.upper()) if status else None,
        limit=limit,
    )
    if as_json:
        emit_json([alert.to_dict() for alert in found])
        return
    emit_table(
        ["RAISED (UTC)", "SEVERITY", "TITLE", "RUN", "DELIVERIES"],
        [
            (
                format_time(alert.created_at),
                alert.severity,
                alert.title,
                alert.run_id,
                ", ".join(_delivery(row) for row in alert.deliveries) or "no channel",
            )
            for alert in found
        ],
        empty="no alerts",
    )


def _delivery(row: Any) -> str:
    attempts = f" x{row.attempts}" if row.attempts > 1 else ""
    return f"{row.channel}:{row.status.value}{attempts}"
