"""Serving the dashboard with uvicorn, on a socket this module binds itself.

Binding first lets ``--port 0`` pick a free port and print it before anything is served
(``spine web: serving http://127.0.0.1:43021``), which is how scripts and tests find it.
On the way out the server waits for the runs its actions started, so none is left RUNNING.
"""

from __future__ import annotations

import socket

import click
import uvicorn

from spine_host.api import Host
from spine_web.app import create_app
from spine_web.jobs import BackgroundJobs
from spine_web.settings import WebSettings

__all__ = ["serve"]


def serve(host: Host, settings: WebSettings) -> None:
    """Serve ``host``'s dashboard until interrupted (Ctrl-C, SIGTERM)."""
    jobs = BackgroundJobs()
    app = create_app(host, settings, jobs=jobs)
    listening = _bind(settings.bind, settings.port)
    port = listening.getsockname()[1]
    shown = f"[{settings.bind}]" if ":" in settings.bind else settings.bind
    mode = "actions allowed" if settings.allow_actions else "read-only"
    guarded = "token required" if settings.token is not None else "no token"
    click.echo(f"spine web: serving http://{shown}:{port} ({mode}, {guarded})")
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="off",
    )
    try:
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        listening.close()
        jobs.wait()


def _bind(address: str, port: int) -> socket.socket:
    """A listening socket on ``address:port`` (IPv6 when the address is one)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((address, port))
    except OSError as exc:
        listening.close()
        raise click.ClickException(f"cannot listen on {address}:{port}: {exc.strerror}") from None
    listening.listen(128)
    listening.set_inheritable(True)
    return listening
