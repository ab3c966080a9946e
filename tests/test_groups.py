"""PipelineGroup: a workflow of pipelines from Python, TOML or YAML, with clear file errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from spine_host.errors import ConfigError
from spine_host.orchestration.groups import PipelineGroup
from spine_host.orchestration.records import RunStatus, StepStatus
from spine_host.orchestration.runner import WorkflowRunner
from spine_host.orchestration.workflow import Branch, Step
from tests.plugins import workflow_pipelines
from tests.plugins.workflow_fixtures import make_host, storage_url

__all__ = ["storage_url"]

GROUP_TOML = """
name = "wf.group"
description = "extract then load"
max_concurrency = 2
timeout = 60

[defaults]
region = "eu"

[[steps]]
name = "extract"
pipeline = "wf.extract"
params = { rows = 5 }
retry = { max_attempts = 2, delay = 0.01 }
timeout = 30

[[steps]]
name = "load"
pipeline = "wf.load"
depends_on = ["extract"]
on_failure = "continue"
when = { step = "extract", equals = "never" }
"""


def test_toml_group_runs_its_pipelines(storage_url, tmp_path: Path) -> None:
    path = tmp_path / "group.toml"
    path.write_text(GROUP_TOML)
    group = PipelineGroup.load(path)
    assert (group.name, group.max_concurrency, group.timeout) == ("wf.group", 2, 60)
    extract = group.step("extract")
    assert (extract.retry.max_attempts, extract.timeout) == (2, 30)
    assert group.step("load").condition == Branch("extract", "never")
    host = make_host(storage_url, workflow_pipelines)
    try:
        run = WorkflowRunner(host).run(group)
    finally:
        host.close()
    assert run.status is RunStatus.COMPLETED
    latest = run.latest_attempts()
    assert latest["extract"].outputs["region"] == "eu"
    assert latest["load"].status is StepStatus.SKIPPED  # the branch was not taken


def test_yaml_group_matches_the_toml_one(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    import tomllib

    path = tmp_path / "group.yaml"
    path.write_text(yaml.safe_dump(tomllib.loads(GROUP_TOML)))
    assert PipelineGroup.load(path) == PipelineGroup.from_toml(GROUP_TOML)


def test_bad_group_files_name_the_file_key_and_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"g.toml.steps\[0\].timeout = 'soon': expected a number"):
        PipelineGroup.from_toml(
            'name = "g"\n[[steps]]\nname = "a"\npipeline = "p"\ntimeout = "soon"\n',
            source="g.toml",
        )
    with pytest.raises(ConfigError, match=r"unknown key 'pipelin'"):
        PipelineGroup.from_toml('name = "g"\n[[steps]]\nname = "a"\npipelin = "p"\n')
    with pytest.raises(ConfigError, match=r"g.toml: workflow 'g': cycle: a -> b -> a"):
        PipelineGroup.from_toml(
            'name = "g"\n[[steps]]\nname = "a"\npipeline = "p"\ndepends_on = ["b"]\n'
            '[[steps]]\nname = "b"\npipeline = "p"\ndepends_on = ["a"]\n',
            source="g.toml",
        )
    with pytest.raises(ConfigError, match="cannot read pipeline group"):
        PipelineGroup.load(tmp_path / "missing.toml")


def test_python_group_refuses_callable_steps() -> None:
    group = PipelineGroup("g", [Step("a", "wf.extract"), Step("b", "wf.load", ["a"])])
    assert [step.pipeline for step in group.steps] == ["wf.extract", "wf.load"]
    with pytest.raises(ConfigError, match="steps b are callables"):
        PipelineGroup("g", [Step("a", "wf.extract"), Step("b", lambda c, i, p: 1)])
