"""docs/hooks.md is the generated hook reference; it must match hookspecs.py exactly."""

from __future__ import annotations

from pathlib import Path

from spine_host import _hookdoc, hookspecs

DOC = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


def test_every_hook_appears_with_its_exact_signature() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in _hookdoc.hook_names():
        assert f"\n{_hookdoc.signature_of(name)}\n" in text, f"{name} missing or stale in {DOC}"


def test_the_reference_is_exactly_what_the_specs_render() -> None:
    assert DOC.read_text(encoding="utf-8") == _hookdoc.render(), (
        "docs/hooks.md is stale: run `python -m spine_host._hookdoc > docs/hooks.md`"
    )


def test_every_hook_is_documented_with_parameters_and_an_example() -> None:
    for name in _hookdoc.hook_names():
        doc = getattr(hookspecs, name).__doc__ or ""
        assert ":param" in doc, name
        assert "Example::" in doc, name
        assert "Called" in doc, name


def test_every_design_hook_exists() -> None:
    expected = {
        "spine_register_storage",
        "spine_register_sources",
        "spine_register_alert_channels",
        "spine_register_schedules",
        "spine_register_pipelines",
        "spine_register_workflows",
        "spine_register_executors",
        "spine_register_commands",
        # Beyond DESIGN.md's list: plugin tables (issue 14; docs/decisions.md says why).
        "spine_register_tables",
        # Beyond DESIGN.md's list: plugin lines in `spine doctor` (issue 16, docs/decisions.md).
        "spine_doctor_checks",
        "spine_run_started",
        "spine_step_finished",
        "spine_run_finished",
        "spine_alert_delivered",
        "spine_schedule_fired",
        "spine_classify_error",
    }
    assert set(_hookdoc.hook_names()) == expected
