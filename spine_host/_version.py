"""The running version of spine-host (one place, read by the build and by plugins' range checks)."""

__version__ = "0.1.0"
