"""The workflow model: DAG validation with the offending path named, params, decorator."""

from __future__ import annotations

import pytest

from spine_host.errors import ErrorCategory, SpineError
from spine_host.orchestration.workflow import Branch, Step, Workflow, register_workflow


def noop(context, inputs, params):
    return None


def test_cycle_is_refused_naming_the_cycle() -> None:
    with pytest.raises(SpineError) as caught:
        Workflow(
            "loops",
            [
                Step("a", noop, ["c"]),
                Step("b", noop, ["a"]),
                Step("c", noop, ["b"]),
                Step("d", noop),
            ],
        )
    assert caught.value.category is ErrorCategory.VALIDATION
    assert "workflow 'loops': cycle: a -> b -> c -> a" in str(caught.value)


def test_self_dependency_is_a_cycle() -> None:
    with pytest.raises(SpineError, match=r"cycle: a -> a"):
        Workflow("self", [Step("a", noop, ["a"])])


def test_unknown_dependency_is_refused_naming_the_edge() -> None:
    with pytest.raises(SpineError, match=r"step 'b' depends on unknown step 'x': x -> b"):
        Workflow("w", [Step("a", noop), Step("b", noop, ["a", "x"])])


def test_branch_selector_must_name_a_known_step() -> None:
    with pytest.raises(SpineError, match=r"unknown step 'pick'"):
        Workflow("w", [Step("a", noop, condition=Branch("pick", "then"))])


def test_duplicate_step_names_and_empty_workflows_are_refused() -> None:
    with pytest.raises(SpineError, match=r"two steps are named 'a'"):
        Workflow("w", [Step("a", noop), Step("a", noop)])
    with pytest.raises(SpineError, match=r"no steps"):
        Workflow("w", [])


def test_order_respects_dependencies_whatever_the_declaration_order() -> None:
    workflow = Workflow(
        "w",
        [
            Step("d", noop, ["b", "c"]),
            Step("b", noop, ["a"]),
            Step("c", noop, ["a"]),
            Step("a", noop),
        ],
    )
    order = workflow.order
    assert order.index("a") < order.index("b") < order.index("d")
    assert order.index("c") < order.index("d")
    assert workflow.dependents("a") == {"b", "c", "d"}
    assert workflow.leaves == ("d",)


def test_order_keeps_the_declaration_order_where_dependencies_allow() -> None:
    in_order = Workflow("w", [Step("a", noop), Step("b", noop, ["a"]), Step("c", noop)])
    assert in_order.order == ("a", "b", "c")
    # Each sweep over the declarations places every step whose needs are placed by then.
    early = Workflow(
        "w", [Step("b", noop, ["a"]), Step("a", noop), Step("c", noop, ["a"]), Step("d", noop)]
    )
    assert early.order == ("a", "c", "d", "b")


def test_a_cycle_behind_other_steps_is_named_without_them() -> None:
    with pytest.raises(SpineError) as caught:
        Workflow(
            "w",
            [
                Step("start", noop),
                Step("x", noop, ["start", "b"]),
                Step("a", noop, ["b"]),
                Step("b", noop, ["a"]),
            ],
        )
    assert caught.value.category is ErrorCategory.VALIDATION
    message = str(caught.value)
    assert message in ("workflow 'w': cycle: a -> b -> a", "workflow 'w': cycle: b -> a -> b")


def test_params_precedence_defaults_then_run_then_step() -> None:
    step = Step("a", noop, params={"level": "step"})
    workflow = Workflow("w", [step], defaults={"level": "default", "region": "us", "tier": 1})
    merged = workflow.params_for(step, {"level": "run", "region": "eu"})
    assert merged == {"level": "step", "region": "eu", "tier": 1}


def test_step_needs_a_pipeline_name_or_a_callable_and_sane_options() -> None:
    with pytest.raises(TypeError, match="pipeline name or a callable"):
        Step("a", 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'ignore' is not a valid OnFailure"):
        Step("a", noop, on_failure="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be > 0"):
        Step("a", noop, timeout=0)
    with pytest.raises(ValueError, match="max_concurrency must be >= 1"):
        Workflow("w", [Step("a", noop)], max_concurrency=0)
    assert Step("a", "otc.ingest").pipeline == "otc.ingest"
    assert Step("a", noop).pipeline is None


def test_register_workflow_builds_from_steps_or_returns_the_workflow() -> None:
    @register_workflow(name="otc.weekly", max_concurrency=2, defaults={"tier": 1})
    def weekly():
        """Weekly refresh."""
        return [Step("a", noop), Step("b", noop, ["a"])]

    assert isinstance(weekly, Workflow)
    assert (weekly.name, weekly.max_concurrency, weekly.description) == (
        "otc.weekly",
        2,
        "Weekly refresh.",
    )
    assert weekly.defaults == {"tier": 1}

    @register_workflow
    def prebuilt():
        return Workflow("named.inside", [Step("a", noop)])

    assert prebuilt.name == "named.inside"


def test_registered_workflows_reach_the_host_registry_through_the_hook(spine_host) -> None:
    from spine_host.host import Host
    from tests.plugins import workflow_crash

    host = Host(
        plugins=[workflow_crash], load_entrypoints=False, storage_url="sqlite://", environ={}
    )
    assert host.registries.workflows.get("tests.crash") is workflow_crash.crash_workflow
