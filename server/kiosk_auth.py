"""Kiosk device credentials: ``bgk1.<kiosk id>.<secret>``, stored as a hash."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import g
from sqlalchemy import select

from server.auth.permissions import bearer_token
from server.errors import APIError
from server.extensions import db
from server.models import Event, Kiosk

P = ParamSpec("P")
R = TypeVar("R")
PREFIX = "bgk1"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_device_token(kiosk: Kiosk) -> str:
    """A fresh credential for ``kiosk``; only its hash is kept."""
    secret = secrets.token_urlsafe(32)
    kiosk.token_hash = digest(secret)
    return f"{PREFIX}.{kiosk.id.hex}.{secret}"


def new_provisioning_code() -> tuple[str, str]:
    """A one-time code people can type: 12 characters in groups of four."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    code = "-".join(raw[i : i + 4] for i in range(0, 12, 4))
    return code, digest(normalize_code(code))


def normalize_code(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def authenticate_kiosk(token: str) -> Kiosk:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise APIError(401, "A kiosk device token is required", code="not_a_kiosk")
    try:
        kiosk_id = uuid.UUID(hex=parts[1])
    except ValueError:
        raise APIError(401, "Kiosk token is invalid", code="token_not_valid") from None
    row = db.session.execute(
        select(Kiosk, Event.is_active)
        .join(Event, Event.id == Kiosk.event_id)
        .where(Kiosk.id == kiosk_id)
    ).first()
    if row is None or row[0].token_hash is None:
        raise APIError(401, "Kiosk token is invalid", code="token_not_valid")
    kiosk, event_active = row
    if not hmac.compare_digest(kiosk.token_hash, digest(parts[2])):
        raise APIError(401, "Kiosk token is invalid", code="token_not_valid")
    if kiosk.revoked_at is not None:
        raise APIError(401, "This kiosk has been revoked", code="kiosk_revoked")
    if not event_active:
        raise APIError(401, "This kiosk's event is no longer active", code="kiosk_revoked")
    return kiosk


def require_kiosk(view: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(view)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        g.kiosk = authenticate_kiosk(bearer_token())
        return view(*args, **kwargs)

    return inner


def current_kiosk() -> Kiosk:
    return g.kiosk  # type: ignore[no-any-return]
