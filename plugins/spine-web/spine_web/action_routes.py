"""The action routes: a confirmation page (GET), then the action itself (POST).

A button on a run or schedule page leads to ``.../confirm/<action>``, which says what will
happen and holds the form; the form POSTs with this browser's CSRF token, the action runs
(:mod:`spine_web.actions`) and the browser is sent (303) to the page that follows it. Without
``--allow-actions`` the guard refuses every POST (403) and the confirmation pages say the
dashboard is read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from spine_web.actions import ActionDone, ActionRefused, Requester, WebActions
from spine_web.context import WebContext, web_context
from spine_web.csrf import csrf_problem

__all__ = ["RUN_ACTIONS", "SCHEDULE_ACTIONS", "confirm_page", "post_action"]

#: Run actions: name -> (button text, what the confirmation says).
RUN_ACTIONS = {
    "resume": (
        "Resume",
        "Re-run the failed, crashed, cancelled and not-started steps of this run, in place; "
        "completed steps are kept.",
    ),
    "retry": ("Retry", "Start a new run of the workflow with the same params, linked to this one."),
    "cancel": (
        "Cancel",
        "Ask the run to stop: no further step starts and the running ones are let go.",
    ),
}
#: Schedule actions: name -> (button text, what the confirmation says).
SCHEDULE_ACTIONS = {
    "run-now": ("Run now", "Run the schedule's target once now, recorded in its history."),
    "pause": ("Pause", "Stop the schedule from firing until it is resumed."),
    "unpause": ("Resume", "Let the schedule fire again from its next fire time."),
}

_MAX_FORM_BYTES = 64 * 1024


def confirm_page(request: Request) -> Response:
    """``/runs/{id}/confirm/{action}`` and ``/schedules/{name}/confirm/{action}``."""
    web = web_context(request)
    kind, target, action = _target(request)
    known = RUN_ACTIONS if kind == "run" else SCHEDULE_ACTIONS
    if action not in known:
        return _message(web, request, "No such action", f"unknown action {action!r}", 404)
    if web.actions is None:
        return _message(
            web,
            request,
            "Read-only",
            "This dashboard was started without --allow-actions: it shows, it does not act.",
            403,
        )
    label, explanation = known[action]
    base = "/runs" if kind == "run" else "/schedules"
    return web.pages.render(
        request,
        "confirm.html",
        {
            "title": f"{label} {kind} {target}?",
            "label": label,
            "kind": kind,
            "target": target,
            "action": action,
            "explanation": explanation,
            "post_url": f"{base}/{target}/{action}",
            "back_url": f"/runs/{target}" if kind == "run" else f"/schedules#schedule-{target}",
            "with_reason": action == "cancel",
        },
        section="runs" if kind == "run" else "schedules",
    )


async def post_action(request: Request) -> Response:
    """``POST /runs/{id}/{action}`` and ``POST /schedules/{name}/{action}``."""
    web = web_context(request)
    kind, target, action = _target(request)
    if web.actions is None:  # the guard refuses first; kept for embedders without it
        return _message(web, request, "Read-only", "actions are not allowed", 403)
    form = await _form(request)
    problem = csrf_problem(request, form)
    if problem is not None:
        return _message(web, request, "Refused", problem, 403)
    work = _work(web.actions, kind, action, target, web.requester(request), form)
    if work is None:
        return _message(web, request, "No such action", f"unknown action {action!r}", 404)
    try:
        done = await run_in_threadpool(work)
    except ActionRefused as refused:
        return _message(web, request, "Not done", refused.message, refused.status_code)
    return RedirectResponse(done.location, status_code=303)


def _work(
    actions: WebActions,
    kind: str,
    action: str,
    target: str,
    who: Requester,
    form: Mapping[str, str],
) -> Callable[[], ActionDone] | None:
    """The call that does ``action`` on ``target``; None for an unknown action."""
    if kind == "run":
        if action == "resume":
            return lambda: actions.resume(target, who)
        if action == "retry":
            return lambda: actions.retry(target, who)
        if action == "cancel":
            return lambda: actions.cancel(target, who, form.get("reason", "").strip() or None)
        return None
    if action == "run-now":
        return lambda: actions.run_now(target, who)
    if action in ("pause", "unpause"):
        return lambda: actions.set_paused(target, who, paused=action == "pause")
    return None


def _target(request: Request) -> tuple[str, str, str]:
    """``(kind, target, action)`` from the path."""
    params = request.path_params
    if "run_id" in params:
        return "run", params["run_id"], params["action"]
    return "schedule", params["name"], params["action"]


async def _form(request: Request) -> dict[str, str]:
    """The url-encoded form of a POST (its first value per field)."""
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return {}
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _message(
    web: WebContext, request: Request, title: str, message: str, status_code: int
) -> Response:
    return web.pages.render(
        request, "message.html", {"title": title, "message": message}, status_code=status_code
    )
