"""Each pagination style collects every page from a real local server, in order."""

from __future__ import annotations

from typing import Any

import pytest

from spine_host.errors import ErrorCategory

ITEMS = [{"id": number, "price": number * 1.5} for number in range(1, 24)]  # 23 records


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


def test_offset_and_limit_collect_every_page(api: Any, http_source: Any) -> None:
    def page(request: Any) -> Any:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        return {"data": {"items": ITEMS[offset : offset + limit]}}

    api.route("/items", page)
    source = http_source(
        url=api.url("/items"),
        records_path="data.items",
        pagination={"type": "offset", "page_size": 10, "offset_param": "offset"},
    )

    result = source.fetch()

    assert result.ok, result.error
    assert ids(result.rows()) == list(range(1, 24))
    assert [hit.query["offset"] for hit in api.hits("/items")] == ["0", "10", "20"]
    assert result.metadata is not None
    assert result.metadata.extra["pages"] == 3


def test_offset_walk_stops_on_an_empty_page_when_the_data_fills_whole_pages(
    api: Any, http_source: Any
) -> None:
    api.route(
        "/items",
        lambda r: ITEMS[:20][int(r.query["skip"]) : int(r.query["skip"]) + int(r.query["top"])],
    )
    pagination = {"type": "offset", "page_size": 10, "offset_param": "skip", "limit_param": "top"}

    result = http_source(url=api.url("/items"), pagination=pagination).fetch()

    assert ids(result.rows()) == list(range(1, 21))
    assert len(api.hits("/items")) == 3


def test_page_numbers_collect_every_page(api: Any, http_source: Any) -> None:
    def page(request: Any) -> Any:
        number, size = int(request.query["p"]), int(request.query["per_page"])
        return {"results": ITEMS[(number - 1) * size : number * size]}

    api.route("/items", page)
    pagination = {"type": "page", "page_param": "p", "size_param": "per_page", "page_size": 5}

    result = http_source(url=api.url("/items"), records_path="results", pagination=pagination)
    result = result.fetch()

    assert ids(result.rows()) == list(range(1, 24))
    assert [hit.query["p"] for hit in api.hits("/items")] == ["1", "2", "3", "4", "5"]


def test_page_numbers_without_a_size_stop_at_the_first_empty_page(
    api: Any, http_source: Any
) -> None:
    api.route("/items", lambda r: ITEMS[int(r.query["page"]) * 8 : (int(r.query["page"]) + 1) * 8])
    pagination = {"type": "page", "start_page": 0}

    result = http_source(url=api.url("/items"), pagination=pagination).fetch()

    assert ids(result.rows()) == list(range(1, 24))
    assert [hit.query["page"] for hit in api.hits("/items")] == ["0", "1", "2", "3"]


def test_a_cursor_at_a_json_path_collects_every_page(api: Any, http_source: Any) -> None:
    def page(request: Any) -> Any:
        start = int(request.query.get("after", "0"))
        chunk = ITEMS[start : start + 7]
        more = start + 7 < len(ITEMS)
        return {"data": chunk, "meta": {"next_cursor": str(start + 7) if more else None}}

    api.route("/items", page)
    pagination = {"type": "cursor", "cursor_path": "meta.next_cursor", "cursor_param": "after"}

    result = http_source(url=api.url("/items"), records_path="data", pagination=pagination)
    result = result.fetch({"region": "eu"})

    assert ids(result.rows()) == list(range(1, 24))
    hits = api.hits("/items")
    assert [hit.query.get("after") for hit in hits] == [None, "7", "14", "21"]
    assert all(hit.query["region"] == "eu" for hit in hits)


def test_a_cursor_that_does_not_advance_fails_instead_of_looping(
    api: Any, http_source: Any
) -> None:
    api.route("/items", lambda r: {"data": ITEMS[:2], "next": "same"})
    pagination = {"type": "cursor", "cursor_path": "next"}

    result = http_source(url=api.url("/items"), records_path="data", pagination=pagination)
    result = result.fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.SOURCE
    assert len(api.hits("/items")) == 2


def test_link_header_rel_next_collects_every_page(api: Any, http_source: Any) -> None:
    def page(request: Any) -> Any:
        number = int(request.query.get("page", "1"))
        chunk = ITEMS[(number - 1) * 10 : number * 10]
        headers = {}
        if number * 10 < len(ITEMS):
            # A relative link on one page and an absolute one on the next.
            target = (
                f"/items?page={number + 1}" if number == 1 else api.url(f"/items?page={number + 1}")
            )
            headers["Link"] = f'<{target}>; rel="next", </items?page=1>; rel="first"'
        return 200, chunk, headers

    api.route("/items", page)

    result = http_source(url=api.url("/items"), pagination={"type": "link"}).fetch()

    assert ids(result.rows()) == list(range(1, 24))
    assert [hit.query.get("page") for hit in api.hits("/items")] == [None, "2", "3"]


def test_max_pages_stops_an_endless_walk(api: Any, http_source: Any) -> None:
    api.route("/items", lambda r: (200, ITEMS[:1], {"Link": '</items?again=1>; rel="next"'}))
    pagination = {"type": "link", "max_pages": 4}

    result = http_source(url=api.url("/items"), pagination=pagination).fetch()

    assert result.error is not None
    assert result.error.category is ErrorCategory.SOURCE
    assert "max_pages" in result.error.message
    assert len(api.hits("/items")) == 4


@pytest.mark.parametrize("batch_size", [4, 1000])
def test_fetch_stream_and_batches_agree_across_pages(
    api: Any, http_source: Any, batch_size: int
) -> None:
    api.route("/items", lambda r: ITEMS[int(r.query["offset"]) : int(r.query["offset"]) + 10])
    source = http_source(url=api.url("/items"), pagination={"type": "offset", "page_size": 10})

    fetched = source.fetch().rows()
    streamed = list(source.stream())
    batches = list(source.batches(batch_size=batch_size))

    assert fetched == streamed == ITEMS
    assert [row for batch in batches for row in batch.to_pylist()] == ITEMS
    assert all(batch.num_rows <= batch_size for batch in batches)
