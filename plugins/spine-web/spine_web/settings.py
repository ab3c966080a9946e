"""How one ``spine web`` process serves: where, whether actions are allowed, and the token."""

from __future__ import annotations

import getpass
import hashlib
import hmac

import attrs

__all__ = ["LOOPBACK_HOSTS", "MIN_TOKEN_LENGTH", "WebSettings"]

#: Addresses that only this machine reaches: serving there needs no token.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

#: Tokens shorter than this are refused: they could be guessed.
MIN_TOKEN_LENGTH = 16


@attrs.frozen(kw_only=True)
class WebSettings:
    """The options of ``spine web``.

    Attributes:
        bind: the address listened on.
        port: the port (0: any free one).
        allow_actions: offer and accept actions (resume, retry, cancel, run now, pause).
        token: what every request must carry; None serves without one (loopback only).
    """

    bind: str = "127.0.0.1"
    port: int = 8150
    allow_actions: bool = False
    token: str | None = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.token is not None and len(self.token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the token must be at least {MIN_TOKEN_LENGTH} characters long")
        if self.bind not in LOOPBACK_HOSTS and self.token is None:
            raise ValueError(f"serving on {self.bind} needs a token")

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach the server."""
        return self.bind in LOOPBACK_HOSTS

    @property
    def token_id(self) -> str | None:
        """``token-1a2b3c4d``: names the token in records without revealing it."""
        if self.token is None:
            return None
        return "token-" + hashlib.sha256(self.token.encode()).hexdigest()[:8]

    @property
    def actor(self) -> str:
        """``web:<token id>``, or ``web:<user>`` of the process when there is no token."""
        if self.token_id is not None:
            return f"web:{self.token_id}"
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a container)
            user = "unknown"
        return f"web:{user}"

    def session_value(self) -> str:
        """What the sign-in cookie holds: derived from the token, never the token itself."""
        assert self.token is not None
        return hmac.new(self.token.encode(), b"spine-web session", hashlib.sha256).hexdigest()

    def accepts(self, bearer: str | None, cookie: str | None) -> bool:
        """Whether a request carrying this bearer token or session cookie may proceed."""
        if self.token is None:
            return True
        if bearer is not None and hmac.compare_digest(bearer.encode(), self.token.encode()):
            return True
        return cookie is not None and hmac.compare_digest(
            cookie.encode(), self.session_value().encode()
        )
