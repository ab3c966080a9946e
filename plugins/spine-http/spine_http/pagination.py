"""Walking through pages: offset/limit, page number, cursor at a JSON path, ``Link: rel="next"``.

A paginator is a small pure object: given the first URL and parameters it says what to ask for
first, and given a page it got back it says what to ask for next (or None when the walk is
over). It never sends anything, so each style is easy to read and to test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urljoin

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_http.config import PaginationConfig, PaginationType
from spine_http.records import MISSING, value_at

__all__ = ["Page", "PageRequest", "Paginator", "paginator_for"]


@attrs.frozen(kw_only=True)
class PageRequest:
    """What to ask for: a URL and its query parameters; ``index`` counts pages from 0."""

    url: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    index: int = 0


@attrs.frozen(kw_only=True)
class Page:
    """One decoded response: its request, JSON body, records and ``Link`` relations."""

    request: PageRequest
    body: Any
    records: list[dict[str, Any]]
    links: Mapping[str, str] = attrs.field(factory=dict)


class Paginator(Protocol):
    """Says which page to ask for first and after each page."""

    def first(self, url: str, params: Mapping[str, Any]) -> PageRequest:
        """The request for the first page."""

    def next(self, page: Page) -> PageRequest | None:
        """The request for the page after ``page``; None when ``page`` was the last."""


def paginator_for(config: PaginationConfig) -> Paginator:
    """The paginator for a ``[sources.NAME.pagination]`` table."""
    styles: dict[PaginationType, type[Paginator]] = {
        PaginationType.NONE: SinglePage,
        PaginationType.OFFSET: OffsetPagination,
        PaginationType.PAGE: PageNumberPagination,
        PaginationType.CURSOR: CursorPagination,
        PaginationType.LINK: LinkPagination,
    }
    return styles[config.type](config)  # type: ignore[call-arg]


class SinglePage:
    """No pagination: one request is everything."""

    def __init__(self, config: PaginationConfig) -> None:
        self.config = config

    def first(self, url: str, params: Mapping[str, Any]) -> PageRequest:
        """The one request."""
        return PageRequest(url=url, params=dict(params))

    def next(self, page: Page) -> None:
        """Nothing after the first page."""
        return None


class OffsetPagination:
    """``?offset=0&limit=100``, then ``offset=100``...; a page shorter than the limit is last.

    The walk trusts ``page_size`` to be at most what the server returns per page: a server that
    silently caps the limit below it would make the first page look like the last.
    """

    def __init__(self, config: PaginationConfig) -> None:
        self.config = config

    def first(self, url: str, params: Mapping[str, Any]) -> PageRequest:
        """Offset 0 with the page size."""
        size = self.config.page_size
        query = {**params, self.config.offset_param: 0, self.config.limit_param: size}
        return PageRequest(url=url, params=query)

    def next(self, page: Page) -> PageRequest | None:
        """The following offset, unless this page was short."""
        if len(page.records) < self.config.page_size:
            return None
        offset = int(page.request.params[self.config.offset_param]) + len(page.records)
        query = {**page.request.params, self.config.offset_param: offset}
        return attrs.evolve(page.request, params=query, index=page.request.index + 1)


class PageNumberPagination:
    """``?page=1``, ``?page=2``...; an empty page, or a short one when the size is sent, is last."""

    def __init__(self, config: PaginationConfig) -> None:
        self.config = config

    def first(self, url: str, params: Mapping[str, Any]) -> PageRequest:
        """The start page (with the page size when ``size_param`` is set)."""
        query = {**params, self.config.page_param: self.config.start_page}
        if self.config.size_param:
            query[self.config.size_param] = self.config.page_size
        return PageRequest(url=url, params=query)

    def next(self, page: Page) -> PageRequest | None:
        """The next page number, unless this page ended the data."""
        short = bool(self.config.size_param) and len(page.records) < self.config.page_size
        if not page.records or short:
            return None
        number = int(page.request.params[self.config.page_param]) + 1
        query = {**page.request.params, self.config.page_param: number}
        return attrs.evolve(page.request, params=query, index=page.request.index + 1)


class CursorPagination:
    """The next cursor is read at ``cursor_path`` in each response and sent as ``cursor_param``.

    A missing, null or empty cursor ends the walk; a cursor equal to the one just sent would
    loop forever and is a SOURCE error.
    """

    def __init__(self, config: PaginationConfig) -> None:
        self.config = config

    def first(self, url: str, params: Mapping[str, Any]) -> PageRequest:
        """The first page: no cursor."""
        return PageRequest(url=url, params=dict(params))

    def next(self, page: Page) -> PageRequest | None:
        """The page the response's cursor points to."""
        cursor = value_at(page.body, self.config.cursor_path)
        if cursor is MISSING or cursor is None or cursor == "":
            return None
        if cursor == page.request.params.get(self.config.cursor_param):
            raise SpineError(
                f"cursor at {self.config.cursor_path!r} did not advance after page "
                f"{page.request.index + 1}: the server would return the same page forever",
                category=ErrorCategory.SOURCE,
                context={"cursor_path": self.config.cursor_path},
            )
        query = {**page.request.params, self.config.cursor_param: cursor}
        return attrs.evolve(page.request, params=query, index=page.request.index + 1)


class LinkPagination:
    """Follows ``Link: <url>; rel="next"`` (RFC 8288) until a page has none.

    The next URL carries its own query string, so the first page's parameters are not sent
    again (credentials in the query are added to every request by the auth, not here).
    """

    def __init__(self, config: PaginationConfig) -> None:
        self.config = config

    def first(self, url: str, params: Mapping[str, Any]) -> PageRequest:
        """The configured URL and parameters."""
        return PageRequest(url=url, params=dict(params))

    def next(self, page: Page) -> PageRequest | None:
        """The ``rel="next"`` URL, resolved against the current one."""
        target = page.links.get("next")
        if not target:
            return None
        return PageRequest(
            url=urljoin(page.request.url, target), params={}, index=page.request.index + 1
        )
