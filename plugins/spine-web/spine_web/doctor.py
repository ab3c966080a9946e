"""What ``spine doctor`` says about spine-web: can it serve, and how would it be protected."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from spine_web.settings import MIN_TOKEN_LENGTH

if TYPE_CHECKING:
    from spine_host.host import Host

__all__ = ["doctor_checks"]

_PACKAGE = Path(__file__).parent
_NEEDED = ("starlette", "jinja2", "uvicorn")


def doctor_checks(host: Host) -> Iterator[tuple[str, bool, str]]:
    """``(check, ok, detail)`` lines: the web stack importable, templates and the script
    present, ``SPINE_WEB_TOKEN`` usable when set (its length, never its value)."""
    missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
    templates = sorted((_PACKAGE / "templates").glob("*.html"))
    if missing:
        yield ("web", False, f"missing {', '.join(missing)}: pip install spine-web")
    elif not templates or not any((_PACKAGE / "static").iterdir()):
        yield ("web", False, f"templates or static files missing under {_PACKAGE}")
    else:
        yield ("web", True, f"`spine web` can serve ({len(templates)} page templates)")
    token = os.environ.get("SPINE_WEB_TOKEN")
    if token is None:
        yield ("web token", True, "SPINE_WEB_TOKEN not set: `spine web` serves on loopback only")
    elif len(token) < MIN_TOKEN_LENGTH:
        yield (
            "web token",
            False,
            f"SPINE_WEB_TOKEN has {len(token)} characters; at least {MIN_TOKEN_LENGTH} needed",
        )
    else:
        yield ("web token", True, f"SPINE_WEB_TOKEN is set ({len(token)} characters)")
