"""The builtin ``email`` channel against real SMTP servers (aiosmtpd) on 127.0.0.1.

Three kinds of server: a plain one (most tests), one that requires STARTTLS and a login (the
AlertChannelSuite and the login tests), and an SMTPS one (TLS from the first byte). Their
certificate is a throwaway self-signed one made with the ``openssl`` command.
"""

from __future__ import annotations

import base64
import email
import email.policy
import logging
import os
import socket
import sqlite3
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from spine_host.alerts.alert import DeliveryResult, DeliveryStatus
from spine_host.alerts.email import EmailChannel
from spine_host.config import parse_config
from spine_host.errors import ConfigError, ErrorCategory
from spine_host.host import Host
from spine_host.structuring import structure
from spine_host.testing.conformance.alerts import AlertChannelSuite, sample_alert

USERNAME = "spine"
PASSWORD = "pa55-w0rd-7f1e9c"
RUN_ID = "0123456789abcdef0123456789abcdef"
SPINE = str(Path(sys.executable).with_name("spine"))


# -- servers -------------------------------------------------------------------------------------


@attrs.define
class Delivered:
    """One message as the server took it, with how the session got there."""

    envelope: Envelope
    login: bytes | None
    tls: bool

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        content: str = body.get_content()
        return content


class Inbox:
    """An aiosmtpd handler that keeps every message; ``refuse`` maps a recipient to the reply
    that refuses it, ``data_reply`` refuses every message with that reply."""

    def __init__(self) -> None:
        self.delivered: list[Delivered] = []
        self.refuse: dict[str, str] = {}
        self.data_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        login = session.auth_data.login if session.authenticated else None
        self.delivered.append(Delivered(envelope, login, session.ssl is not None))
        return "250 Message accepted for delivery"

    def texts(self) -> list[str]:
        """Each message as a person reads it: the subject, then the text part."""
        return [f"Subject: {item.message['Subject']}\n\n{item.part('plain')}" for item in self]

    def __iter__(self) -> Iterator[Delivered]:
        return iter(self.delivered)


def accounts(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """The one account the login servers know."""
    known = isinstance(auth_data, LoginPassword) and auth_data == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    # handled=False: aiosmtpd answers a refusal with "535 5.7.8 Authentication credentials invalid".
    return AuthResult(success=known, handled=False, auth_data=auth_data)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(handler: Inbox, **options: Any) -> Iterator[int]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
    names = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert), *names],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def plain_server(inbox: Inbox) -> Iterator[int]:
    with smtp_server(inbox) as port:
        yield port


@pytest.fixture
def starttls_server(inbox: Inbox, certificate: tuple[Path, Path]) -> Iterator[int]:
    """Requires STARTTLS, then a login, before it takes a message."""
    with smtp_server(
        inbox,
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=accounts,
        auth_required=True,
        auth_require_tls=True,
    ) as port:
        yield port


@pytest.fixture
def closed_port() -> int:
    return free_port()


def channel_for(port: int = 25, **options: Any) -> EmailChannel:
    """An email channel built from its TOML table, as the host builds it."""
    table = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "spine@example.com",
        "recipients": ["ops@example.com", "data@example.com"],
        "timeout": 5,
        **options,
    }
    return EmailChannel("mail", structure(table, EmailChannel.Config, "alerts.channels.mail"))


def login_options(certificate: tuple[Path, Path], **options: Any) -> dict[str, Any]:
    return {
        "security": "starttls",
        "ca_bundle": str(certificate[0]),
        "username": USERNAME,
        "password": PASSWORD,
        **options,
    }


def shown(result: DeliveryResult) -> str:
    """Everything a result lets a person or a log see."""
    error = result.error
    return f"{result!r} {result.detail} {error!r} {error.to_dict() if error else ''}"


# -- the channel contract ------------------------------------------------------------------------


class TestEmailChannel(AlertChannelSuite):
    """Over STARTTLS with a login, so the password has somewhere to leak from."""

    @pytest.fixture
    def channel(self, starttls_server: int, certificate: tuple[Path, Path]) -> EmailChannel:
        return channel_for(starttls_server, **login_options(certificate))

    @pytest.fixture
    def received(self, inbox: Inbox) -> Callable[[], list[str]]:
        return inbox.texts

    @pytest.fixture
    def unreachable_channel(self, closed_port: int, certificate: tuple[Path, Path]) -> EmailChannel:
        return channel_for(closed_port, **login_options(certificate))

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [PASSWORD]


# -- what arrives --------------------------------------------------------------------------------


def test_an_alert_arrives_for_every_recipient_as_text_and_html(
    plain_server: int, inbox: Inbox
) -> None:
    result = channel_for(plain_server).send(sample_alert())

    assert (result.status, result.detail) == (DeliveryStatus.SENT, "sent to 2 recipients")
    (delivered,) = inbox
    assert delivered.envelope.mail_from == "spine@example.com"
    assert delivered.envelope.rcpt_tos == ["ops@example.com", "data@example.com"]
    message = delivered.message
    assert message["Subject"] == "[ERROR] workflow conformance.sample FAILED"
    assert message["To"] == "ops@example.com, data@example.com"
    assert message["Message-ID"] == result.external_ref
    assert result.external_ref.endswith("@example.com>")
    assert message["Date"]
    assert message["X-Spine-Dedup-Key"] == "workflow:conformance.sample:FAILED"
    assert message.get_content_type() == "multipart/alternative"
    for subtype in ("plain", "html"):
        body = delivered.part(subtype)
        assert RUN_ID in body
        assert "step load failed: [TRANSIENT] connection reset by peer" in body
        assert "workflow:conformance.sample" in body
        assert "conformance" in body
        assert "TRANSIENT" in body
    text = delivered.part("plain")
    assert "Look further: spine runs show 0123456789abcdef0123456789abcdef" in text
    assert "step:" in text
    assert "attempt:" in text


def test_html_escapes_every_value(plain_server: int, inbox: Inbox) -> None:
    alert = sample_alert(
        title="<script>alert('x')</script> failed",
        message="a < b & c",
        metadata={"<b>key</b>": "<i>value</i>"},
    )

    assert channel_for(plain_server).send(alert).status is DeliveryStatus.SENT

    (delivered,) = inbox
    html = delivered.part("html")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; failed" in html
    assert "a &lt; b &amp; c" in html
    assert "&lt;b&gt;key&lt;/b&gt;" in html
    assert "&lt;i&gt;value&lt;/i&gt;" in html
    assert "<script>" not in html
    assert "<b>" not in html
    assert "<script>alert('x')</script> failed" in delivered.part("plain")


def test_subject_prefix_and_recovery_notice(plain_server: int, inbox: Inbox) -> None:
    channel = channel_for(plain_server, subject_prefix="[spine prod]")

    channel.send(sample_alert())
    channel.send(sample_alert(title="workflow conformance.sample recovered", recovery=True))

    subjects = [item.message["Subject"] for item in inbox]
    assert subjects == [
        "[spine prod] [ERROR] workflow conformance.sample FAILED",
        "[spine prod] [RECOVERED] workflow conformance.sample recovered",
    ]


def test_the_digest_line_and_the_command_for_a_pipeline_run(
    plain_server: int, inbox: Inbox
) -> None:
    from datetime import UTC, datetime

    alert = sample_alert(
        suppressed=9,
        suppressed_since=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        metadata={"run_kind": "pipeline"},
    )

    channel_for(plain_server).send(alert)

    (delivered,) = inbox
    for subtype in ("plain", "html"):
        body = delivered.part(subtype)
        assert "9 similar alerts suppressed since 2026-01-02 03:04:00 UTC" in body
        assert "spine pipelines show 0123456789abcdef0123456789abcdef" in body


def test_a_title_cannot_add_headers_or_recipients(plain_server: int, inbox: Inbox) -> None:
    alert = sample_alert(title="failed\r\nBcc: thief@example.com\nX-Evil: 1")

    assert channel_for(plain_server).send(alert).status is DeliveryStatus.SENT

    (delivered,) = inbox
    assert delivered.envelope.rcpt_tos == ["ops@example.com", "data@example.com"]
    message = delivered.message
    assert message["Bcc"] is None
    assert message["X-Evil"] is None
    assert message["Subject"] == "[ERROR] failed Bcc: thief@example.com X-Evil: 1"


# -- TLS and login -------------------------------------------------------------------------------


def test_starttls_and_login_against_a_private_ca(
    starttls_server: int, inbox: Inbox, certificate: tuple[Path, Path]
) -> None:
    result = channel_for(starttls_server, **login_options(certificate)).send(sample_alert())

    assert result.status is DeliveryStatus.SENT, result
    (delivered,) = inbox
    assert (delivered.tls, delivered.login) == (True, USERNAME.encode())


def test_smtps_with_tls_from_the_first_byte(inbox: Inbox, certificate: tuple[Path, Path]) -> None:
    # The server speaks only TLS, so a delivery at all proves it. aiosmtpd counts only STARTTLS
    # as TLS for auth_require_tls (and session.ssl), hence auth_require_tls=False here.
    with smtp_server(
        inbox,
        ssl_context=server_context(certificate),
        authenticator=accounts,
        auth_require_tls=False,
    ) as port:
        result = channel_for(port, **login_options(certificate, security="ssl")).send(
            sample_alert()
        )

    assert result.status is DeliveryStatus.SENT, result
    assert [item.login for item in inbox] == [USERNAME.encode()]


def test_a_certificate_no_trusted_ca_signed_is_a_config_failure(
    starttls_server: int, inbox: Inbox, certificate: tuple[Path, Path]
) -> None:
    options = login_options(certificate)
    del options["ca_bundle"]

    result = channel_for(starttls_server, **options).send(sample_alert())

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (ErrorCategory.CONFIG, False)
    assert "certificate not trusted" in result.detail
    assert "ca_bundle" in result.detail
    assert list(inbox) == []


def test_verify_false_accepts_any_certificate(
    starttls_server: int, inbox: Inbox, certificate: tuple[Path, Path]
) -> None:
    options = login_options(certificate, verify=False)
    del options["ca_bundle"]

    assert (
        channel_for(starttls_server, **options).send(sample_alert()).status is DeliveryStatus.SENT
    )
    assert len(inbox.delivered) == 1


def test_an_unreadable_ca_bundle_is_a_config_failure(plain_server: int, tmp_path: Path) -> None:
    channel = channel_for(plain_server, security="starttls", ca_bundle=str(tmp_path / "no.pem"))

    result = channel.send(sample_alert())

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (ErrorCategory.CONFIG, False)
    assert f"cannot load ca_bundle {tmp_path / 'no.pem'}" in result.detail


def test_starttls_against_a_server_without_it_is_a_config_failure(plain_server: int) -> None:
    result = channel_for(plain_server, security="starttls").send(sample_alert())

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (ErrorCategory.CONFIG, False)
    assert "STARTTLS" in result.detail


def test_a_wrong_password_is_an_auth_failure_that_shows_no_password(
    starttls_server: int, certificate: tuple[Path, Path]
) -> None:
    wrong = "not-the-pa55word-42"
    channel = channel_for(starttls_server, **login_options(certificate, password=wrong))

    result = channel.send(sample_alert())

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (ErrorCategory.AUTH, False)
    assert result.detail.startswith("SMTP 127.0.0.1:")
    assert "logging in: 535 5.7.8 Authentication credentials invalid" in result.detail
    assert result.error.context["smtp_code"] == 535
    for text in (shown(result), repr(channel), repr(channel.config)):
        assert wrong not in text
        assert base64.b64encode(wrong.encode()).decode() not in text


def test_a_login_over_a_plain_connection_to_a_tls_only_server_fails_cleanly(
    inbox: Inbox, certificate: tuple[Path, Path]
) -> None:
    # No tls_context: the server offers no STARTTLS, and no AUTH without TLS.
    with smtp_server(inbox, authenticator=accounts, auth_require_tls=True) as port:
        channel = channel_for(port, **login_options(certificate, security="none"))
        result = channel.send(sample_alert())

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (ErrorCategory.CONFIG, False)
    assert "logging in: SMTP AUTH extension not supported by server" in result.detail
    assert 'security = "starttls"' in result.detail
    assert PASSWORD not in shown(result)
    assert list(inbox) == []


# -- failures the router retries, and those it does not ------------------------------------------


def test_a_server_that_is_down_is_a_retryable_transient_failure(closed_port: int) -> None:
    result = channel_for(closed_port).send(sample_alert())

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (ErrorCategory.TRANSIENT, True)
    assert result.detail == f"SMTP 127.0.0.1:{closed_port}, connecting: Connection refused"
    assert result.error.context["stage"] == "connecting"


def test_a_server_that_never_answers_is_a_retryable_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # connections complete in the backlog; no greeting ever comes
        result = channel_for(listener.getsockname()[1], timeout=0.3).send(sample_alert())

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (ErrorCategory.TIMEOUT, True)
    assert "no answer within 0.3s" in result.detail


@pytest.mark.parametrize(
    ("reply", "category", "retryable"),
    [
        ("451 4.3.0 Try again later", ErrorCategory.TRANSIENT, True),
        ("554 5.6.0 Message rejected", ErrorCategory.VALIDATION, False),
    ],
)
def test_a_refused_message_is_classified_by_its_reply_code(
    plain_server: int, inbox: Inbox, reply: str, category: ErrorCategory, retryable: bool
) -> None:
    inbox.data_reply = reply

    result = channel_for(plain_server).send(sample_alert())

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (category, retryable)
    assert result.detail.endswith(f"sending: {reply}")
    assert result.error.context["smtp_code"] == int(reply[:3])


def test_every_recipient_refused_with_550_is_not_retryable(plain_server: int, inbox: Inbox) -> None:
    inbox.refuse = {
        "ops@example.com": "550 5.1.1 <ops@example.com>: mailbox unavailable",
        "data@example.com": "550 5.1.1 <data@example.com>: mailbox unavailable",
    }

    result = channel_for(plain_server).send(sample_alert())

    assert result.status is DeliveryStatus.FAILED
    assert (result.error.category, result.error.retryable) == (ErrorCategory.CONFIG, False)
    assert "every recipient refused: ops@example.com (550 5.1.1" in result.detail


def test_every_recipient_busy_with_452_is_retryable(plain_server: int, inbox: Inbox) -> None:
    busy = "452 4.2.2 Mailbox full, try later"
    inbox.refuse = {"ops@example.com": busy, "data@example.com": busy}

    result = channel_for(plain_server).send(sample_alert())

    assert (result.error.category, result.error.retryable) == (ErrorCategory.TRANSIENT, True)


def test_one_refused_recipient_still_delivers_to_the_others(
    plain_server: int, inbox: Inbox
) -> None:
    inbox.refuse = {"gone@example.com": "550 5.1.1 <gone@example.com>: mailbox unavailable"}
    channel = channel_for(plain_server, recipients=["ops@example.com", "gone@example.com"])

    result = channel.send(sample_alert())

    assert result.status is DeliveryStatus.SENT
    assert result.detail == (
        "sent to 1 of 2 recipients; refused: "
        "gone@example.com (550 5.1.1 <gone@example.com>: mailbox unavailable)"
    )
    assert [item.envelope.rcpt_tos for item in inbox] == [["ops@example.com"]]


# -- secrets -------------------------------------------------------------------------------------


def test_no_password_in_any_log_record(
    starttls_server: int, certificate: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        channel_for(starttls_server, **login_options(certificate)).send(sample_alert())
        channel_for(starttls_server, **login_options(certificate, password=PASSWORD[::-1])).send(
            sample_alert()
        )

    assert caplog.records  # the server logs the session; the check means something
    for secret in (PASSWORD, PASSWORD[::-1], base64.b64encode(PASSWORD.encode()).decode()):
        assert secret not in caplog.text


# -- configuration -------------------------------------------------------------------------------


def test_a_recipients_string_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError) as refused:
        channel_for(25, recipients="ops@example.com")
    message = refused.value.message
    assert message.startswith("alerts.channels.mail.recipients = 'ops@example.com': ")
    assert "expected a list, got a string" in message
    assert 'write ["ops@example.com"]' in message

    with pytest.raises(ValueError, match="'recipients' must be a list"):
        EmailChannel.Config(host="h", sender="s@example.com", recipients="ops@example.com")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"recipients": []}, "recipients"),
        ({"recipients": ["ops"]}, "recipients"),
        ({"sender": "spine"}, "sender"),
        ({"security": "tls"}, "security"),
        ({"port": 70000}, "port"),
        ({"timeout": 0}, "timeout"),
        ({"host": " "}, "host"),
        ({"password": PASSWORD}, "username"),
    ],
)
def test_a_bad_table_is_refused_naming_the_key(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=rf"'{named}' must") as refused:
        channel_for(**options)
    assert PASSWORD not in refused.value.message


def test_a_username_needs_a_password() -> None:
    with pytest.raises(ConfigError, match="'password' must be set when username is"):
        channel_for(25, username=USERNAME)


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("ssl", 465), ("none", 25)])
def test_the_port_follows_the_security(security: str, port: int) -> None:
    table = {"host": "smtp.example.com", "security": security, "sender": "s@example.com"}
    config = structure({**table, "recipients": ["o@example.com"]}, EmailChannel.Config, "mail")
    assert config.port == port
    assert channel_for(2525, security=security).config.port == 2525


def test_the_password_is_not_in_reprs(certificate: tuple[Path, Path]) -> None:
    channel = channel_for(2525, **login_options(certificate))

    assert repr(channel) == "EmailChannel('mail', starttls 127.0.0.1:2525)"
    assert PASSWORD not in repr(channel.config)
    assert "username='spine'" in repr(channel.config)


# -- wiring --------------------------------------------------------------------------------------


def test_the_host_builds_the_builtin_email_channel(plain_server: int, inbox: Inbox) -> None:
    config = parse_config(
        {
            "alerts": {
                "channels": {
                    "mail": {
                        "type": "email",
                        "host": "127.0.0.1",
                        "port": plain_server,
                        "security": "none",
                        "sender": "spine@example.com",
                        "recipients": ["ops@example.com"],
                    }
                }
            }
        }
    )
    host = Host(config=config, load_entrypoints=False, storage_url="sqlite://", environ={})

    channel = host.alert_channel("mail")

    assert isinstance(channel, EmailChannel)
    assert channel.send(sample_alert()).detail == "sent to 1 recipient"
    assert [item.envelope.rcpt_tos for item in inbox] == [["ops@example.com"]]
    host.close()


def test_importing_the_builtin_channels_loads_no_smtp_or_tls_module() -> None:
    probe = (
        "import sys, spine_host.builtins.alerts\n"
        "print(sorted({'smtplib', 'ssl'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_spine_alerts_test_over_starttls_shows_the_password_nowhere(
    starttls_server: int, inbox: Inbox, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    (tmp_path / "spine.toml").write_text(
        f"""
[storage]
url = "sqlite:///{tmp_path / "spine.db"}"

[alerts.channels.mail]
type = "email"
host = "127.0.0.1"
port = {starttls_server}
ca_bundle = "{certificate[0]}"
username = "{USERNAME}"
password = "${{SMTP_PASSWORD}}"
sender = "spine@example.com"
recipients = ["ops@example.com", "data@example.com"]
subject_prefix = "[spine test]"
""",
        encoding="utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPINE_")}

    def spine(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SPINE, "-vv", *args],
            cwd=tmp_path,
            env={**env, "SMTP_PASSWORD": password},
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert spine("db", "upgrade").returncode == 0
    sent = spine("alerts", "test", "mail")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "sent to 2 recipients" in sent.stdout
    (delivered,) = inbox
    assert delivered.message["Subject"].startswith("[spine test] [WARNING] spine test alert")

    refused = spine("alerts", "test", "mail", password="wr0ng-pa55word")
    assert refused.returncode == 1
    assert "535" in refused.stdout

    outputs = [
        sent,
        refused,
        spine("alerts", "channels"),
        spine("alerts", "list", "--json"),
        spine("config", "show"),
    ]
    with sqlite3.connect(tmp_path / "spine.db") as connection:
        dump = "\n".join(connection.iterdump())
    for text in [dump, *(result.stdout + result.stderr for result in outputs)]:
        assert PASSWORD not in text
        assert "wr0ng-pa55word" not in text
