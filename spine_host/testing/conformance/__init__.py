"""Conformance suites a plugin author subclasses to prove an adapter keeps spine's contracts.

::

    from spine_host.testing.conformance import StorageAdapterSuite

    class TestMyAdapter(StorageAdapterSuite):
        @pytest.fixture
        def adapter(self):
            adapter = MyAdapter("mydb://...")
            yield adapter
            adapter.close()
"""

from spine_host.testing.conformance.alerts import AlertChannelSuite
from spine_host.testing.conformance.sources import SourceSuite
from spine_host.testing.conformance.storage import StorageAdapterSuite

__all__ = ["AlertChannelSuite", "SourceSuite", "StorageAdapterSuite"]
