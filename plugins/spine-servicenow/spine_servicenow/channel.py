"""The ``servicenow`` alert channel: one incident per problem, found again by correlation id.

The alert's ``dedup_key`` is the incident's ``correlation_id``, so repeats of one problem land on
one incident:

- a failure with no open incident opens one, impact and urgency from the severity;
- a failure while one is open adds a work note to it instead of opening a second;
- a recovery notice resolves the open incident; with none open there is nothing to resolve and
  the notice is SENT without creating one.

What the code keeps:

- ``send`` makes one attempt (one lookup, at most one write) and never raises for a delivery
  failure: it returns FAILED with the classified ``SpineError``, and the router retries the
  retryable ones, waiting at least the server's ``Retry-After``.
- A retry is safe: it looks the incident up again, so a create whose answer was lost becomes a
  work note on that incident, not a duplicate.
- ``password`` and ``token`` appear in no result, message, context or ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
from spine_host.errors import SpineError
from spine_servicenow.incident import correlation_id, new_incident, occurrence_note, resolution
from spine_servicenow.incident_table import IncidentRef, IncidentTable

if TYPE_CHECKING:
    from requests import PreparedRequest

__all__ = ["ServiceNowChannel"]


class ServiceNowChannel:
    """Opens, updates and resolves incidents through the Table API of ``instance_url``.

    Args:
        name: the ``[alerts.channels.NAME]`` name.
        config: the structured table.
    """

    @attrs.frozen(kw_only=True)
    class Config:
        """``[alerts.channels.NAME]`` with ``type = "servicenow"``.

        Give either ``username`` and ``password`` (basic auth) or ``token`` (an OAuth bearer
        token), not both.

        Args:
            instance_url: ``https://INSTANCE.service-now.com``.
            username: the integration user, for basic auth.
            password: its password (a secret: keep it in ``${ENV}``).
            token: an OAuth access token, instead of username and password (a secret).
            assignment_group: the group new incidents are assigned to (sys_id or name).
            caller_id: the user new incidents are raised for (sys_id or user name).
            category: the category of new incidents (``software``, say).
            resolved_state: the ``state`` value that resolves an incident.
            close_code: the resolution code set when a recovery resolves an incident.
            timeout: seconds for connecting and for each answer.
            verify: verify TLS certificates.
            ca_bundle: a CA bundle file to verify against.
        """

        instance_url: str = attrs.field()
        username: str | None = None
        password: str | None = attrs.field(default=None, repr=False)
        token: str | None = attrs.field(default=None, repr=False)
        assignment_group: str | None = None
        caller_id: str | None = None
        category: str | None = None
        resolved_state: str = "6"
        close_code: str = "Solution provided"
        timeout: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
        verify: bool = True
        ca_bundle: str | None = None

        @instance_url.validator
        def _check_instance_url(self, _: attrs.Attribute[str], value: str) -> None:
            parts = urlsplit(value)
            # A user or password in the URL would be shown wherever the config is: not allowed.
            if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
                # "'name' must ..." is how the host recognises which key to point at.
                raise ValueError(
                    "'instance_url' must look like https://INSTANCE.service-now.com "
                    "(credentials go in username and password, or token)"
                )

        @token.validator
        def _check_one_auth_mode(self, _: attrs.Attribute[str | None], __: object) -> None:
            # Runs once every field is set, so it sees the username and password too. The host
            # shows the table (credentials masked) before the message.
            basic = bool(self.username or self.password)
            if basic and self.token:
                raise ValueError(
                    "give username and password (basic auth) or token (OAuth bearer), not both"
                )
            if not basic and not self.token:
                raise ValueError(
                    "no credentials: give username and password (basic auth) "
                    "or token (OAuth bearer)"
                )
            if basic and not self.password:
                raise ValueError("username given without password: basic auth needs both")
            if basic and not self.username:
                raise ValueError("password given without username: basic auth needs both")

    def __init__(self, name: str, config: Config) -> None:
        self.name = name
        self.config = config

    def send(self, alert: Alert) -> DeliveryResult:
        """Open, note or resolve the alert's incident; a failure is a FAILED result."""
        import requests

        with requests.Session() as session:
            session.auth = self._auth()
            session.verify = self._verify()
            table = IncidentTable(
                session,
                self.config.instance_url,
                timeout=self.config.timeout,
                secrets=[secret for secret in (self.config.password, self.config.token) if secret],
            )
            try:
                return self._deliver(alert, table)
            except SpineError as error:
                return DeliveryResult(
                    channel=self.name,
                    status=DeliveryStatus.FAILED,
                    detail=error.message,
                    error=error,
                )

    def _deliver(self, alert: Alert, table: IncidentTable) -> DeliveryResult:
        incident = table.find_open(correlation_id(alert), resolved_state=self.config.resolved_state)
        if alert.recovery:
            if incident is None:
                return self._sent(f"no open incident for {alert.dedup_key}")
            fields = resolution(
                alert, state=self.config.resolved_state, close_code=self.config.close_code
            )
            table.update(incident, fields)
            return self._sent(f"{incident.number} resolved", incident)
        if incident is None:
            created = table.create(
                new_incident(
                    alert,
                    assignment_group=self.config.assignment_group,
                    caller_id=self.config.caller_id,
                    category=self.config.category,
                )
            )
            return self._sent(f"incident {created.number} created", created)
        table.update(incident, occurrence_note(alert))
        return self._sent(f"work note added to {incident.number}", incident)

    def _sent(self, detail: str, incident: IncidentRef | None = None) -> DeliveryResult:
        return DeliveryResult(
            channel=self.name,
            status=DeliveryStatus.SENT,
            detail=detail,
            external_ref=incident.number if incident else None,
        )

    def _auth(self) -> tuple[str, str] | Callable[[PreparedRequest], PreparedRequest]:
        """Basic auth, or a bearer header set on each request.

        The bearer token goes through ``auth`` rather than a session header: with no ``auth``,
        requests would apply a ``~/.netrc`` entry for the host over it.
        """
        if self.config.token:
            return _bearer(self.config.token)
        # The Config validator made sure both are set in this mode.
        return (self.config.username or "", self.config.password or "")

    def _verify(self) -> bool | str:
        if self.config.verify and self.config.ca_bundle:
            return self.config.ca_bundle
        return self.config.verify


def _bearer(token: str) -> Callable[[PreparedRequest], PreparedRequest]:
    def authorize(request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    return authorize
