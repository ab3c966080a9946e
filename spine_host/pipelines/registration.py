"""``@register_pipeline``: turn a function or a ``Pipeline`` class into a registrable pipeline.

The decorator only describes the pipeline; it registers nothing globally (there is no global
registry). A plugin hands its pipelines to the host through the registration hook, in one line::

    @register_pipeline("otc.ingest", stage="INGESTED", partition="{week_ending}")
    def ingest(context, params: IngestParams): ...
    ingest.Params  # or pass params=IngestParams

    @hookimpl
    def spine_register_pipelines(register):
        register_all(register, sys.modules[__name__])

Two plugins registering one name is reported by the host's registry, naming both.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from spine_host._module_scan import collect_defined
from spine_host.pipelines.params import params_to_json
from spine_host.pipelines.pipeline import Pipeline

if typing.TYPE_CHECKING:
    from spine_host.registry import Register
    from spine_host.retry import RetryPolicy

__all__ = [
    "FunctionPipeline",
    "PipelineFunction",
    "partition_key",
    "pipeline_attributes",
    "register_all",
    "register_pipeline",
]

#: What a function pipeline looks like: ``fn(context, params) -> result``.
PipelineFunction = Callable[[Any, Any], Any]
#: A partition template (``"{week_ending}"``, formatted with the JSON form of the parameters)
#: or a function of the ``Params`` instance.
Partition = str | Callable[[Any], str]


@attrs.frozen(kw_only=True)
class FunctionPipeline:
    """A pipeline made from a function ``fn(context, params)``; satisfies ``Pipeline``.

    Attributes:
        name: the registered name, ``domain.name``.
        fn: the function doing the work.
        Params: the attrs class of its parameters; None when it takes none.
        description: one line for listings; the docstring's first line by default.
        domain: the manifest domain; the part of ``name`` before the first dot by default.
        stage: the manifest stage a successful run reaches; the run is skipped when the
            partition is already at (or past) it, unless forced.
        stages: the domain's stages in order, which gives each its rank; ``(stage,)`` by default.
        partition: the partition a run works on (a template or a function of the params).
        retry_policy: how the dispatcher retries a failed run unless the caller passes one.
    """

    name: str
    fn: PipelineFunction = attrs.field(repr=False)
    Params: type[Any] | None = None
    description: str = ""
    domain: str = ""
    stage: str | None = None
    stages: tuple[str, ...] = ()
    partition: Partition | None = attrs.field(default=None, repr=False)
    retry_policy: RetryPolicy | None = None
    module: str | None = attrs.field(default=None, repr=False)

    def run(self, context: Any, params: Any) -> Any:
        """Call the function with the execution context and the structured parameters."""
        return self.fn(context, params)

    def __call__(self, context: Any, params: Any) -> Any:
        """Call it like the function it wraps (handy in tests)."""
        return self.fn(context, params)


def register_pipeline(
    name: str,
    *,
    params: type[Any] | None = None,
    description: str | None = None,
    domain: str | None = None,
    stage: str | None = None,
    stages: Sequence[str] = (),
    partition: Partition | None = None,
    retry_policy: RetryPolicy | None = None,
) -> Callable[[PipelineFunction | type[Any]], Pipeline]:
    """Describe a function or a ``Pipeline`` subclass as a named pipeline; return the pipeline.

    On a function, ``Params`` comes from ``params=`` or from the annotation of its second
    argument when that is an attrs class. On a class (anything with ``run(context, params)``),
    the class gets these attributes and the decorator returns one instance of it.
    """
    if not isinstance(name, str):
        raise TypeError("use @register_pipeline('domain.name'): the pipeline needs a name")
    options = {
        "description": description,
        "domain": domain,
        "stage": stage,
        "stages": tuple(stages),
        "partition": partition,
        "retry_policy": retry_policy,
    }
    if stage is not None and stages and stage not in stages:
        raise ValueError(f"pipeline {name!r}: stage {stage!r} is not one of stages {stages!r}")

    def decorate(target: PipelineFunction | type[Any]) -> Pipeline:
        if isinstance(target, type):
            return _class_pipeline(name, target, params, options)
        return _function_pipeline(name, target, params, options)

    return decorate


def register_all(register: Register[Pipeline], *sources: types.ModuleType | Iterable[Any]) -> int:
    """Register every pipeline defined in the given modules (or listed in iterables).

    From a module, only pipelines defined in that module are taken, so a module that imports
    another's pipelines does not register them twice. Returns how many were registered.
    """
    count = 0
    for pipeline in collect_defined(sources, _defined_here):
        register(pipeline.name, pipeline)
        count += 1
    return count


def _defined_here(value: Any, module: types.ModuleType) -> bool:
    return _is_pipeline(value) and _defined_in(value) == module.__name__


def pipeline_attributes(pipeline: Pipeline) -> FunctionPipeline:
    """Every optional attribute of any registered pipeline, defaults filled in.

    Plugins may register any object with ``name``, ``Params`` and ``run``; the rest
    (``stage``, ``partition``, ...) is read here, once, with the decorator's defaults.
    """
    if isinstance(pipeline, FunctionPipeline):
        return pipeline
    stage = getattr(pipeline, "stage", None)
    return FunctionPipeline(
        name=pipeline.name,
        fn=pipeline.run,
        Params=getattr(pipeline, "Params", None),
        description=getattr(pipeline, "description", None) or _first_line(pipeline),
        domain=getattr(pipeline, "domain", None) or _domain_of(pipeline.name),
        stage=stage,
        stages=tuple(getattr(pipeline, "stages", None) or ((stage,) if stage else ())),
        partition=getattr(pipeline, "partition", None),
        retry_policy=getattr(pipeline, "retry_policy", None),
    )


def partition_key(pipeline: Pipeline, params: Any) -> str | None:
    """The partition a run of ``pipeline`` with ``params`` works on; None if it declares none."""
    partition = pipeline_attributes(pipeline).partition
    if partition is None:
        return None
    if callable(partition):
        return str(partition(params))
    return partition.format_map(params_to_json(params))


# -- helpers ------------------------------------------------------------------------------------


def _function_pipeline(
    name: str, fn: PipelineFunction, params: type[Any] | None, options: dict[str, Any]
) -> FunctionPipeline:
    if not callable(fn):
        raise TypeError(f"@register_pipeline({name!r}) needs a function or a class, got {fn!r}")
    stage = options["stage"]
    return FunctionPipeline(
        name=name,
        fn=fn,
        Params=params if params is not None else _annotated_params(fn),
        description=options["description"] or _first_line(fn),
        domain=options["domain"] or _domain_of(name),
        stage=stage,
        stages=options["stages"] or ((stage,) if stage else ()),
        partition=options["partition"],
        retry_policy=options["retry_policy"],
        module=getattr(fn, "__module__", None),
    )


def _class_pipeline(
    name: str, cls: type[Any], params: type[Any] | None, options: dict[str, Any]
) -> Pipeline:
    if not callable(getattr(cls, "run", None)):
        raise TypeError(f"@register_pipeline({name!r}) on {cls.__name__}: it has no run() method")
    stage = options["stage"] or getattr(cls, "stage", None)
    cls.name = name
    cls.Params = params if params is not None else getattr(cls, "Params", None)
    cls.description = options["description"] or getattr(cls, "description", "") or _first_line(cls)
    cls.domain = options["domain"] or getattr(cls, "domain", "") or _domain_of(name)
    cls.stage = stage
    cls.stages = (
        options["stages"] or tuple(getattr(cls, "stages", ())) or ((stage,) if stage else ())
    )
    cls.partition = options["partition"] or getattr(cls, "partition", None)
    cls.retry_policy = options["retry_policy"] or getattr(cls, "retry_policy", None)
    instance: Pipeline = cls()
    return instance


def _annotated_params(fn: PipelineFunction) -> type[Any] | None:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: the caller can still pass params=
        return None
    parameters = list(inspect.signature(fn).parameters)
    if len(parameters) < 2:
        return None
    hint = hints.get(parameters[1])
    return hint if isinstance(hint, type) and attrs.has(hint) else None


def _is_pipeline(value: object) -> bool:
    return not isinstance(value, type) and isinstance(value, Pipeline)


def _defined_in(pipeline: object) -> str | None:
    if isinstance(pipeline, FunctionPipeline):
        return pipeline.module
    return type(pipeline).__module__


def _domain_of(name: str) -> str:
    return name.split(".", 1)[0]


def _first_line(thing: object) -> str:
    # Only the thing's own docstring: a subclass must not show Pipeline's description.
    if inspect.isfunction(thing) or inspect.ismethod(thing):
        doc = thing.__doc__
    else:
        doc = vars(thing if isinstance(thing, type) else type(thing)).get("__doc__")
    lines = inspect.cleandoc(doc or "").splitlines()
    return lines[0] if lines else ""
