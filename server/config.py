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
        "PAGE_SIZE": 50,
        "MAX_PAGE_SIZE": 500,
        "JSON_SORT_KEYS": False,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
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
