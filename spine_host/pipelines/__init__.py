"""Pipelines: the registry of named units of work and what runs them."""
