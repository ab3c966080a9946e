"""Hypothesis profiles for the fuzz tests: short and repeatable in the suite, long on demand.

The suite (and CI) runs the ``suite`` profile: a few dozen derandomized examples per property,
the same ones every run, so a failure reproduces. ``nox -s fuzz`` sets
``SPINE_FUZZ_PROFILE=long``: thousands of fresh random examples per property.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "suite",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("SPINE_FUZZ_PROFILE", "suite"))
