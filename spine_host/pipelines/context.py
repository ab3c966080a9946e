"""ExecutionContext: who an execution is, where it sits in its lineage, and what it can reach.

Every execution has an id; executions started together share a ``batch_id``; an execution
started by another records it as ``parent_execution_id``. The dispatcher passes a context to the
pipeline, which uses it to reach storage, sources, rejects and quality checks::

    def ingest(context, params):
        rows = context.host.source("otc_files").fetch({}).unwrap().rows()
        with context.rejects("PARSE") as rejects:
            ...
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.pipelines.manifest import WorkManifest
    from spine_host.pipelines.quality import QualityRunner
    from spine_host.pipelines.rejects import RejectSink

__all__ = ["ExecutionContext", "new_id"]


def new_id() -> str:
    """A fresh execution or batch id (32 hex digits)."""
    return uuid.uuid4().hex


@attrs.frozen(kw_only=True)
class ExecutionContext:
    """One execution's identity and lineage, plus the host it runs in.

    Attributes:
        execution_id: this execution's id (the ``executions`` row).
        batch_id: shared by every execution started together (a workflow run, a backfill).
        parent_execution_id: the execution that started this one, if any.
        triggered_by: ``manual``, ``schedule:NAME``, ``workflow:RUN_ID``...
        host: storage, sources and the error classifier.
        logical_date: the date the work is for (a schedule's nominal time), if any.
        pipeline: the pipeline running; set by the dispatcher.
        domain: the pipeline's manifest domain; set by the dispatcher.
        partition_key: the partition this run works on, if the pipeline declares one.
    """

    execution_id: str = attrs.field(factory=new_id)
    batch_id: str | None = None
    parent_execution_id: str | None = None
    triggered_by: str = "manual"
    host: Host = attrs.field(eq=False, repr=False)
    logical_date: datetime | None = None
    pipeline: str | None = None
    domain: str | None = None
    partition_key: str | None = None

    @classmethod
    def root(
        cls,
        host: Host,
        *,
        batch_id: str | None = None,
        triggered_by: str = "manual",
        logical_date: datetime | None = None,
    ) -> ExecutionContext:
        """A context with a new execution id and no parent (a run started by a person)."""
        return cls(
            host=host, batch_id=batch_id, triggered_by=triggered_by, logical_date=logical_date
        )

    def child(
        self, *, triggered_by: str | None = None, execution_id: str | None = None
    ) -> ExecutionContext:
        """A context for an execution this one starts: new id, this one as parent, same batch."""
        return ExecutionContext(
            execution_id=execution_id or new_id(),
            batch_id=self.batch_id,
            parent_execution_id=self.execution_id,
            triggered_by=triggered_by or self.triggered_by,
            host=self.host,
            logical_date=self.logical_date,
        )

    def with_batch(self, batch_id: str | None = None) -> ExecutionContext:
        """This context in batch ``batch_id`` (a new batch id when None)."""
        return attrs.evolve(self, batch_id=batch_id or new_id())

    # -- what a running pipeline reaches through its context -----------------------------------

    def rejects(self, stage: str, **options: Any) -> RejectSink:
        """A reject sink writing rows tagged with this execution, pipeline and partition."""
        from spine_host.pipelines.rejects import RejectSink

        return RejectSink(
            self.host.storage,
            stage=stage,
            execution_id=self.execution_id,
            pipeline=self.pipeline,
            domain=self.domain,
            partition_key=self.partition_key,
            **options,
        )

    def quality(self) -> QualityRunner:
        """A quality runner persisting checks tagged with this execution and partition."""
        from spine_host.pipelines.quality import QualityRunner

        return QualityRunner(
            self.host.storage,
            execution_id=self.execution_id,
            pipeline=self.pipeline,
            domain=self.domain,
            partition_key=self.partition_key,
        )

    def manifest(self, domain: str | None = None, stages: tuple[str, ...] = ()) -> WorkManifest:
        """The work manifest of ``domain`` (this pipeline's domain by default)."""
        from spine_host.pipelines.manifest import WorkManifest

        return WorkManifest(
            self.host.storage,
            domain or self.domain or "default",
            stages=stages,
            execution_id=self.execution_id,
            batch_id=self.batch_id,
        )
