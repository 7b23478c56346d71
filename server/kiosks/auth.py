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
from sqlalchemy import Uuid, and_, bindparam, select

from server.auth.permissions import CAN_VERIFY, bearer_token
from server.errors import APIError
from server.extensions import db, reads_only
from server.models import Event, Kiosk, User, UserEventAssignment
from shared.roles import Role

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
    row = db.session.execute(_KIOSK_QUERY, {"kiosk_id": kiosk_id}).first()
    if row is None or row[0].token_hash is None:
        raise APIError(401, "Kiosk token is invalid", code="token_not_valid")
    kiosk, event_active, provisioner_active, provisioner_role = row
    if not hmac.compare_digest(kiosk.token_hash, digest(parts[2])):
        raise APIError(401, "Kiosk token is invalid", code="token_not_valid")
    if kiosk.revoked_at is not None:
        raise APIError(401, "This kiosk has been revoked", code="kiosk_revoked")
    if not event_active:
        raise APIError(401, "This kiosk's event is no longer active", code="kiosk_revoked")
    if kiosk.provisioned_by_login and not provisioner_allows(
        kiosk.mode, provisioner_active, provisioner_role
    ):
        raise APIError(
            401,
            "The person who provisioned this kiosk no longer has access to this event",
            code="provisioner_access_ended",
        )
    return kiosk


def provisioner_allows(mode: str, active: bool | None, role: str | None) -> bool:
    """Whether a kiosk provisioned with a login still works: its provisioner is
    active, with a role in the event that may run it (door: a controller or a
    gestionnaire; booth: an exposant)."""
    if not active or role is None:
        return False
    return role in CAN_VERIFY if mode == "door" else role == Role.EXPOSANT.value


# One query per sync request: the kiosk, its event, and its provisioner's
# account and active role in the event (outer joins: a code's kiosk has none).
_KIOSK_QUERY = (
    select(Kiosk, Event.is_active, User.is_active, UserEventAssignment.role)
    .join(Event, Event.id == Kiosk.event_id)
    .outerjoin(User, User.id == Kiosk.created_by_id)
    .outerjoin(
        UserEventAssignment,
        and_(
            UserEventAssignment.user_id == Kiosk.created_by_id,
            UserEventAssignment.event_id == Kiosk.event_id,
            UserEventAssignment.is_active.is_(True),
        ),
    )
    .where(Kiosk.id == bindparam("kiosk_id", type_=Uuid()))
)


def require_kiosk(view: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(view)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        with reads_only():  # on SQLite: no write lock while the request reads
            g.kiosk = authenticate_kiosk(bearer_token())
        return view(*args, **kwargs)

    return inner


def current_kiosk() -> Kiosk:
    return g.kiosk  # type: ignore[no-any-return]
