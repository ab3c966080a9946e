"""``spine web``: serve the dashboard.

Imported by every ``spine`` command that lists commands (``spine --help``): it imports click
and the standard library only; the server (Starlette, Jinja2, uvicorn) is imported when the
command runs.
"""

from __future__ import annotations

import os

import click

from spine_host.cli.context import CliState, pass_state

__all__ = ["TOKEN_ENV", "web_command"]

#: The environment variable holding the access token.
TOKEN_ENV = "SPINE_WEB_TOKEN"

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@click.command("web")
@click.option(
    "--host",
    "bind",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Any address but 127.0.0.1, localhost or ::1 needs a token.",
)
@click.option(
    "--port",
    default=8150,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port, printed at start).",
)
@click.option(
    "--allow-actions",
    is_flag=True,
    help="Offer resume, retry, cancel, run now and pause/resume (each confirmed and audited).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, exists=True, readable=True),
    help=f"A file holding the access token (else ${TOKEN_ENV}).",
)
@pass_state
def web_command(
    state: CliState, bind: str, port: int, allow_actions: bool, token_file: str | None
) -> None:
    """Serve the dashboard: runs, schedules, alerts, rejects, quality and plugins.

    Binds to 127.0.0.1 by default. On any other address a token is required ($SPINE_WEB_TOKEN
    or --token-file), and every request must carry it: the header `Authorization: Bearer
    TOKEN`, or the cookie set by signing in at /login. Without --allow-actions the dashboard
    only reads; every POST but sign-in is refused (403).
    """
    token = _token(token_file)
    if bind not in _LOOPBACK and token is None:
        raise click.UsageError(
            f"refusing to serve on {bind} without a token: set ${TOKEN_ENV} or --token-file "
            "(or listen on 127.0.0.1)"
        )
    from spine_web.server import serve
    from spine_web.settings import WebSettings

    try:
        settings = WebSettings(bind=bind, port=port, allow_actions=allow_actions, token=token)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    serve(state.host(), settings)


def _token(token_file: str | None) -> str | None:
    """The token from ``--token-file`` (first line), else ``$SPINE_WEB_TOKEN``; None if unset."""
    if token_file is not None:
        with open(token_file, encoding="utf-8") as file:
            text = file.readline().strip()
        if not text:
            raise click.BadParameter(f"{token_file} is empty", param_hint="--token-file")
        return text
    return os.environ.get(TOKEN_ENV, "").strip() or None
