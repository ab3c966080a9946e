"""Every hook a spine plugin can implement. These specs are spine-host's public contract.

Implement a hook with :data:`spine_host.hookimpl` in the module your distribution names under
``[project.entry-points.spine]``::

    from spine_host import hookimpl

    @hookimpl
    def spine_register_sources(register):
        register("prices", PriceSource)

Registration hooks receive a ``register`` callable and call it once per thing they provide; the
host owns the names, so two plugins claiming one name is reported with both named.
``register.lazy(name, "package.module:attribute")`` registers a name without importing the
thing: the target is imported the first time the host uses it (to run, build or describe it),
so listing names, ``spine plugins`` and ``spine --help`` never pay for a plugin's
implementation modules, and a target that cannot be imported is a ``PluginError`` naming the
plugin and the target when it is used. Event hooks are observers: every implementation is
called, and one that raises is logged without silencing the others. ``docs/hooks.md`` is
generated from this module; a test fails when they drift.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Iterable

    import click

    from spine_host.alerts.alert import Alert, DeliveryResult
    from spine_host.alerts.channel import AlertChannel
    from spine_host.errors import SpineError
    from spine_host.host import Host
    from spine_host.orchestration.contracts import (
        Executor,
        RunRecord,
        ScheduleFire,
        ScheduleSpec,
        StepRecord,
        WorkflowSpec,
    )
    from spine_host.pipelines.pipeline import Pipeline
    from spine_host.registry import Register, RegisterNamed
    from spine_host.sources.source import Source
    from spine_host.storage.adapter import StorageFactory
    from spine_host.storage.plugin_tables import PluginTables

PROJECT_NAME = "spine"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------------------------
# Registration: called once when a Host is built, in plugin load order (builtins first).
# ---------------------------------------------------------------------------------------------


@hookspec
def spine_register_storage(register: Register[StorageFactory]) -> None:
    """Provide storage adapters, one per URL scheme.

    :param register: ``register(scheme, adapter_factory, replace=False)`` or
        ``register.lazy(scheme, "package.module:factory", replace=False)``;
        ``adapter_factory(url, **options)`` returns a ``DatabaseAdapter``.

    Called when the host is built; the factory runs when a URL with that scheme is first used.

    Example::

        @hookimpl
        def spine_register_storage(register):
            register("postgresql", PostgresAdapter)
    """


@hookspec
def spine_register_sources(register: Register[type[Source]]) -> None:
    """Provide source types for ``[sources.NAME] type = "..."``.

    :param register: ``register(type_name, source_cls, replace=False)``, or
        ``register.lazy(type_name, "package.module:SourceClass", replace=False)`` to import the
        class when a source of that type is first built; the class declares its configuration
        as an attrs class ``Config``.

    Called when the host is built.

    Example::

        @hookimpl
        def spine_register_sources(register):
            register.lazy("http", "spine_http.source:HttpSource")
    """


@hookspec
def spine_register_alert_channels(register: Register[type[AlertChannel]]) -> None:
    """Provide alert channel types for ``[alerts.channels.NAME] type = "..."``.

    :param register: ``register(type_name, channel_cls, replace=False)``, or
        ``register.lazy(type_name, "package.module:ChannelClass", replace=False)`` to import the
        class when a channel of that type is first built; the class declares its configuration
        as an attrs class ``Config``.

    Called when the host is built.

    Example::

        @hookimpl
        def spine_register_alert_channels(register):
            register.lazy("slack", "spine_slack.channel:SlackChannel")
    """


@hookspec
def spine_register_schedules(register: RegisterNamed[ScheduleSpec]) -> None:
    """Provide schedules defined in code (``spine.toml`` schedules need no plugin).

    :param register: ``register(schedule, replace=False)``; the schedule's ``name`` is its key.
        ``register.lazy(name, "package.module:schedule", replace=False)`` registers the name
        and imports the ``Schedule`` (whose ``name`` must be ``name``) when schedules are read.

    Called when the host is built, before the scheduler computes next fire times.

    Example::

        @hookimpl
        def spine_register_schedules(register):
            register.lazy("otc.weekly", "spine_otc.schedules:weekly")

    or, building the schedule in the hook:


        from spine_host import Schedule

        @hookimpl
        def spine_register_schedules(register):
            register(
                Schedule(
                    "otc.weekly",
                    workflow="otc.weekly_refresh",
                    cron="0 6 * * WED",
                    timezone="America/New_York",
                    params={"week_ending": "{logical_date:%Y-%m-%d}"},
                )
            )

    A bad cron expression or time zone raises ``ConfigError`` when the ``Schedule`` is built;
    build it inside the hook (or in the module a lazy target names), so importing the plugin
    stays cheap.
    """


@hookspec
def spine_register_pipelines(register: Register[Pipeline]) -> None:
    """Provide named pipelines.

    :param register: ``register(name, pipeline, replace=False)``; names are dotted,
        ``domain.name``. ``register.lazy(name, "package.module:pipeline", replace=False)``
        registers the name and imports the module when the pipeline is first run or described
        (``spine pipelines list`` does; ``spine plugins`` and ``spine --help`` do not).

    Called when the host is built.

    Example::

        @hookimpl
        def spine_register_pipelines(register):
            register.lazy("otc.ingest_week", "spine_otc.pipelines:ingest_week")
            register.lazy("otc.check_week", "spine_otc.pipelines:check_week")
    """


@hookspec
def spine_register_workflows(register: RegisterNamed[WorkflowSpec]) -> None:
    """Provide workflows (DAGs of steps).

    :param register: ``register(workflow, replace=False)``; the workflow's ``name`` is its key.
        ``register.lazy(name, "package.module:workflow", replace=False)`` registers the name
        and imports the workflow (whose ``name`` must be ``name``) when it is first used.

    Called when the host is built.

    Example::

        @hookimpl
        def spine_register_workflows(register):
            register.lazy("otc.weekly_refresh", "spine_otc.workflow:weekly_refresh")
    """


@hookspec
def spine_register_executors(register: Register[type[Executor]]) -> None:
    """Provide executors: where workflow steps run.

    :param register: ``register(name, executor_cls, replace=False)`` or
        ``register.lazy(name, "package.module:ExecutorClass", replace=False)``; the builtin is
        ``local``.

    Called when the host is built; the runner builds the executor a run asks for (the
    workflow's ``executor``, or ``--executor``) through ``Host.executor(name)``: with a
    ``from_host(host, name, config)`` classmethod its ``[executors.NAME]`` table is structured
    into its ``Config``, else it is built with no arguments. An executor's ``submit(work)``
    receives a ``StepWork``: an in-process executor calls ``work.run_here()``; one with
    ``remote = True`` sends ``work.ref.to_json()`` (a step reference, never a closure) to a
    worker that runs ``spine_host.orchestration.remote_worker.run_step_ref`` (see
    ``spine_host.orchestration.contracts.Executor`` and spine-celery).

    Example::

        @hookimpl
        def spine_register_executors(register):
            register.lazy("celery", "spine_celery.executor:CeleryExecutor")
    """


@hookspec
def spine_register_tables(register: RegisterNamed[PluginTables]) -> None:
    """Provide the plugin's own tables, so ``spine db upgrade`` creates and migrates them.

    :param register: ``register(PluginTables(name, metadata, migrations=None))``; the name is
        unique among plugins and names the version table ``spine_version_<name>``.
        ``register.lazy(name, "package.module:tables")`` names a module-level ``PluginTables``
        instead, imported (with SQLAlchemy) only when the tables are needed (``spine db``).

    Called when the host is built. ``spine db upgrade`` (and ``--sql``, ``spine db status``)
    covers every installed plugin's tables after spine's own; without ``migrations`` missing
    tables are created from the metadata, with it the plugin's Alembic revision scripts run as
    a lineage of their own. See :mod:`spine_host.storage.plugin_tables`.

    Example::

        @hookimpl
        def spine_register_tables(register):
            from spine_acme.tables import metadata
            register(PluginTables("acme", metadata, migrations_path("spine_acme")))

    or, with ``tables = PluginTables("acme", ...)`` in ``spine_acme/tables.py``::

        @hookimpl
        def spine_register_tables(register):
            register.lazy("acme", "spine_acme.tables:tables")
    """


@hookspec
def spine_register_commands(cli: click.Group) -> None:
    """Add commands to the ``spine`` command line.

    :param cli: the top-level ``spine`` click group; call ``cli.add_command(...)``.

    Called when the CLI lists or resolves its commands (not for ``--version``).

    Example::

        @hookimpl
        def spine_register_commands(cli):
            cli.add_command(otc_group)
    """


@hookspec
def spine_doctor_checks(host: Host) -> Iterable[tuple[str, bool, str]]:
    """Add lines to ``spine doctor``: ``(check, ok, detail)`` for each thing this plugin
    can check (a server it needs, a setting it reads). A failed one makes the doctor exit 1.

    :param host: the configured host (storage, config, registries).

    Called by ``spine doctor``, after its own checks of plugins and configuration. Keep each
    check quick and give its detail without secrets (the doctor masks the
    configuration's secrets too). An implementation that raises is reported as a failed
    check naming the plugin.

    Example::

        @hookimpl
        def spine_doctor_checks(host):
            yield ("web token", True, "SPINE_WEB_TOKEN is set (32 characters)")
    """
    return ()


# ---------------------------------------------------------------------------------------------
# Events: observers. Every implementation is called; one raising is logged, not propagated.
# Each also receives ``host`` (the Host that raised the event) if it names that argument.
# ---------------------------------------------------------------------------------------------


@hookspec
def spine_run_started(run: RunRecord, host: Host) -> None:
    """A workflow or pipeline run has started.

    :param run: the run, with ``run_id`` and ``status``.
    :param host: the host that raised the event (its storage, config and alert router); an
        implementation that does not need it leaves the argument out.

    Called after the run's history row is written, before its first step starts.

    Example::

        @hookimpl
        def spine_run_started(run):
            metrics.increment("runs_started")
    """


@hookspec
def spine_step_finished(run: RunRecord, step: StepRecord, host: Host) -> None:
    """One attempt of one workflow step has ended (completed, failed, skipped, timed out).

    :param run: the run the step belongs to.
    :param step: the attempt, with ``step_name``, ``status`` and ``attempt``.
    :param host: the host that raised the event (its storage, config and alert router); an
        implementation that does not need it leaves the argument out.

    Called after the attempt's history row is written.

    Example::

        @hookimpl
        def spine_step_finished(run, step):
            log.info("%s %s", step.step_name, step.status)
    """


@hookspec
def spine_run_finished(run: RunRecord, host: Host) -> None:
    """A run has reached a terminal state (COMPLETED, FAILED, PARTIAL, CRASHED, ...).

    :param run: the finished run (a workflow run, or a pipeline execution).
    :param host: the host that raised the event (its storage, config and alert router); an
        implementation that does not need it leaves the argument out.

    Called after the final history row is written, also for runs reaped as CRASHED (by the
    one process whose reaping ended the run, so once per run).

    Example::

        @hookimpl
        def spine_run_finished(run):
            if run.status != "COMPLETED":
                page_someone(run)
    """


@hookspec
def spine_alert_delivered(alert: Alert, delivery: DeliveryResult, host: Host) -> None:
    """A channel has tried to deliver an alert, or the router decided it would not.

    :param alert: the alert routed.
    :param delivery: the outcome (SENT, FAILED after retries, THROTTLED, FILTERED).
    :param host: the host that raised the event (its storage, config and alert router); an
        implementation that does not need it leaves the argument out.

    Called once per channel per alert, after the ``alert_deliveries`` row is written.

    Example::

        @hookimpl
        def spine_alert_delivered(alert, delivery):
            audit_log.write(alert.alert_id, delivery.status)
    """


@hookspec
def spine_schedule_fired(fire: ScheduleFire, host: Host) -> None:
    """A schedule fire changed state: CLAIMED, RUNNING, or an outcome (SUCCEEDED, FAILED...).

    :param fire: the fire: ``schedule_name``, ``nominal_time`` (aware UTC), ``status``,
        ``reason`` (why SKIPPED, MISSED or FAILED), ``fired_by`` (``schedule``, ``catch-up``,
        ``run-now``, ``backfill``) and ``run_id`` or ``execution_id`` once its run started.
    :param host: the host that raised the event (its storage, config and alert router); an
        implementation that does not need it leaves the argument out.

    Called on the one process that holds the fire (the replica that won its claim), once per
    state, after the state is recorded in ``schedule_runs``. A MISSED fire is reported once,
    when it is recorded.

    Example::

        @hookimpl
        def spine_schedule_fired(fire):
            if fire.status in ("FAILED", "MISSED"):
                log.warning("%s for %s: %s", fire.schedule_name, fire.nominal_time, fire.reason)
    """


# ---------------------------------------------------------------------------------------------
# Decisions: the first non-None answer wins.
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def spine_classify_error(exc: BaseException) -> SpineError | None:
    """Map an exception a plugin knows (its driver's) to the spine error taxonomy.

    :param exc: any exception raised by a source, a storage adapter, a channel or a step.
    :return: a ``SpineError`` with the right category, or None to let others (and the builtin
        rules) decide.

    Called by ``Host.classify`` before the builtin rules; the first non-None answer wins.

    Example::

        @hookimpl
        def spine_classify_error(exc):
            if getattr(exc, "sqlstate", None) == "40001":
                return SpineError(str(exc), category=ErrorCategory.TRANSIENT, cause=exc)
            return None
    """
