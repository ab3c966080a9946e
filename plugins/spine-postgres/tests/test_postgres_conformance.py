"""spine-postgres passes the storage conformance suite on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from spine_postgres.adapter import PostgresAdapter

from spine_host.testing.conformance.storage import StorageAdapterSuite

pytestmark = pytest.mark.postgres


class TestPostgresAdapterConformance(StorageAdapterSuite):
    """Every test of the suite, against the session's temporary PostgreSQL database."""

    @pytest.fixture
    def adapter(self, postgres_url: str) -> Iterator[PostgresAdapter]:
        adapter = PostgresAdapter(postgres_url, pool_size=3, max_overflow=2)
        try:
            yield adapter
        finally:
            adapter.close()
