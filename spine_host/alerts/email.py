"""The builtin ``email`` alert channel: each alert as one email, sent over SMTP.

::

    [alerts.channels.ops-mail]
    type = "email"
    host = "smtp.example.com"
    security = "starttls"           # "ssl" for SMTPS, "none" for a plain relay
    username = "spine"              # log in only when set; then password too
    password = "${SMTP_PASSWORD}"
    sender = "spine@example.com"
    recipients = ["ops@example.com", "data-team@example.com"]
    subject_prefix = "[spine prod]"

What ``send`` keeps to:

- One attempt, one SMTP session: connect, STARTTLS (``security = "starttls"``), log in when
  ``username`` is set, one message to every recipient, QUIT. The alert router retries.
- It never raises for a delivery failure; it returns FAILED with a ``SpineError``:
  cannot connect, connection dropped or a 4xx reply (421, 450, 451, 452) is TRANSIENT and a
  timeout TIMEOUT, both retryable; a refused login (535) is AUTH; a refused sender or recipient
  (550), a server without STARTTLS or AUTH, a certificate that does not verify or an unreadable
  ``ca_bundle`` is CONFIG; any other 5xx reply (the message refused) is VALIDATION. These three
  are not retryable: a person has to change something first.
- SENT when the server accepted the message for at least one recipient; the detail names any it
  refused (a retry would send the others a second copy). ``external_ref`` is the Message-ID.
- The password is in no result, error, repr or log. Server replies are quoted short (code, text,
  ``host:port``), with the password masked should a server echo it back.
- Certificates are verified for ``starttls`` and ``ssl``: against the system's CAs, or only
  against ``ca_bundle`` when it is set. ``verify = false`` turns checking off (a test relay).
- ``smtplib`` and ``ssl`` are imported on the first send, so ``spine --help`` does not pay for
  them.
"""

from __future__ import annotations

import base64
from email.utils import getaddresses, parseaddr
from typing import TYPE_CHECKING, Any

import attrs

from spine_host.alerts.alert import Alert, DeliveryResult, DeliveryStatus
from spine_host.alerts.email_body import alert_message
from spine_host.errors import ErrorCategory, SpineError
from spine_host.redaction import Redactor

if TYPE_CHECKING:
    import smtplib
    import ssl

__all__ = ["EmailChannel"]

# The port each kind of security is served on when the table gives none.
_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


# -- validation of the table (above EmailChannel.Config, which names these) ----------------------
# Messages start with "'key' must": structure() then names the key's TOML path.


def _not_empty(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not value.strip():
        raise ValueError(f"'{attribute.name}' must not be empty")


def _security(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in _DEFAULT_PORTS:
        raise ValueError(f"'security' must be one of {', '.join(_DEFAULT_PORTS)}")


def _port_number(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if not 0 < value < 65536:
        raise ValueError("'port' must be between 1 and 65535")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"'{attribute.name}' must be more than 0 seconds")


def _address(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if "@" not in parseaddr(value)[1]:
        raise ValueError(f"'{attribute.name}' must be an address like spine@example.com")


def _recipient_list(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    expected = 'a list of addresses like ["ops@example.com"]'
    if not isinstance(value, list | tuple) or (
        # The config converter turns a TOML string into a list of its characters; no address
        # is one character long, so a list of them can only be that string.
        len(value) > 1 and all(isinstance(item, str) and len(item) == 1 for item in value)
    ):
        raise ValueError(f"'recipients' must be {expected}, not a string")
    if not value:
        raise ValueError(f"'recipients' must be {expected}, not empty")
    for item in value:
        if not isinstance(item, str) or "@" not in parseaddr(item)[1]:
            raise ValueError(f"'recipients' must be {expected}; {item!r} is not an address")


class EmailChannel:
    """Sends each alert as a multipart email (see :mod:`spine_host.alerts.email_body`).

    Args:
        name: the ``[alerts.channels.NAME]`` name.
        config: the structured table.
    """

    @attrs.frozen(kw_only=True)
    class Config:
        """``[alerts.channels.NAME]`` with ``type = "email"``.

        Args:
            host: the SMTP server.
            security: ``starttls`` (upgrade a plain connection), ``ssl`` (TLS from the first
                byte, SMTPS) or ``none``.
            port: defaults to 587 for ``starttls``, 465 for ``ssl`` and 25 for ``none``.
            username: log in as this user; needs ``password``. No login when unset.
            password: the login's password (a secret: keep it in ``${ENV}``).
            sender: the From address.
            recipients: the To addresses, a list (one message to all of them).
            timeout: seconds for connecting and for each answer.
            verify: verify the server's certificate (``starttls`` and ``ssl``).
            ca_bundle: a PEM file of the CAs to trust instead of the system's (a private CA).
            subject_prefix: put before every subject, as ``[spine prod]``.
        """

        host: str = attrs.field(validator=_not_empty)
        security: str = attrs.field(default="starttls", validator=_security)
        port: int = attrs.field(validator=_port_number)
        username: str | None = attrs.field(default=None, validator=_not_empty)
        password: str | None = attrs.field(default=None, repr=False)
        sender: str = attrs.field(validator=_address)
        recipients: list[str] = attrs.field(validator=_recipient_list)
        timeout: float = attrs.field(default=10.0, validator=_positive)
        verify: bool = True
        ca_bundle: str | None = None
        subject_prefix: str | None = None

        @port.default
        def _default_port(self) -> int:
            # An unknown security value is reported by its own validator, not as a KeyError.
            return _DEFAULT_PORTS.get(self.security, 25)

        def __attrs_post_init__(self) -> None:
            if self.username is not None and self.password is None:
                raise ValueError("'password' must be set when username is (both or neither)")
            if self.password is not None and self.username is None:
                raise ValueError("'username' must be set when password is (both or neither)")

    def __init__(self, name: str, config: Config) -> None:
        self.name = name
        self.config = config

    def __repr__(self) -> str:
        return f"EmailChannel({self.name!r}, {self.config.security} {self._server})"

    def send(self, alert: Alert) -> DeliveryResult:
        """Deliver one alert in one SMTP session; a failure is a FAILED result, never raised."""
        import smtplib

        config = self.config
        message = alert_message(
            alert,
            sender=config.sender,
            recipients=config.recipients,
            subject_prefix=config.subject_prefix,
        )
        envelope_to = [address for _, address in getaddresses(config.recipients)]
        smtp: smtplib.SMTP | None = None
        stage = "loading ca_bundle"
        try:
            context = self._tls_context()
            stage = "connecting"
            if config.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    config.host, config.port, timeout=config.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            if config.security == "starttls":
                stage = "starting TLS"
                smtp.starttls(context=context)
            if config.username is not None:
                stage = "logging in"
                smtp.login(config.username, config.password or "")
            stage = "sending"
            refused = smtp.send_message(
                message, from_addr=parseaddr(config.sender)[1], to_addrs=envelope_to
            )
        # smtplib's and ssl's exceptions are OSErrors; ValueError covers what smtplib cannot
        # encode (a non-ASCII password, say).
        except (OSError, ValueError) as exc:
            return self._failed(self._error(exc, stage))
        finally:
            if smtp is not None:
                _quit_quietly(smtp)
        accepted = len(envelope_to) - len(refused)
        detail = f"sent to {accepted} recipient{'' if accepted == 1 else 's'}"
        if refused:
            detail = (
                f"sent to {accepted} of {len(envelope_to)} recipients; "
                f"refused: {self._mask(_refusals(refused))}"
            )
        return DeliveryResult(
            channel=self.name,
            status=DeliveryStatus.SENT,
            detail=detail,
            external_ref=message["Message-ID"],
        )

    @property
    def _server(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def _tls_context(self) -> ssl.SSLContext | None:
        import ssl

        if self.config.security == "none":
            return None
        if not self.config.verify:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=self.config.ca_bundle)

    def _error(self, exc: Exception, stage: str) -> SpineError:
        category, reason, code = _classify(exc, stage, self.config)
        context: dict[str, Any] = {
            "host": self.config.host,
            "port": self.config.port,
            "stage": stage,
            "exception": type(exc).__name__,
        }
        if code is not None:
            context["smtp_code"] = code
        return SpineError(
            self._mask(f"SMTP {self._server}, {stage}: {reason}"),
            category=category,
            context=context,
        )

    def _failed(self, error: SpineError) -> DeliveryResult:
        return DeliveryResult(
            channel=self.name, status=DeliveryStatus.FAILED, detail=error.message, error=error
        )

    def _mask(self, text: str) -> str:
        """``text`` with the password masked, also in the base64 forms SMTP AUTH sends it in."""
        password = self.config.password
        if not password:
            return text
        plain = f"\0{self.config.username or ''}\0{password}"
        encoded = [base64.b64encode(form.encode()).decode() for form in (password, plain)]
        return Redactor([password, *encoded]).redact(text)


def _classify(
    exc: Exception, stage: str, config: EmailChannel.Config
) -> tuple[ErrorCategory, str, int | None]:
    """The category, a short reason for people and the SMTP reply code, if any."""
    import smtplib
    import ssl

    if stage == "loading ca_bundle":
        reason = f"cannot load ca_bundle {config.ca_bundle}: {_os_reason(exc)}"
        return ErrorCategory.CONFIG, reason, None
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = all(400 <= code < 500 for code in codes)
        reason = f"every recipient refused: {_refusals(exc.recipients)}"
        return (ErrorCategory.TRANSIENT if transient else ErrorCategory.CONFIG), reason, max(codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        reason = f"{code} {_reply_text(exc.smtp_error)}"
        return _reply_category(exc, code), reason, code
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib turns a read that timed out into "connection unexpectedly closed".
        if isinstance(exc.__context__, TimeoutError):
            return ErrorCategory.TIMEOUT, f"no answer within {config.timeout:g}s", None
        return ErrorCategory.TRANSIENT, "the server closed the connection", None
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ErrorCategory.CONFIG, f"{exc}{_NOT_SUPPORTED_HINTS.get(stage, '')}", None
    if isinstance(exc, smtplib.SMTPException):
        return ErrorCategory.CONFIG, str(exc), None
    if isinstance(exc, ssl.SSLCertVerificationError):
        hint = "" if config.ca_bundle else "; set ca_bundle to the CA file that signed it"
        return ErrorCategory.CONFIG, f"certificate not trusted: {exc.verify_message}{hint}", None
    if isinstance(exc, ssl.SSLError):
        reason = f"TLS failed: {exc.reason or exc} (is {config.port} a {config.security} port?)"
        return ErrorCategory.CONFIG, reason, None
    if isinstance(exc, TimeoutError):
        return ErrorCategory.TIMEOUT, f"no answer within {config.timeout:g}s", None
    if isinstance(exc, OSError):
        # Refused, reset, unreachable, a name that does not resolve (yet): worth another try.
        return ErrorCategory.TRANSIENT, _os_reason(exc), None
    return ErrorCategory.CONFIG, f"{type(exc).__name__}: {exc}", None


_NOT_SUPPORTED_HINTS = {
    "starting TLS": ' (security = "ssl" for SMTPS, "none" for a plain relay)',
    "logging in": ' (servers often offer AUTH only over TLS: security = "starttls" or "ssl")',
}

# Refused logins: 530 authentication required, 534 mechanism too weak, 535 bad credentials.
_AUTH_CODES = frozenset({530, 534, 535})


def _reply_category(exc: smtplib.SMTPResponseException, code: int) -> ErrorCategory:
    import smtplib

    if 400 <= code < 500:
        return ErrorCategory.TRANSIENT
    if isinstance(exc, smtplib.SMTPAuthenticationError) or code in _AUTH_CODES:
        return ErrorCategory.AUTH
    # A refused sender, a server that refuses to serve us at all, 538 encryption required.
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPConnectError) or code == 538:
        return ErrorCategory.CONFIG
    if 500 <= code < 600:
        return ErrorCategory.VALIDATION
    # Not an SMTP reply at all (a stray banner, -1 for garbage): another try may meet a sane one.
    return ErrorCategory.TRANSIENT


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{address} ({code} {_reply_text(reply)})" for address, (code, reply) in refused.items()
    )


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    text = " ".join(text.split())
    return text if len(text) <= 200 else f"{text[:199]}…"


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    # The message is delivered (or the failure recorded) by now: a QUIT that fails changes
    # neither, and must not turn a SENT into a retry that mails everyone twice.
    try:
        smtp.quit()
    except (OSError, ValueError):
        smtp.close()
