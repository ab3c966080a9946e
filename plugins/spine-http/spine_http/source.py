"""HttpSource: records from a JSON HTTP API, page by page.

A domain source is a small subclass: give it a ``Config`` with sensible defaults and override
:meth:`HttpSource.parse_page` (where the records are in a response) or
:meth:`HttpSource.transform_record` (what one record becomes)::

    class PriceSource(HttpSource):
        source_type = "prices"
        Config = PriceConfig            # an HttpSourceConfig subclass with the API's defaults

        def transform_record(self, record):
            return {"symbol": record["s"], "price": Decimal(record["p"])}

requests is imported on the first request (through :class:`~spine_http.client.HttpClient`),
pyarrow on the first ``batches()``: importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, quote_plus

from spine_host.errors import ConfigError, ErrorCategory, SpineError
from spine_host.sources.base import BaseSource
from spine_host.sources.result import SourceMetadata, SourceResult
from spine_http.client import HttpClient, HttpResponse
from spine_http.config import ApiKeyLocation, HttpSourceConfig, PaginationType
from spine_http.errors import classify_requests_error, safe_url
from spine_http.pagination import Page, paginator_for
from spine_http.records import records_at

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["HttpSource"]


class HttpSource(BaseSource):
    """``[sources.NAME] type = "http"``: a JSON API read through auth, pages and retries.

    ``fetch(params)`` adds ``params`` to the configured query parameters. Given the previous
    metadata, an unpaginated source sends ``If-None-Match`` / ``If-Modified-Since`` and a 304
    answers "unchanged" without a body; any source reports ``changed == False`` when the
    content hash of everything it read equals the previous one.

    Args:
        name: the ``[sources.NAME]`` name.
        config: the structured table.

    Raises:
        ConfigError: the table is incomplete (an auth type without its credentials...).
    """

    source_type: ClassVar[str] = "http"
    Config: ClassVar[type[Any]] = HttpSourceConfig

    def __init__(self, name: str, config: HttpSourceConfig) -> None:
        super().__init__(name, config)
        self.config: HttpSourceConfig = config
        problems = config.problems()
        if problems:
            raise ConfigError("; ".join(f"sources.{name}.{problem}" for problem in problems))
        self._secrets = _secret_forms(config.secrets())
        self._secret_params = (
            [config.auth.name] if config.auth.location is ApiKeyLocation.QUERY else []
        )
        self._paginator = paginator_for(config.pagination)
        self._client: HttpClient | None = None

    @property
    def uri(self) -> str:
        """The configured URL without passwords or secret query values."""
        return safe_url(self.config.url, self._secret_params)

    @property
    def client(self) -> HttpClient:
        """The HTTP client (built, and requests imported, on first use)."""
        if self._client is None:
            self._client = HttpClient(self.config, secrets=self._secrets)
        return self._client

    def safe_url(self, url: str) -> str:
        """``url`` fit for messages: no password, no secret query values."""
        return safe_url(url, self._secret_params)

    def close(self) -> None:
        """Release pooled connections."""
        if self._client is not None:
            self._client.close()

    # -- hooks for domain subclasses -----------------------------------------------------------

    def parse_page(self, body: Any, response: HttpResponse) -> list[dict[str, Any]]:
        """The records in one decoded response; by default those at ``records_path``."""
        return records_at(body, self.config.records_path, where=self.safe_url(response.url))

    def transform_record(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """What one record becomes (typed values, renamed keys); None drops it."""
        return record

    # -- BaseSource ----------------------------------------------------------------------------

    def _read(self, params: Mapping[str, Any], previous: SourceMetadata | None) -> SourceResult:
        started = time.monotonic()
        digest = hashlib.sha256()
        records: list[dict[str, Any]] = []
        first: HttpResponse | None = None
        pages = byte_count = 0
        for response, page_records in self._walk(params, self._conditional_headers(previous)):
            if response.status == 304 and previous is not None:
                return self.unchanged(previous, started=started)
            first = first or response
            pages += 1
            byte_count += len(response.body)
            digest.update(response.body)
            records.extend(page_records)
        content_hash = digest.hexdigest()
        metadata = self.metadata(
            uri=self.uri,
            started=started,
            row_count=len(records),
            byte_count=byte_count,
            content_hash=content_hash,
            etag=first.headers.get("ETag") if first else None,
            last_modified=first.headers.get("Last-Modified") if first else None,
            changed=previous is None or previous.content_hash != content_hash,
            extra={"pages": pages},
        )
        return SourceResult(metadata=metadata, records=records)

    def _iter_batches(self, params: Mapping[str, Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        for _, records in self._walk(params, {}):
            if records:
                yield from pa.Table.from_pylist(records).to_batches(max_chunksize=batch_size)

    def stream(self, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Records page by page, as decoded from JSON (no Arrow round trip).

        Raises:
            SpineError: classified, when a request fails.
        """
        try:
            for _, records in self._walk(dict(params or {}), {}):
                yield from records
        except Exception as exc:
            error = self._error(exc)
            if error is exc:
                raise
            raise error from exc

    def _classify(self, exc: BaseException) -> SpineError:
        found = classify_requests_error(exc, secrets=self._secrets)
        return found if found is not None else super()._classify(exc)

    # -- the walk ------------------------------------------------------------------------------

    def _walk(
        self, params: Mapping[str, Any], conditional: Mapping[str, str]
    ) -> Iterator[tuple[HttpResponse, list[dict[str, Any]]]]:
        """Each page's response and transformed records; a 304 ends the walk at once."""
        client = self.client
        request: Any = self._paginator.first(self.config.url, {**self.config.params, **params})
        while request is not None:
            if request.index >= self.config.pagination.max_pages:
                raise SpineError(
                    f"{self.uri}: more than max_pages ({self.config.pagination.max_pages}) "
                    "pages; raise it if the data is really that large",
                    category=ErrorCategory.SOURCE,
                    context={"max_pages": self.config.pagination.max_pages},
                )
            response = client.send(request, headers=conditional if request.index == 0 else None)
            if response.status == 304:
                yield response, []
                return
            body = self._decode(response)
            parsed = self.parse_page(body, response)
            records = [out for out in map(self.transform_record, parsed) if out is not None]
            yield response, records
            page = Page(request=request, body=body, records=parsed, links=response.links)
            request = self._paginator.next(page)

    def _decode(self, response: HttpResponse) -> Any:
        if not response.body.strip():
            return None
        try:
            return json.loads(response.body)
        except ValueError as exc:
            raise SpineError(
                f"{self.safe_url(response.url)}: response is not JSON "
                f"(Content-Type {response.headers.get('Content-Type', 'not given')})",
                category=ErrorCategory.PARSE,
                context={"status": response.status},
            ) from exc

    def _conditional_headers(self, previous: SourceMetadata | None) -> dict[str, str]:
        # A 304 for the first page says nothing about the pages after it, so only an
        # unpaginated source asks; a paginated one compares content hashes instead.
        if previous is None or self.config.pagination.type is not PaginationType.NONE:
            return {}
        headers = {}
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        return headers


def _secret_forms(secrets: list[str]) -> list[str]:
    """Each secret as written and as it appears URL-encoded in a query string."""
    forms = {
        form for secret in secrets for form in (secret, quote(secret, safe=""), quote_plus(secret))
    }
    return sorted(forms, key=len, reverse=True)
