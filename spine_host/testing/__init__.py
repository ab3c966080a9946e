"""Test kit for spine and its plugins: doubles, pytest fixtures and conformance suites.

The pytest plugin (``spine_host.testing.pytest_plugin``) is registered through the ``pytest11``
entry point, so installing spine-host makes its fixtures available to every test suite.
"""
