"""A domain source written as a small HttpSource subclass, configured through spine.toml."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs
from spine_http.client import HttpResponse
from spine_http.config import HttpSourceConfig, PaginationConfig, PaginationType
from spine_http.source import HttpSource

from spine_host import Host, hookimpl
from spine_host.config import load_config


@attrs.frozen(kw_only=True)
class PriceConfig(HttpSourceConfig):
    """The price API's defaults: only the URL and the key differ between deployments."""

    records_path: str = "data.prices"
    pagination: PaginationConfig = attrs.field(
        factory=lambda: PaginationConfig(
            type=PaginationType.CURSOR, cursor_path="meta.next", cursor_param="cursor"
        )
    )


class PriceSource(HttpSource):
    """Daily closing prices, typed: dates as dates, prices as Decimals; halted symbols dropped."""

    source_type: ClassVar[str] = "prices"
    Config: ClassVar[type[Any]] = PriceConfig

    def parse_page(self, body: Any, response: HttpResponse) -> list[dict[str, Any]]:
        # The API nests each day's quotes under its date.
        return [
            {"day": day["date"], **quote}
            for day in super().parse_page(body, response)
            for quote in day["quotes"]
        ]

    def transform_record(self, record: dict[str, Any]) -> dict[str, Any] | None:
        if record.get("halted"):
            return None
        return {
            "day": date.fromisoformat(record["day"]),
            "symbol": record["sym"],
            "close": Decimal(record["close"]),
        }


class PricePlugin:
    """What a domain distribution's entry module would hold."""

    @hookimpl
    def spine_register_sources(self, register: Any) -> None:
        register("prices", PriceSource)


PAGES = {
    None: {
        "data": {"prices": [{"date": "2025-06-02", "quotes": [{"sym": "ABC", "close": "10.25"}]}]},
        "meta": {"next": "p2"},
    },
    "p2": {
        "data": {
            "prices": [
                {
                    "date": "2025-06-03",
                    "quotes": [
                        {"sym": "ABC", "close": "10.50"},
                        {"sym": "XYZ", "close": "0.00", "halted": True},
                    ],
                }
            ]
        },
        "meta": {"next": None},
    },
}


def test_a_price_source_subclass_reads_typed_rows_through_the_host(
    api: Any, tmp_path: Path
) -> None:
    api.route(
        "/v1/prices",
        lambda r: PAGES[r.query.get("cursor")] if r.header("X-Key") == "k1" else (401, None),
    )
    config_file = tmp_path / "spine.toml"
    config_file.write_text(
        f"""
[sources.closing_prices]
type = "prices"
url = "{api.url("/v1/prices")}"
[sources.closing_prices.auth]
type = "api_key"
name = "X-Key"
key = "${{PRICE_KEY}}"
""",
        encoding="utf-8",
    )
    config = load_config(config_file, environ={"PRICE_KEY": "k1"})
    host = Host(config=config, plugins=[PricePlugin()], load_entrypoints=False, environ={})

    source = host.source("closing_prices")
    result = source.fetch()

    assert isinstance(source, PriceSource)
    assert result.ok, result.error
    assert result.rows() == [
        {"day": date(2025, 6, 2), "symbol": "ABC", "close": Decimal("10.25")},
        {"day": date(2025, 6, 3), "symbol": "ABC", "close": Decimal("10.50")},
    ]
    assert [hit.query.get("cursor") for hit in api.hits("/v1/prices")] == [None, "p2"]
    host.close()
