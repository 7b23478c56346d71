"""Outgoing mail (password resets): SMTP when configured, else a file in the instance folder.

With ``SMTP_HOST`` set, a message goes to that server on ``SMTP_PORT``, over
``SMTP_SECURITY`` (``starttls``, the default, on 587; ``ssl`` on 465; ``none``
on 25), logging in with ``SMTP_USER``/``SMTP_PASSWORD`` when given, from
``MAIL_FROM``. ``SMTP_CA_FILE`` names the certificates to trust for a server
with a private certificate authority; otherwise the system's are.

Without ``SMTP_HOST`` (development, a demo), nothing leaves the machine: the
message is written whole to ``<instance>/mail/<time>-<id>.eml`` (any mail
client opens it) and its recipient, subject and file are logged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import ssl
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Literal

from flask import Flask, current_app

from shared.timefmt import utcnow

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True, slots=True)
class SMTPSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    security: Security
    timeout: float
    ca_file: str | None

    @classmethod
    def from_config(cls, config: Any) -> SMTPSettings | None:
        """The app's SMTP settings, or None when no ``SMTP_HOST`` is configured."""
        host = config.get("SMTP_HOST")
        if not host:
            return None
        security = config.get("SMTP_SECURITY") or "starttls"
        default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
        return cls(
            host=host,
            port=int(config.get("SMTP_PORT") or default_port),
            username=config.get("SMTP_USER") or None,
            password=config.get("SMTP_PASSWORD") or None,
            security=security,
            timeout=float(config.get("SMTP_TIMEOUT") or 10),
            ca_file=config.get("SMTP_CA_FILE") or None,
        )

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


@dataclass(frozen=True, slots=True)
class Sent:
    """What became of a message: sent by SMTP, or written to ``path``."""

    message: EmailMessage
    via: Literal["smtp", "file"]
    path: Path | None = None


def _check_address(address: str, what: str) -> str:
    if any(c in address for c in "\r\n\x00"):
        raise ValueError(f"{what} must be one line")
    _name, email = parseaddr(address)
    if "@" not in email:
        raise ValueError(f"{what} is not an email address: {address!r}")
    return address


def build_message(
    to: str | Sequence[str],
    subject: str,
    body: str,
    *,
    sender: str,
    html: str | None = None,
    reply_to: str | None = None,
) -> EmailMessage:
    """A text message (with an HTML alternative when given), headers checked."""
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError("a message needs a recipient")
    if any(c in subject for c in "\r\n"):
        raise ValueError("the subject must be one line")
    message = EmailMessage()
    message["From"] = _check_address(sender, "the sender")
    message["To"] = ", ".join(_check_address(r, "a recipient") for r in recipients)
    if reply_to:
        message["Reply-To"] = _check_address(reply_to, "reply-to")
    message["Subject"] = subject
    message["Date"] = formatdate(utcnow().timestamp(), usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def deliver_smtp(message: EmailMessage, settings: SMTPSettings) -> None:
    """Hand ``message`` to the SMTP server; :class:`MailError` when that fails."""
    try:
        smtp: smtplib.SMTP
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=settings.tls_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            smtp.ehlo()
            if settings.security == "starttls":
                smtp.starttls(context=settings.tls_context())
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"SMTP {settings.host}:{settings.port}: {exc}") from exc


def mail_folder(app: Flask) -> Path:
    return Path(app.instance_path) / "mail"


def write_eml(message: EmailMessage, folder: Path) -> Path:
    """Write ``message`` to a new ``.eml`` file in ``folder`` (whole, or not at all)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mail-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(message.as_bytes())
        os.chmod(tmp, 0o600)  # a reset link is a credential
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def send_mail(
    to: str | Sequence[str],
    subject: str,
    body: str,
    *,
    html: str | None = None,
    reply_to: str | None = None,
    app: Flask | None = None,
) -> Sent:
    """Send a message with the app's settings (the current app's by default).

    Without ``SMTP_HOST`` the message is written to ``<instance>/mail/`` and
    logged; with it, a failure to deliver raises :class:`MailError`."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    message = build_message(
        to, subject, body, sender=app.config["MAIL_FROM"], html=html, reply_to=reply_to
    )
    settings = SMTPSettings.from_config(app.config)
    if settings is None:
        path = write_eml(message, mail_folder(app))
        log.info(
            "mail to %s, %r: written to %s (no SMTP_HOST set)",
            message["To"],
            subject,
            path,
        )
        return Sent(message, "file", path)
    deliver_smtp(message, settings)
    log.info("mail to %s, %r: sent via %s:%s", message["To"], subject, settings.host, settings.port)
    return Sent(message, "smtp")
