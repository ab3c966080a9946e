"""Small sample plugins used by the host's tests, each one module, each one behaviour."""
