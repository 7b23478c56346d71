"""Outgoing mail: delivered to a real SMTP server (aiosmtpd on localhost), or written
to the instance folder when none is configured."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask

from server import create_app
from server.mail import MailError, build_message, send_mail
from tests.conftest import base_config

SENDER = "BadgeGate <noreply@badges.example.org>"


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def only(self) -> tuple[Envelope, EmailMessage]:
        assert len(self.envelopes) == 1
        envelope = self.envelopes[0]
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return envelope, parsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def authenticator(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"s3cret",
    )
    return AuthResult(success=ok)


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def make_app(tmp_path: Path, **config: Any) -> Flask:
    return create_app(
        {**base_config(f"sqlite:///{tmp_path / 'db.sqlite'}"), "MAIL_FROM": SENDER, **config}
    )


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def smtp_app(tmp_path: Path, port: int, **settings: Any) -> Flask:
    """An app sending through the test's SMTP server, logging in as ``mailer``."""
    return make_app(
        tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_SECURITY="none",
        SMTP_USER="mailer",
        **settings,
    )


def test_mail_is_delivered_over_smtp_with_login(
    tmp_path: Path, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    app = smtp_app(tmp_path, port, SMTP_PASSWORD="s3cret")
    files_before = sorted((Path(app.instance_path) / "mail").glob("*.eml"))
    with app.app_context():
        sent = send_mail(
            "amina@example.com", "Réinitialisez votre mot de passe", "Bonjour Amina,\nle lien."
        )
    assert sent.via == "smtp" and sent.path is None
    envelope, message = inbox.only()
    assert envelope.mail_from == "noreply@badges.example.org"
    assert envelope.rcpt_tos == ["amina@example.com"]
    assert message["To"] == "amina@example.com"
    assert message["From"] == SENDER
    assert message["Subject"] == "Réinitialisez votre mot de passe"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Bonjour Amina,\nle lien.\n"
    assert message["Message-ID"].endswith("@badges.example.org>")
    assert sorted((Path(app.instance_path) / "mail").glob("*.eml")) == files_before


def test_a_wrong_smtp_password_is_a_mail_error(
    tmp_path: Path, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    app = smtp_app(tmp_path, port, SMTP_PASSWORD="wrong", SMTP_TIMEOUT=2)
    with app.app_context(), pytest.raises(MailError, match=r"SMTP 127\.0\.0\.1"):
        send_mail("amina@example.com", "Subject", "Body")
    assert inbox.envelopes == []


def test_an_unreachable_smtp_server_is_a_mail_error(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_SECURITY="none", SMTP_TIMEOUT=2
    )
    with app.app_context(), pytest.raises(MailError):
        send_mail("amina@example.com", "Subject", "Body")


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_mail_is_delivered_over_tls(tmp_path: Path, security: str) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    options: dict[str, Any] = (
        {"tls_context": server_tls, "require_starttls": True}
        if security == "starttls"
        # implicit TLS: the connection is encrypted from the start
        else {"ssl_context": server_tls, "auth_require_tls": False}
    )
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        **options,
    )
    controller.start()
    try:
        app = make_app(
            tmp_path,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=port,
            SMTP_SECURITY=security,
            SMTP_CA_FILE=str(cert),
            SMTP_USER="mailer",
            SMTP_PASSWORD="s3cret",
        )
        with app.app_context():
            send_mail(["a@example.com", "b@example.com"], "Over TLS", "Encrypted on the way.")
        envelope, message = inbox.only()
        assert envelope.rcpt_tos == ["a@example.com", "b@example.com"]
        assert message["Subject"] == "Over TLS"
        assert message["To"] == "a@example.com, b@example.com"
        # without the certificate's authority the client refuses the server
        untrusting = make_app(
            tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY=security
        )
        with untrusting.app_context(), pytest.raises(MailError):
            send_mail("c@example.com", "Not trusted", "Body")
        assert len(inbox.envelopes) == 1
    finally:
        controller.stop()


def test_without_smtp_the_mail_is_written_to_the_instance_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path, SMTP_HOST=None)
    with app.app_context(), caplog.at_level(logging.INFO, logger="server.mail"):
        sent = send_mail(
            "amina@example.com", "Reset your password", "The link: https://x/reset?t=abc"
        )
    assert sent.via == "file" and sent.path is not None
    assert sent.path.parent == Path(app.instance_path) / "mail"
    assert sent.path.suffix == ".eml"
    assert sent.path.stat().st_mode & 0o777 == 0o600
    message = message_from_bytes(sent.path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "amina@example.com"
    assert message["Subject"] == "Reset your password"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "https://x/reset?t=abc" in body.get_content()
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "amina@example.com" in logged and str(sent.path) in logged
    assert "t=abc" not in logged  # the link stays in the file, not in the log
    assert not list(sent.path.parent.glob(".mail-*"))


def test_smtp_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("SMTP_SECURITY", "ssl")
    monkeypatch.setenv("SMTP_USER", "mailer")
    monkeypatch.setenv("SMTP_PASSWORD", "pw")
    monkeypatch.setenv("MAIL_FROM", "Events <events@example.org>")
    app = create_app(base_config(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    assert app.config["SMTP_HOST"] == "smtp.example.org"
    assert app.config["SMTP_PORT"] == 465  # the port of implicit TLS
    assert app.config["SMTP_SECURITY"] == "ssl"
    assert (app.config["SMTP_USER"], app.config["SMTP_PASSWORD"]) == ("mailer", "pw")
    assert app.config["MAIL_FROM"] == "Events <events@example.org>"
    monkeypatch.setenv("SMTP_SECURITY", "tls-ish")
    with pytest.raises(RuntimeError, match="SMTP_SECURITY"):
        create_app(base_config(f"sqlite:///{tmp_path / 'db.sqlite'}"))


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ("victim@example.com\r\nBcc: everyone@example.com", "Hello"),
        ("victim@example.com", "Hello\r\nBcc: everyone@example.com"),
        ("not an address", "Hello"),
        ([], "Hello"),
    ],
)
def test_header_injection_is_refused(to: Any, subject: str) -> None:
    with pytest.raises(ValueError):
        build_message(to, subject, "body", sender=SENDER)


def test_an_html_alternative_rides_along() -> None:
    message = build_message("a@example.com", "Hi", "text", sender=SENDER, html="<p>html</p>")
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content() == "text\n"
    assert rich is not None and rich.get_content() == "<p>html</p>\n"
