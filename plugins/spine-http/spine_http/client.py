"""Sending one request well: auth, rate limit, timeouts, TLS, status mapping, retries.

requests is imported when the first client is built, never when this module is imported, so the
plugin's entry module stays cheap. Each :meth:`HttpClient.send` is retried on its own (429, 5xx,
timeouts, resets) through a :class:`~spine_host.retry.RetryPolicy`, so a failure on page seven
retries page seven, not the whole walk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import SpineError, classify
from spine_host.retry import Backoff, RetryPolicy
from spine_http.auth import Authenticator, TokenResponse, authenticator_for
from spine_http.config import HttpSourceConfig
from spine_http.errors import classify_requests_error, error_for_status, safe_url
from spine_http.origins import OriginPolicy
from spine_http.pagination import PageRequest
from spine_http.ratelimit import RateLimiter

if TYPE_CHECKING:
    import requests

__all__ = ["HttpClient", "HttpResponse"]

logger = logging.getLogger("spine_http")


@attrs.frozen(kw_only=True)
class HttpResponse:
    """A successful (2xx or 304) response, read whole.

    ``links`` maps each ``Link`` header relation (``next``, ``prev``...) to its URL.
    """

    status: int
    url: str
    headers: Mapping[str, str]
    body: bytes
    links: Mapping[str, str] = attrs.field(factory=dict)


class HttpClient:
    """Sends a source's requests with its auth, limits and retry policy.

    Args:
        config: the source's table.
        secrets: values to mask in every message (the source passes its credentials).
        sleep: how to wait between attempts and for the rate limit; injectable for tests.
    """

    def __init__(
        self,
        config: HttpSourceConfig,
        *,
        secrets: Collection[str] = (),
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.config = config
        self.secrets = tuple(secrets)
        self.auth: Authenticator = authenticator_for(config.auth, self)
        self.policy = RetryPolicy(
            max_attempts=config.retry.max_attempts,
            delay=config.retry.delay,
            backoff=Backoff.EXPONENTIAL,
            max_delay=config.retry.max_delay,
        )
        self._sleep = sleep
        self._limiter = (
            RateLimiter(config.requests_per_second, sleep=sleep)
            if config.requests_per_second
            else None
        )
        self._session = _guarded_session(self)
        self._session.verify = (
            config.ca_bundle if config.verify and config.ca_bundle else config.verify
        )
        self._timeout = (config.connect_timeout, config.read_timeout)
        self.origins = OriginPolicy.for_url(config.url, config.allowed_hosts)

    def send(
        self, request: PageRequest, *, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        """Send ``request`` with the configured method; retried per the policy.

        Credentials go only to the configured ``url``'s origin; a request to a host in
        ``allowed_hosts`` is sent without them, one to any other origin is never sent.

        Raises:
            SpineError: classified (AUTH, NOT_FOUND, RATE_LIMIT, TRANSIENT, TIMEOUT...) once
                attempts run out or the failure is not worth retrying; SOURCE for a URL on an
                origin that is not allowed.
        """
        credentials = self.origins.credentials_for(request.url, shown=self.safe_url(request.url))
        return self.policy.call(
            lambda: self._send_authenticated(request, headers or {}, credentials=credentials),
            sleep=self._sleep,
            classifier=self.classify,
            on_retry=self._log_retry,
        )

    def post_form(
        self, url: str, data: Mapping[str, str], *, basic: tuple[str, str] | None
    ) -> TokenResponse:
        """The OAuth2 token request (:class:`~spine_http.auth.TokenTransport`); not limited."""
        response = self._call(
            "POST", url, data=dict(data), auth=basic, headers={"Accept": "application/json"}
        )
        return TokenResponse(
            status=response.status_code, headers=response.headers, body=response.content
        )

    def classify(self, exc: BaseException) -> SpineError:
        """A SpineError for anything sending raised, with secrets masked."""
        if isinstance(exc, SpineError):
            return exc
        return classify_requests_error(exc, secrets=self.secrets) or classify(exc)

    def safe_url(self, url: str) -> str:
        """``url`` fit for messages: no password, no secret query values."""
        return safe_url(url, self.auth.secret_params)

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def guard_redirect(self, prepared: requests.PreparedRequest) -> None:
        """Hold a redirect to the origin rule: strip credentials or refuse, as for next pages.

        requests drops only ``Authorization`` when a redirect changes host; an API key header
        or query parameter would otherwise follow the server's ``Location`` anywhere.

        Raises:
            SpineError: SOURCE for a redirect to an origin that is not allowed.
        """
        from urllib.parse import parse_qsl, urlencode, urlsplit

        url = prepared.url or ""
        if self.origins.credentials_for(url, shown=self.safe_url(url), what="redirect to"):
            return
        headers: dict[str, str] = {}
        params: dict[str, Any] = {}
        self.auth.apply(headers, params)
        for name in headers:
            prepared.headers.pop(name, None)
        if params:
            parts = urlsplit(url)
            kept = [
                (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params
            ]
            prepared.url = parts._replace(query=urlencode(kept)).geturl()

    # -- internals -----------------------------------------------------------------------------

    def _send_authenticated(
        self, request: PageRequest, extra_headers: Mapping[str, str], *, credentials: bool
    ) -> HttpResponse:
        response = self._send_once(request, extra_headers, credentials=credentials)
        # An OAuth2 token may be revoked before it expires: fetch a new one, once per request.
        if response.status_code == 401 and credentials and self.auth.refresh():
            response = self._send_once(request, extra_headers, credentials=credentials)
        method = self.config.method.upper()
        url = self.safe_url(response.url)
        error = error_for_status(response.status_code, response.headers, method=method, url=url)
        if error is not None:
            raise self._bounded_wait(error)
        return HttpResponse(
            status=response.status_code,
            url=response.url,
            headers=response.headers,
            body=response.content,
            links={
                str(rel): str(link["url"]) for rel, link in response.links.items() if "url" in link
            },
        )

    def _send_once(
        self, request: PageRequest, extra_headers: Mapping[str, str], *, credentials: bool
    ) -> requests.Response:
        headers = {**self.config.headers, **extra_headers}
        params = dict(request.params)
        if credentials:
            self.auth.apply(headers, params)
        if self._limiter is not None:
            self._limiter.acquire()
        return self._call(self.config.method.upper(), request.url, params=params, headers=headers)

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        import requests

        try:
            return self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            error = self.classify(exc)
            # The cause is dropped when its text held a secret (requests' messages carry the
            # full URL and query string), and the implicit context with it.
            raise error from error.cause

    def _bounded_wait(self, error: SpineError) -> SpineError:
        limit = self.config.retry.max_retry_after
        if error.retry_after is None or error.retry_after <= limit:
            return error
        return SpineError(
            f"{error.message}; the server asks to wait {error.retry_after:g}s, more than "
            f"max_retry_after ({limit:g}s)",
            category=error.category,
            retryable=False,
            retry_after=error.retry_after,
            context=error.context,
        )

    def _log_retry(self, attempt: int, error: SpineError, delay: float) -> None:
        logger.warning(
            "%s; attempt %d of %d, retrying in %.2fs",
            error.message,
            attempt,
            self.policy.max_attempts,
            delay,
        )


def _guarded_session(client: HttpClient) -> requests.Session:
    """A requests session whose redirects go through :meth:`HttpClient.guard_redirect`."""
    import requests

    class GuardedSession(requests.Session):
        def merge_environment_settings(  # type: ignore[override]
            self, url: str | None, proxies: Any, stream: Any, verify: Any, cert: Any
        ) -> dict[str, Any]:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the session's verify;
            # a configured ca_bundle or verify = false must win (the environment still gives
            # proxies, and a CA bundle when nothing was configured).
            settings = dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
            if self.verify is not True:
                settings["verify"] = self.verify
            return settings

        def rebuild_auth(
            self, prepared_request: requests.PreparedRequest, response: requests.Response
        ) -> None:
            super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
            client.guard_redirect(prepared_request)

    return GuardedSession()
