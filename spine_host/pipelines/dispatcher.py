"""Dispatcher: run one registered pipeline and record everything that happened.

One path for every run (the CLI, a workflow step, a schedule):

1. look the pipeline up and structure its parameters (a bad parameter fails here, before
   anything is recorded or run);
2. with an idempotency key already used, return that earlier execution instead (a key reused
   for another pipeline or other parameters is a VALIDATION error);
3. record the execution (``created``); if the pipeline's manifest stage is already reached for
   the partition, record it SKIPPED unless forced;
4. run it under its retry policy, recording ``started`` for every attempt and ``retried`` with
   the classified error and the wait before each new one;
5. record ``completed`` (result, counts, manifest stage advanced) or ``failed`` (classified
   error), and fire ``spine_run_started`` / ``spine_run_finished``.

A failing pipeline never raises out of :meth:`Dispatcher.run`: it returns a FAILED Execution.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_host.json_values import json_safe
from spine_host.orchestration.heartbeat import (
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_STALE_AFTER,
    Heartbeat,
    stale_after_problem,
)
from spine_host.orchestration.liveness import new_owner
from spine_host.pipelines.context import ExecutionContext
from spine_host.pipelines.execution import EventType, Execution, ExecutionStatus
from spine_host.pipelines.manifest import WorkManifest
from spine_host.pipelines.ownership import (
    ExecutionOwnership,
    running_elsewhere,
    update_if_owned,
)
from spine_host.pipelines.params import params_to_json, structure_params
from spine_host.pipelines.registration import partition_key, pipeline_attributes
from spine_host.pipelines.repository import ExecutionRepository
from spine_host.retry import RetryPolicy
from spine_host.storage.fencing import Fence, fenced
from spine_host.storage.types import utc_now

if TYPE_CHECKING:
    from spine_host.host import Host
    from spine_host.pipelines.pipeline import Pipeline
    from spine_host.pipelines.registration import FunctionPipeline

__all__ = ["DEFAULT_PARTITION", "DEFAULT_PARTITION_WAIT", "Dispatcher"]

#: The partition of a pipeline that declares a manifest stage but no partition.
DEFAULT_PARTITION = "default"

#: Seconds a run waits for another live run of the same pipeline partition to finish.
DEFAULT_PARTITION_WAIT = 60.0
_PARTITION_POLL = 0.25

#: Without a policy from the caller or the pipeline, a run is attempted once.
_RUN_ONCE = RetryPolicy(max_attempts=1)


class Dispatcher:
    """Runs registered pipelines with lineage, history, manifest skips and retries.

    Args:
        host: gives the pipeline registry, storage, the error classifier and event hooks.
        clock: the current time (aware UTC); tests pass a fixed one.
        sleep: how to wait between attempts; ``time.sleep`` by default.
    """

    def __init__(
        self,
        host: Host,
        *,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], object] = time.sleep,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        stale_after: float = DEFAULT_STALE_AFTER,
        partition_wait: float = DEFAULT_PARTITION_WAIT,
    ) -> None:
        problem = stale_after_problem(stale_after, heartbeat_interval)
        if problem is not None:
            raise SpineError(f"stale_after: {problem}", category=ErrorCategory.CONFIG)
        self.host = host
        self.clock = clock
        self.sleep = sleep
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.partition_wait = partition_wait

    @property
    def executions(self) -> ExecutionRepository:
        """The execution history this dispatcher writes."""
        return ExecutionRepository(self.host.storage)

    def run(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        context: ExecutionContext | None = None,
        idempotency_key: str | None = None,
        force: bool = False,
        retry_policy: RetryPolicy | None = None,
        owner: str | None = None,
        partition_wait: float | None = None,
    ) -> Execution:
        """Run pipeline ``name`` once (with retries) and return its recorded execution.

        Args:
            name: the registered pipeline name.
            params: raw parameters (strings from the CLI or typed values); never modified.
            context: lineage (execution id, batch, parent); a new root context when omitted.
            idempotency_key: a key already used returns that execution instead of running;
                reusing it for another pipeline or other parameters raises VALIDATION.
            force: run even when the pipeline's manifest stage is already reached.
            retry_policy: overrides the pipeline's own policy (default: one attempt).
            owner: who runs it (a workflow runner passes its own); a new owner by default.
            partition_wait: seconds to wait while another live execution works on the same
                pipeline partition (default: the dispatcher's ``partition_wait``).

        Raises:
            SpineError: CONFIG for an unknown pipeline, VALIDATION for bad parameters (before
                anything is recorded) or an idempotency key already used for other work,
                DEPENDENCY while the same key or partition is being run by a live execution
                (after waiting ``partition_wait`` for a partition), STORAGE when history cannot
                be written. A failure of the pipeline itself is
                returned as a FAILED execution, never raised.
        """
        pipeline = self.host.registries.pipelines.get(name)
        described = pipeline_attributes(pipeline)
        typed_params = structure_params(name, described.Params, params or {})
        json_params = params_to_json(typed_params)
        ownership = ExecutionOwnership(self.host.storage, stale_after=self.stale_after)
        if idempotency_key is not None:
            earlier = self._earlier(ownership, idempotency_key, name, json_params)
            if earlier is not None:
                return earlier
        partition = partition_key(pipeline, typed_params)
        if described.stage is not None and partition is None:
            partition = DEFAULT_PARTITION
        context = attrs.evolve(
            context or ExecutionContext.root(self.host),
            pipeline=name,
            domain=described.domain,
            partition_key=partition,
        )
        owner = owner or new_owner()
        created = self.clock()
        execution = Execution(
            execution_id=context.execution_id,
            pipeline=name,
            status=ExecutionStatus.PENDING,
            params=json_params,
            batch_id=context.batch_id,
            parent_execution_id=context.parent_execution_id,
            triggered_by=context.triggered_by,
            idempotency_key=idempotency_key,
            partition_key=partition,
            owner=owner,
            heartbeat_at=created,
            created_at=created,
        )
        try:
            execution = self._claim(ownership, execution, partition_wait)
        except SpineError:
            # Another caller inserted the same idempotency key between our check and our insert:
            # the unique index decided, and theirs is the execution.
            if idempotency_key is not None:
                earlier = self._earlier(ownership, idempotency_key, name, json_params)
                if earlier is not None:
                    return earlier
            raise
        heartbeat = Heartbeat(
            lambda: ownership.heartbeat(execution.execution_id, owner),
            owner,
            self.heartbeat_interval,
            label=f"execution {execution.execution_id}",
        ).start()
        fence = Fence(
            f"execution {execution.execution_id} of pipeline {name!r}",
            [ownership.fence_check(execution.execution_id, owner)],
        )
        try:
            with fenced(fence):
                run = _Run(
                    self,
                    ownership.repository,
                    pipeline,
                    described,
                    context,
                    execution,
                    typed_params,
                )
                if not force and run.stage_reached():
                    return run.skip()
                return run.execute(retry_policy or described.retry_policy or _RUN_ONCE)
        finally:
            heartbeat.stop()

    def _earlier(
        self,
        ownership: ExecutionOwnership,
        key: str,
        pipeline: str,
        params: Mapping[str, Any],
    ) -> Execution | None:
        """The execution that already answers idempotency key ``key``, or None to run anew.

        A finished one (COMPLETED, SKIPPED, FAILED) is the answer. One still running raises
        DEPENDENCY (it is running elsewhere; this run must not report its work as done); one
        whose owner is gone is reaped first. A crashed or timed-out one frees its key, so the
        work runs again. A key reused for other work raises VALIDATION.
        """
        earlier = ownership.repository.by_idempotency_key(key)
        if earlier is None:
            return None
        _same_request(earlier, key, pipeline, params)
        if not earlier.status.terminal:
            if not ownership.crash_if_abandoned(earlier):
                raise running_elsewhere(earlier, f"idempotency key {key!r}")
            earlier = ownership.repository.get(earlier.execution_id) or earlier
        if not earlier.status.let_go:
            return earlier
        ownership.release_key(earlier)
        return None

    def _claim(
        self, ownership: ExecutionOwnership, execution: Execution, wait: float | None
    ) -> Execution:
        """Insert ``execution``, waiting up to ``wait`` seconds for its partition to be free.

        Returns it as inserted (its creation time and first heartbeat are those of the claim
        that succeeded, so a long wait does not insert a row that already looks stale). On
        SQLite a running load may hold the database's write lock for the whole wait: that
        counts as the partition being busy, not as a failure.
        """
        wait = self.partition_wait if wait is None else wait
        deadline = time.monotonic() + wait
        what = f"partition {execution.partition_key!r} of pipeline {execution.pipeline!r}"
        while True:
            now = self.clock()
            claimed = attrs.evolve(execution, created_at=now, heartbeat_at=now)
            try:
                holder = ownership.claim(_created_row(claimed), at=now)
            except SpineError as exc:
                if not exc.context.get("database_locked"):
                    raise
                if time.monotonic() >= deadline:
                    raise SpineError(
                        f"{what}: waited {wait:g}s, and another writer kept the database "
                        "locked all along (a load still running?); run again once it finished",
                        category=ErrorCategory.DEPENDENCY,
                        retryable=True,
                        cause=exc,
                    ) from exc
                continue
            if holder is None:
                return claimed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise running_elsewhere(holder, what)
            time.sleep(min(_PARTITION_POLL, remaining))


class _Run:
    """One execution in progress: its rows, events and hook calls."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        repository: ExecutionRepository,
        pipeline: Pipeline,
        described: FunctionPipeline,
        context: ExecutionContext,
        execution: Execution,
        params: Any,
    ) -> None:
        self.host = dispatcher.host
        self.clock = dispatcher.clock
        self.sleep = dispatcher.sleep
        self.repository = repository
        self.pipeline = pipeline
        self.described = described
        self.context = context
        self.execution = execution
        self.params = params
        self.attempt = 0

    def manifest(self) -> WorkManifest:
        return WorkManifest(
            self.host.storage,
            self.described.domain,
            stages=self.described.stages,
            execution_id=self.context.execution_id,
            batch_id=self.context.batch_id,
        )

    def stage_reached(self) -> bool:
        stage, partition = self.described.stage, self.context.partition_key
        if stage is None or partition is None:
            return False
        return self.manifest().is_at_least(partition, stage)

    def skip(self) -> Execution:
        now = self.clock()
        reason = (
            f"partition {self.context.partition_key!r} of {self.described.domain!r} has already "
            f"reached stage {self.described.stage!r}; run with force to run it again"
        )
        result = {"skipped": True, "reason": reason}
        with self.repository.storage.transaction():
            self._update(
                status=ExecutionStatus.SKIPPED.value,
                finished_at=now,
                result_data=result,
            )
            self.repository.add_event(
                self.execution.execution_id, EventType.SKIPPED, message=reason, at=now
            )
        return attrs.evolve(
            self.execution, status=ExecutionStatus.SKIPPED, result=result, finished_at=now
        )

    def execute(self, policy: RetryPolicy) -> Execution:
        started = self.clock()
        self._update(status=ExecutionStatus.RUNNING.value, started_at=started)
        self.execution = attrs.evolve(
            self.execution, status=ExecutionStatus.RUNNING, started_at=started
        )
        self.host.notify("spine_run_started", run=self.execution)
        try:
            result = policy.call(
                self._attempt, on_retry=self._retried, sleep=self.sleep, classifier=self._classify
            )
            finished = self._complete(result)
        except SpineError as error:
            finished = self._fail(error)
        except BaseException as exc:  # interrupted (Ctrl-C): leave no execution RUNNING
            self._fail(
                SpineError(
                    f"interrupted by {type(exc).__name__}",
                    category=ErrorCategory.INTERNAL,
                    cause=exc,
                )
            )
            raise
        self.host.notify("spine_run_finished", run=finished)
        return finished

    def _update(self, **values: Any) -> None:
        """Change this execution's row while it is still open under its owner (else fenced)."""
        update_if_owned(
            self.repository.storage, self.execution.execution_id, self.execution.owner, **values
        )

    def _attempt(self) -> Any:
        self.attempt += 1
        self.repository.add_event(
            self.execution.execution_id, EventType.STARTED, attempt=self.attempt, at=self.clock()
        )
        return self.pipeline.run(self.context, self.params)

    def _retried(self, attempt: int, error: SpineError, delay: float) -> None:
        self.repository.add_event(
            self.execution.execution_id,
            EventType.RETRIED,
            attempt=attempt,
            message=f"attempt {attempt} failed ({error.category.value}): {error.message}; "
            f"retrying in {delay:.3g}s",
            details={"error": error.to_dict(), "delay_seconds": delay},
            at=self.clock(),
        )

    def _classify(self, exc: BaseException) -> SpineError:
        return self.host.classify(exc)

    def _complete(self, result: Any) -> Execution:
        safe = json_safe(result)
        execution = attrs.evolve(
            self.execution,
            status=ExecutionStatus.COMPLETED,
            result=safe,
            attempts=self.attempt,
        )
        stage, partition = self.described.stage, self.context.partition_key
        if stage is not None and partition is not None:
            self.manifest().advance_to(
                partition,
                stage,
                row_count=execution.rows_out,
                metrics={
                    "rows_in": execution.rows_in,
                    "rows_out": execution.rows_out,
                    "rows_rejected": execution.rows_rejected,
                },
            )
        now = self.clock()
        with self.repository.storage.transaction():
            self._update(
                status=ExecutionStatus.COMPLETED.value,
                finished_at=now,
                attempts=self.attempt,
                result_data=safe,
            )
            self.repository.add_event(
                execution.execution_id, EventType.COMPLETED, attempt=self.attempt, at=now
            )
        return attrs.evolve(execution, finished_at=now)

    def _fail(self, error: SpineError) -> Execution:
        now = self.clock()
        attempts = self.attempt
        with self.repository.storage.transaction():
            self._update(
                status=ExecutionStatus.FAILED.value,
                finished_at=now,
                attempts=attempts,
                error=error.to_dict(),
                error_category=error.category.value,
            )
            self.repository.add_event(
                self.execution.execution_id,
                EventType.FAILED,
                attempt=self.attempt or None,
                message=f"{error.category.value}: {error.message}",
                details={"error": error.to_dict()},
                at=now,
            )
        return attrs.evolve(
            self.execution,
            status=ExecutionStatus.FAILED,
            error=error,
            attempts=attempts,
            finished_at=now,
        )


def _same_request(
    earlier: Execution, key: str, pipeline: str, params: Mapping[str, Any]
) -> Execution:
    """``earlier`` when it ran ``pipeline`` with ``params``; a key reused for other work fails.

    Returning the earlier execution of a different pipeline or parameters would report work
    that was never done as done, so the reuse is refused as the caller's mistake.
    """
    if earlier.pipeline == pipeline and _canonical(earlier.params) == _canonical(params):
        return earlier
    raise SpineError(
        f"idempotency key {key!r} was already used by execution {earlier.execution_id} of "
        f"pipeline {earlier.pipeline!r} with params {_canonical(earlier.params)}; this run is "
        f"pipeline {pipeline!r} with params {_canonical(params)}: use a new key",
        category=ErrorCategory.VALIDATION,
        context={
            "idempotency_key": key,
            "execution_id": earlier.execution_id,
            "pipeline": earlier.pipeline,
            "params": dict(earlier.params),
        },
    )


def _canonical(params: Mapping[str, Any]) -> str:
    # The stored params went through the database's JSON column: compare their text form so
    # that key order and tuple-versus-list make no difference.
    return json.dumps(json_safe(dict(params)), sort_keys=True, separators=(",", ":"))


def _created_row(execution: Execution) -> dict[str, Any]:
    return {
        "execution_id": execution.execution_id,
        "pipeline": execution.pipeline,
        "params": execution.params,
        "status": execution.status.value,
        "idempotency_key": execution.idempotency_key,
        "batch_id": execution.batch_id,
        "parent_execution_id": execution.parent_execution_id,
        "triggered_by": execution.triggered_by,
        "partition_key": execution.partition_key,
        "owner": execution.owner,
        "heartbeat_at": execution.heartbeat_at,
        "attempts": 0,
    }
