"""The Celery application spine's runners and workers share: settings, the task, broker checks.

Both sides build it from the same ``[executors.celery]`` table (:class:`CeleryConfig`), so the
runner publishes where the workers consume. The settings that matter for spine:

- ``task_acks_late`` and ``task_reject_on_worker_lost``: a message is acknowledged when its
  attempt ended, and handed back to the broker when a pool process dies under it. spine does
  not rely on that redelivery (with Redis it can take the visibility timeout, an hour by
  default): a worker heartbeats its attempt in spine's database, the runner records a silent
  attempt CRASHED and retries it by the step's policy, and a redelivered message finds its
  attempt claimed or ended and does nothing;
- ``worker_prefetch_multiplier = 1``: a worker holds no more messages than it has processes,
  so a long step does not sit on work another worker could start;
- JSON only: a step reference and its outcome are JSON (never pickle, never a closure);
- short connection timeouts and few publish retries: a broker that is down makes a submit, a
  ``spine doctor`` check or ``spine worker`` fail within ``connect_timeout`` naming it (its
  password masked), instead of retrying for minutes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from spine_celery.config import broker_scheme
from spine_host.errors import ErrorCategory, SpineError

if TYPE_CHECKING:
    from celery import Celery  # type: ignore[import-untyped]

    from spine_celery.config import CeleryConfig
    from spine_host.orchestration.step_ref import StepRef

__all__ = [
    "TASK_NAME",
    "broker_unreachable",
    "celery_app",
    "check_broker",
    "check_result_backend",
    "close_app",
    "publish_failed",
]

log = logging.getLogger(__name__)

#: The one task spine sends: ``spine.run_attempt(step_ref_json) -> outcome_json``.
TASK_NAME = "spine.run_attempt"

# The runner retries publishing (and reaching the result backend) once, quickly: it would
# rather record the attempt FAILED, and retry it by policy later, than block on a broker that
# is gone.
_PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def celery_app(
    config: CeleryConfig, *, worker: bool = False, spine_config: str | None = None
) -> Celery:
    """A Celery app for ``config`` with the ``spine.run_attempt`` task registered.

    ``worker``: the app of ``spine worker``, which builds its spine host from ``spine_config``
    and keeps Celery's patient reconnection once it runs; the runner's side gives up on the
    result backend quickly, as it does on the broker.
    """
    from celery import Celery

    from spine_celery.task import register_task

    app = Celery(
        "spine", broker=config.broker_url, backend=config.backend_url, set_as_current=False
    )
    app.conf.update(_settings(config, worker=worker, spine_config=spine_config))
    register_task(app)
    return app


def close_app(app: Celery) -> None:
    """Close the connections ``app`` opened in this thread (best effort: they are being let
    go of either way)."""
    backend = app.backend
    consumer = getattr(backend, "result_consumer", None)
    pool = getattr(getattr(backend, "client", None), "connection_pool", None)
    for close in (getattr(consumer, "stop", None), getattr(pool, "disconnect", None), app.close):
        if close is None:
            continue
        try:
            close()
        except Exception as exc:
            log.debug("closing Celery connections: %s", exc)


def check_broker(app: Celery, config: CeleryConfig) -> None:
    """Connect to the broker once, within ``connect_timeout``; a SpineError naming it if not."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=0, timeout=config.connect_timeout)
    except Exception as exc:
        raise broker_unreachable(config, exc) from None


def check_result_backend(app: Celery, config: CeleryConfig) -> None:
    """Read from the result backend once; a SpineError naming it if it does not answer.

    ``rpc://`` answers travel through the broker, so :func:`check_broker` covers it.
    """
    if config.backend_url.startswith("rpc://"):
        return
    try:
        app.backend.get_task_meta("spine-health-check")
    except Exception as exc:
        raise SpineError(
            f"the Celery result backend {config.backend_label} did not answer: "
            f"{_reason(exc, config)}",
            category=ErrorCategory.DEPENDENCY,
            retryable=True,
            context={"result_backend": config.backend_label},
        ) from None


def publish_failed(config: CeleryConfig, ref: StepRef, exc: BaseException) -> SpineError:
    """The error of an attempt the broker did not take (or whose answer could not be awaited)."""
    return SpineError(
        f"could not send {ref.label} through the Celery broker {config.broker_label} "
        f"(answers from {config.backend_label}): {_reason(exc, config)}",
        category=ErrorCategory.DEPENDENCY,
        retryable=True,
        context={"broker_url": config.broker_label, "result_backend": config.backend_label},
    )


def broker_unreachable(config: CeleryConfig, exc: BaseException) -> SpineError:
    """The error of a broker that could not be reached."""
    return SpineError(
        f"the Celery broker {config.broker_label} is unreachable: {_reason(exc, config)}",
        category=ErrorCategory.DEPENDENCY,
        retryable=True,
        context={"broker_url": config.broker_label},
    )


def _reason(exc: BaseException, config: CeleryConfig) -> str:
    """The driver's message, with the URLs' passwords masked wherever it quotes them."""
    from urllib.parse import unquote, urlsplit

    from spine_host.redaction import Redactor

    passwords: list[str] = []
    for url in (config.broker_url, config.backend_url):
        try:
            password = urlsplit(url).password
        except ValueError:  # an unparsable port: nothing to learn from it
            password = None
        if password:
            passwords.extend({password, unquote(password)})
    # Celery wraps a refused connection in "Retry limit exceeded...": the first cause says why.
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = " ".join(str(exc).split()) or type(exc).__name__
    return Redactor(passwords).redact(text)


def _settings(config: CeleryConfig, *, worker: bool, spine_config: str | None) -> dict[str, Any]:
    timeout = config.connect_timeout
    settings: dict[str, Any] = {
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": config.queue,
        "result_expires": config.result_expires,
        "broker_connection_timeout": timeout,
        "broker_connection_retry_on_startup": False,
        "task_publish_retry": True,
        "task_publish_retry_policy": _PUBLISH_RETRY,
        # A lost broker connection must not cancel running steps: their liveness is spine's
        # (attempt heartbeats in the database), and a redelivery finds the attempt claimed.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # A pool process builds its spine host (plugins loaded) before it reports for work.
        "worker_proc_alive_timeout": 60.0,
        "redis_socket_connect_timeout": timeout,
        # print() in a step goes to the worker's stdout, as it goes to the runner's with the
        # local executor; what a step logs is kept with its attempt either way.
        "worker_redirect_stdouts": False,
        "spine_config": spine_config,
    }
    transport: dict[str, Any] = {}
    if broker_scheme(config.broker_url) in ("redis", "rediss", "sentinel"):
        transport["socket_connect_timeout"] = timeout
    if not worker:
        # Connecting for a publish (kombu's default: retry for seconds) and reconnecting to
        # the result backend (Celery's: twenty tries, a second apart) are tried twice.
        transport.update(_PUBLISH_RETRY)
        settings["result_backend_transport_options"] = {"retry_policy": _PUBLISH_RETRY}
    if transport:
        settings["broker_transport_options"] = transport
    return settings
