"""HttpSource keeps the Source contract (spine_host's SourceSuite), paginated and not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from spine_host.testing.conformance.sources import SourceSuite

ROWS = [
    {"id": 1, "symbol": "AAA", "price": 1.5, "active": True},
    {"id": 2, "symbol": "BBB", "price": 2.25, "active": False},
    {"id": 3, "symbol": "CCC", "price": 3.0, "active": True},
    {"id": 4, "symbol": "DDD", "price": 4.75, "active": True},
    {"id": 5, "symbol": "EEE", "price": 5.5, "active": False},
]


class PriceApi:
    """One JSON document with an ETag that changes when the rows do."""

    def __init__(self) -> None:
        self.rows = [dict(row) for row in ROWS]
        self.version = 1

    def document(self, request: Any) -> Any:
        etag = f'"v{self.version}"'
        if request.header("If-None-Match") == etag:
            return 304, None, {"ETag": etag}
        return 200, {"data": self.rows}, {"ETag": etag}

    def page(self, request: Any) -> Any:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        return {"data": self.rows[offset : offset + limit]}

    def change(self) -> None:
        self.rows[0]["price"] = 9.99
        self.version += 1


@pytest.fixture
def price_api(api: Any) -> PriceApi:
    prices = PriceApi()
    api.route("/prices", prices.document)
    api.route("/pages", prices.page)
    return prices


class TestHttpSourceWithEtag(SourceSuite):
    @pytest.fixture
    def source(self, api: Any, price_api: PriceApi, http_source: Any) -> Any:
        return http_source("prices", url=api.url("/prices"), records_path="data")

    @pytest.fixture
    def expected_rows(self) -> list[dict[str, Any]]:
        return ROWS

    @pytest.fixture
    def missing_source(self, api: Any, http_source: Any) -> Any:
        return http_source("gone", url=api.url("/missing"))

    @pytest.fixture
    def mutate(self, price_api: PriceApi) -> Callable[[], None]:
        return price_api.change


class TestHttpSourcePaginated(SourceSuite):
    @pytest.fixture
    def source(self, api: Any, price_api: PriceApi, http_source: Any) -> Any:
        pagination = {"type": "offset", "page_size": 2}
        return http_source(
            "pages", url=api.url("/pages"), records_path="data", pagination=pagination
        )

    @pytest.fixture
    def expected_rows(self) -> list[dict[str, Any]]:
        return ROWS

    @pytest.fixture
    def missing_source(self, api: Any, http_source: Any) -> Any:
        return http_source("gone", url=api.url("/missing"), pagination={"type": "page"})

    @pytest.fixture
    def mutate(self, price_api: PriceApi) -> Callable[[], None]:
        return price_api.change
