"""The incident table of one ServiceNow instance, through the Table API.

Three calls, each one HTTP request on a session the caller authenticated: find the open
incident for a correlation id (``GET /api/now/table/incident?sysparm_query=...``), create one
(``POST``), update one (``PATCH .../incident/SYS_ID``). A failure raises a classified
:class:`~spine_host.errors.SpineError` (see :mod:`spine_servicenow.http_errors`), never one of
requests' exceptions, and its message names only ``scheme://host`` and the path.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from spine_host.errors import ErrorCategory, SpineError
from spine_servicenow.http_errors import error_for_exception, error_for_status

if TYPE_CHECKING:
    import requests

__all__ = ["TABLE_PATH", "IncidentRef", "IncidentTable"]

TABLE_PATH = "/api/now/table/incident"

# Only what the channel reads back: smaller answers, and no caller or description echoed.
_FIELDS = "sys_id,number"


@attrs.frozen
class IncidentRef:
    """An incident as the channel knows it: its record id and the number people use."""

    sys_id: str
    number: str


class IncidentTable:
    """The ``incident`` table at ``instance_url``.

    Args:
        session: a requests session carrying the credentials and TLS settings.
        instance_url: ``https://INSTANCE.service-now.com``.
        timeout: seconds for connecting and for each answer.
        secrets: values masked out of whatever the instance says back.
    """

    def __init__(
        self,
        session: requests.Session,
        instance_url: str,
        *,
        timeout: float,
        secrets: Collection[str] = (),
    ) -> None:
        self._session = session
        self._base = instance_url.rstrip("/")
        self._shown = _scheme_and_host(instance_url)
        self._timeout = timeout
        self._secrets = tuple(secrets)

    def find_open(self, correlation_id: str, *, resolved_state: str) -> IncidentRef | None:
        """The oldest active incident with ``correlation_id``, or None.

        A resolved incident stays active until it is closed on an out-of-the-box instance, so
        incidents in ``resolved_state`` are skipped too: a new failure after a recovery opens a
        new incident instead of writing on the resolved one.
        """
        query = (
            f"correlation_id={correlation_id}^active=true^state!={resolved_state}"
            "^ORDERBYsys_created_on"
        )
        params = {"sysparm_query": query, "sysparm_limit": "1", "sysparm_fields": _FIELDS}
        records = self._call("GET", params=params)
        if not isinstance(records, list):
            raise self._unreadable("GET", "the result is not a list")
        return self._ref("GET", records[0]) if records else None

    def create(self, fields: Mapping[str, str]) -> IncidentRef:
        """Insert an incident with ``fields``; what the instance numbered it."""
        record = self._call("POST", body=fields, params={"sysparm_fields": _FIELDS})
        return self._ref("POST", record)

    def update(self, incident: IncidentRef, fields: Mapping[str, str]) -> IncidentRef:
        """Change ``fields`` of ``incident`` (a ``work_notes`` value is appended to the journal)."""
        record = self._call(
            "PATCH", f"/{incident.sys_id}", body=fields, params={"sysparm_fields": _FIELDS}
        )
        return self._ref("PATCH", record)

    # -- helpers ---------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        suffix: str = "",
        *,
        params: Mapping[str, str],
        body: Mapping[str, str] | None = None,
    ) -> Any:
        """One request; the ``result`` of its JSON answer."""
        import requests

        request = f"{method} {self._shown}{TABLE_PATH}{suffix}"
        try:
            response = self._session.request(
                method,
                f"{self._base}{TABLE_PATH}{suffix}",
                params=params,
                json=body,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            # `from None`: requests' message holds the full URL; the error keeps its type only.
            raise error_for_exception(exc, request=request) from None
        if not 200 <= response.status_code < 300:
            raise error_for_status(
                response.status_code,
                response.headers,
                request=request,
                said=_error_message(response),
                secrets=self._secrets,
            )
        try:
            return response.json()["result"]
        except (ValueError, KeyError, TypeError):
            # A hibernating developer instance answers 200 with its HTML wake-up page.
            raise self._unreadable(method, "the answer is not a Table API result") from None

    def _ref(self, method: str, record: Any) -> IncidentRef:
        if not isinstance(record, dict):
            raise self._unreadable(method, "the result is not a record")
        sys_id, number = record.get("sys_id"), record.get("number")
        if not (isinstance(sys_id, str) and isinstance(number, str) and sys_id and number):
            raise self._unreadable(method, "the record has no sys_id and number")
        return IncidentRef(sys_id=sys_id, number=number)

    def _unreadable(self, method: str, why: str) -> SpineError:
        request = f"{method} {self._shown}{TABLE_PATH}"
        return SpineError(
            f"{request}: {why} (is instance_url a ServiceNow instance, awake?)",
            category=ErrorCategory.PARSE,
            context={"request": request},
        )


def _scheme_and_host(url: str) -> str:
    """``scheme://host[:port]``: no user, password, path or query."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def _error_message(response: requests.Response) -> str | None:
    """The instance's ``{"error": {"message": ...}}``, when it sent one."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return None
    return message if isinstance(message, str) else None
