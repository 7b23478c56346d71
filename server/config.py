"""Configuration, read from the environment (and a ``.env`` file if present)."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_ACCESS_MINUTES = 60
DEFAULT_REFRESH_DAYS = 7
DEFAULT_TEMP_MINUTES = 10
#: failed credential attempts allowed per window (server/auth/limits.py)
DEFAULT_AUTH_LIMIT_PER_ACCOUNT = 50
DEFAULT_AUTH_LIMIT_PER_ADDRESS = 20
DEFAULT_AUTH_LIMIT_WINDOW_SECONDS = 900
#: uploads (server/uploads.py): the seed's 10 MB for a PDF
DEFAULT_UPLOAD_MAX_PDF_BYTES = 10 * 1024 * 1024
DEFAULT_UPLOAD_MAX_IMAGE_BYTES = 5 * 1024 * 1024
#: pixels an uploaded image may have (a 4 bytes a pixel image of this size is 160 MB decoded)
DEFAULT_UPLOAD_MAX_IMAGE_PIXELS = 40_000_000
#: password reset tokens (server/auth/reset.py)
DEFAULT_PASSWORD_RESET_MINUTES = 60


def normalize_database_url(url: str) -> str:
    """Route plain PostgreSQL URLs to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int_env(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        what = "positive" if minimum == 1 else f"at least {minimum}"
        raise RuntimeError(f"{name} must be {what}, got {value}")
    return value


def from_environment(instance_path: str) -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "badgegate.db")
    )
    return {
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(url),
        "JWT_SECRET_KEY": os.environ.get("JWT_SECRET_KEY") or None,
        "BADGE_SIGNING_KEY": os.environ.get("BADGE_SIGNING_KEY") or None,
        "BADGE_TRUSTED_KEYS": os.environ.get("BADGE_TRUSTED_KEYS") or "",
        "SCAN_SEALING_KEY": os.environ.get("SCAN_SEALING_KEY") or None,
        "JWT_ACCESS_MINUTES": _int_env("JWT_ACCESS_MINUTES", DEFAULT_ACCESS_MINUTES),
        "JWT_REFRESH_DAYS": _int_env("JWT_REFRESH_DAYS", DEFAULT_REFRESH_DAYS),
        "JWT_TEMP_MINUTES": _int_env("JWT_TEMP_MINUTES", DEFAULT_TEMP_MINUTES),
        "AUTH_LIMIT_PER_ACCOUNT": _int_env(
            "AUTH_LIMIT_PER_ACCOUNT", DEFAULT_AUTH_LIMIT_PER_ACCOUNT
        ),
        "AUTH_LIMIT_PER_ADDRESS": _int_env(
            "AUTH_LIMIT_PER_ADDRESS", DEFAULT_AUTH_LIMIT_PER_ADDRESS
        ),
        "AUTH_LIMIT_WINDOW_SECONDS": _int_env(
            "AUTH_LIMIT_WINDOW_SECONDS", DEFAULT_AUTH_LIMIT_WINDOW_SECONDS
        ),
        # how many reverse proxies append to X-Forwarded-For (0: trust none)
        "TRUSTED_PROXIES": _int_env("BADGEGATE_TRUSTED_PROXIES", 0, minimum=0),
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        **_files_and_mail_from_environment(),
        "PAGE_SIZE": 50,
        "MAX_PAGE_SIZE": 500,
        "JSON_SORT_KEYS": False,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }


def _files_and_mail_from_environment() -> dict[str, Any]:
    """Stored files, upload limits, outgoing mail (SMTP) and password resets."""
    security = (os.environ.get("SMTP_SECURITY") or "starttls").strip().lower()
    if security not in ("starttls", "ssl", "none"):
        raise RuntimeError(f"SMTP_SECURITY must be starttls, ssl or none, got {security!r}")
    default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
    return {
        # None: <instance>/media (server/storage.py)
        "MEDIA_ROOT": os.environ.get("MEDIA_ROOT") or None,
        "MEDIA_URL": os.environ.get("MEDIA_URL") or "/media/",
        "UPLOAD_MAX_PDF_BYTES": _int_env("UPLOAD_MAX_PDF_BYTES", DEFAULT_UPLOAD_MAX_PDF_BYTES),
        "UPLOAD_MAX_IMAGE_BYTES": _int_env(
            "UPLOAD_MAX_IMAGE_BYTES", DEFAULT_UPLOAD_MAX_IMAGE_BYTES
        ),
        "UPLOAD_MAX_IMAGE_PIXELS": _int_env(
            "UPLOAD_MAX_IMAGE_PIXELS", DEFAULT_UPLOAD_MAX_IMAGE_PIXELS
        ),
        # no SMTP_HOST: mails are written to <instance>/mail/ (server/mail.py)
        "SMTP_HOST": os.environ.get("SMTP_HOST") or None,
        "SMTP_PORT": _int_env("SMTP_PORT", default_port),
        "SMTP_USER": os.environ.get("SMTP_USER") or None,
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD") or None,
        "SMTP_SECURITY": security,
        "SMTP_TIMEOUT": _int_env("SMTP_TIMEOUT", 10),
        "SMTP_CA_FILE": os.environ.get("SMTP_CA_FILE") or None,
        "MAIL_FROM": os.environ.get("MAIL_FROM") or "BadgeGate <noreply@localhost>",
        "PASSWORD_RESET_MINUTES": _int_env(
            "PASSWORD_RESET_MINUTES", DEFAULT_PASSWORD_RESET_MINUTES
        ),
        # the link mailed for a reset, "{token}" replaced; none: the token alone
        "PASSWORD_RESET_URL": os.environ.get("PASSWORD_RESET_URL") or None,
    }


def instance_secret(
    instance_path: str,
    name: str = "jwt-secret.key",
    make: Callable[[], str] = lambda: secrets.token_urlsafe(64),
) -> str:
    """A secret generated (by ``make``) on first run and kept in the instance folder.

    Several server processes may start at once: the key is written to a
    temporary file and linked into place, so every process reads the same key.
    """
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".key-")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"the signing key in {path} is too short; delete it to regenerate")
    return key
