"""``PipelineGroup``: a workflow made only of registered pipelines, written in Python or a file.

A group file (TOML, or YAML when PyYAML is installed) describes the same thing the Python form
does::

    name = "otc.weekly"
    description = "Weekly OTC refresh"
    max_concurrency = 2
    timeout = 3600

    [defaults]
    tier = "NMS_TIER_1"

    [[steps]]
    name = "ingest"
    pipeline = "otc.ingest"
    retry = { max_attempts = 3, delay = 5 }
    timeout = 600

    [[steps]]
    name = "report"
    pipeline = "otc.report"
    depends_on = ["ingest"]
    on_failure = "continue"
    when = { step = "ingest", equals = "changed" }   # a branch selector

Files are checked like ``spine.toml``: an unknown key or a wrong type is an error naming the
file, the key path, the value and what was expected.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from spine_host.errors import ConfigError
from spine_host.orchestration.workflow import Branch, OnFailure, Step, Workflow
from spine_host.retry import RetryPolicy
from spine_host.structuring import structure

__all__ = ["PipelineGroup"]


@attrs.frozen
class PipelineGroup(Workflow):
    """A :class:`Workflow` whose every step runs a registered pipeline."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        callables = [step.name for step in self.steps if step.pipeline is None]
        if callables:
            raise ConfigError(
                f"pipeline group {self.name!r}: steps {', '.join(callables)} are callables; "
                "a group runs registered pipelines only (use Workflow for callables)"
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PipelineGroup:
        """Read a group from a ``.toml``, ``.yaml`` or ``.yml`` file."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read pipeline group {file}: {exc}", cause=exc) from exc
        if file.suffix.lower() in (".yaml", ".yml"):
            return cls.from_yaml(text, source=str(file))
        return cls.from_toml(text, source=str(file))

    @classmethod
    def from_toml(cls, text: str, *, source: str = "<toml>") -> PipelineGroup:
        """Parse a group from TOML text."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: invalid TOML: {exc}", cause=exc) from exc
        return cls.from_dict(data, source=source)

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<yaml>") -> PipelineGroup:
        """Parse a group from YAML text; needs PyYAML (``pip install pyyaml``)."""
        try:
            yaml = importlib.import_module("yaml")
        except ImportError as exc:
            raise ConfigError(
                f"{source}: reading YAML needs PyYAML (pip install pyyaml); or write TOML",
                cause=exc,
            ) from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: invalid YAML: {exc}", cause=exc) from exc
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a mapping at the top level")
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "group") -> PipelineGroup:
        """Build a group from plain data (a parsed file)."""
        spec = structure(dict(data), _GroupFile, source)
        try:
            return cls(
                spec.name,
                tuple(step.to_step() for step in spec.steps),
                defaults=spec.defaults,
                max_concurrency=spec.max_concurrency,
                timeout=spec.timeout,
                description=spec.description,
                executor=spec.executor,
                queue=spec.queue,
                resume_on_crash=spec.resume_on_crash,
            )
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{source}: {exc}", cause=exc) from exc
        except ConfigError:
            raise
        except Exception as exc:  # a SpineError from DAG validation: say which file
            message = getattr(exc, "message", str(exc))
            raise ConfigError(f"{source}: {message}", cause=exc) from exc


@attrs.frozen
class _RetryFile:
    max_attempts: int = 1
    delay: float = 1.0
    backoff: str = "exponential"
    max_delay: float = 60.0
    jitter: float = 0.0
    retry_on: list[str] | None = None

    def to_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            delay=self.delay,
            backoff=self.backoff,  # the converter validates it
            max_delay=self.max_delay,
            jitter=self.jitter,
            retry_on=self.retry_on,
        )


@attrs.frozen
class _BranchFile:
    step: str
    equals: Any  # a string, number or boolean the selecting step returns


@attrs.frozen
class _StepFile:
    name: str
    pipeline: str
    depends_on: list[str] = attrs.field(factory=list)
    params: dict[str, Any] = attrs.field(factory=dict)
    retry: _RetryFile | None = None
    timeout: float | None = None
    on_failure: OnFailure = OnFailure.STOP
    when: _BranchFile | None = None
    queue: str | None = None

    def to_step(self) -> Step:
        return Step(
            self.name,
            self.pipeline,
            depends_on=self.depends_on,
            params=self.params,
            condition=Branch(self.when.step, self.when.equals) if self.when else None,
            retry=self.retry.to_policy() if self.retry else None,
            timeout=self.timeout,
            on_failure=self.on_failure,
            queue=self.queue,
        )


@attrs.frozen
class _GroupFile:
    name: str
    steps: list[_StepFile]
    description: str = ""
    defaults: dict[str, Any] = attrs.field(factory=dict)
    max_concurrency: int = 4
    timeout: float | None = None
    executor: str = "local"
    queue: str | None = None
    resume_on_crash: bool = False
