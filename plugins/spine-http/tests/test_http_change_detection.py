"""ETag / If-None-Match, Last-Modified / If-Modified-Since, and content hashes across pages."""

from __future__ import annotations

from typing import Any

VERSION_1 = [{"id": 1, "price": 10.0}]
VERSION_2 = [{"id": 1, "price": 11.5}]


class VersionedDocument:
    """A resource that answers 304 to a request naming its current version."""

    def __init__(self, rows: list[dict[str, Any]], etag: str, modified: str) -> None:
        self.rows, self.etag, self.modified = rows, etag, modified

    def __call__(self, request: Any) -> Any:
        headers = {"ETag": self.etag, "Last-Modified": self.modified}
        if request.header("If-None-Match") == self.etag:
            return 304, None, headers
        if request.header("If-None-Match") is None and (
            request.header("If-Modified-Since") == self.modified
        ):
            return 304, None, headers
        return 200, self.rows, headers


def test_etag_second_fetch_gets_304_and_reports_unchanged(api: Any, http_source: Any) -> None:
    document = VersionedDocument(VERSION_1, '"v1"', "Mon, 02 Jun 2025 12:00:00 GMT")
    api.route("/prices", document)
    source = http_source(url=api.url("/prices"))

    first = source.fetch()
    second = source.fetch(previous=first.metadata)

    assert first.metadata is not None
    assert first.metadata.etag == '"v1"'
    assert first.changed
    assert second.ok, second.error
    assert not second.changed
    assert second.rows() == []
    assert second.metadata is not None
    assert second.metadata.etag == '"v1"'
    assert [hit.header("If-None-Match") for hit in api.hits("/prices")] == [None, '"v1"']


def test_a_new_etag_reports_changed_with_the_new_rows(api: Any, http_source: Any) -> None:
    document = VersionedDocument(VERSION_1, '"v1"', "Mon, 02 Jun 2025 12:00:00 GMT")
    api.route("/prices", document)
    source = http_source(url=api.url("/prices"))
    first = source.fetch()

    document.rows, document.etag = VERSION_2, '"v2"'
    second = source.fetch(previous=first.metadata)

    assert second.changed
    assert second.rows() == VERSION_2
    assert second.metadata is not None
    assert second.metadata.etag == '"v2"'


def test_last_modified_alone_gets_304(api: Any, http_source: Any) -> None:
    modified = "Tue, 03 Jun 2025 08:00:00 GMT"

    def handler(request: Any) -> Any:
        if request.header("If-Modified-Since") == modified:
            return 304, None, {"Last-Modified": modified}
        return 200, VERSION_1, {"Last-Modified": modified}

    api.route("/prices", handler)
    source = http_source(url=api.url("/prices"))
    first = source.fetch()

    second = source.fetch(previous=first.metadata)

    assert first.metadata is not None
    assert first.metadata.last_modified == modified
    assert not second.changed


def test_paginated_sources_detect_unchanged_content_by_hash(api: Any, http_source: Any) -> None:
    items = [{"id": number} for number in range(5)]
    api.route("/items", lambda r: items[int(r.query["offset"]) : int(r.query["offset"]) + 2])
    source = http_source(url=api.url("/items"), pagination={"type": "offset", "page_size": 2})
    first = source.fetch()

    same = source.fetch(previous=first.metadata)
    items[4] = {"id": 44}
    edited = source.fetch(previous=first.metadata)

    assert not same.changed
    assert same.rows() == first.rows()
    assert edited.changed
    assert edited.rows()[-1] == {"id": 44}
    # A 304 for page one says nothing about page three: no conditional headers are sent.
    assert all(hit.header("If-None-Match") is None for hit in api.hits("/items"))
