"""Paid-atelier access: what changes it, one function per use case.

Each function checks the caller's permission (a gestionnaire of the event the
caller is signed in to), writes through the ORM session (the change feed
carries it to the kiosks in the same transaction) and records the action in
the event's action log with the values before and after. Nothing is
committed here: the caller commits, or a raised error rolls everything back.

Payment rules (the door lets a badge into a paid atelier when its access has
``has_access`` and ``payment_status`` ``"paid"`` or ``"free"``, see
``shared.decision``):

- a payment (``payment_status = "paid"``) gives access, with ``amount_paid``
  (the session's price unless given) and ``paid_at`` (now unless given);
- a grant without payment (``"free"``, the seed's "free atelier, access
  granted"; or ``has_access: true`` on a pending access) gives access, nothing
  paid;
- a refund (``"refunded"``) takes access away;
- a pending access gives none: ``has_access: true`` with ``"pending"`` is a 400.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from server import actionlog
from server.auth.permissions import IS_GESTIONNAIRE, Identity
from server.errors import REQUIRED, APIError, validation_error
from server.extensions import db
from server.models import EventSession, Participant, RoomAccess, SessionAccess
from shared.timefmt import utcnow

#: what the action log keeps of an access
LOGGED = (
    "participant_id",
    "session_id",
    "payment_status",
    "has_access",
    "amount_paid",
    "paid_at",
    "granted_at",
)


def require_gestionnaire(actor: Identity) -> uuid.UUID:
    """The actor's event, when they manage it; else a 403."""
    event_id = actor.require_event()
    if not actor.has(IS_GESTIONNAIRE):
        raise APIError(403, "You do not have permission to perform this action")
    return event_id


def _participant_of(event_id: uuid.UUID, participant_id: uuid.UUID, field: str) -> Participant:
    found = db.session.get(Participant, participant_id)
    if found is None or found.event_id != event_id:
        raise validation_error(field, "no such participant in this event")
    return found


def _session_of(event_id: uuid.UUID, session_id: uuid.UUID, field: str) -> EventSession:
    found = db.session.get(EventSession, session_id)
    if found is None or found.event_id != event_id:
        raise validation_error(field, "no such session in this event")
    return found


def access_in_event(access_id: uuid.UUID, event_id: uuid.UUID) -> SessionAccess | None:
    """The access, if it belongs to a participant of the event."""
    return db.session.scalar(
        select(SessionAccess)
        .join(Participant, Participant.id == SessionAccess.participant_id)
        .where(SessionAccess.id == access_id, Participant.event_id == event_id)
    )


def _apply(access: SessionAccess, session: EventSession, data: Mapping[str, Any]) -> None:
    """Set the payment fields given in ``data`` (a loaded ``SessionAccessBodySchema``),
    with the payment rules."""
    status: str | None = data.get("payment_status")
    has_access: bool | None = data.get("has_access")
    amount: Decimal | None = data.get("amount_paid")
    paid_at: datetime | None = data.get("paid_at")
    now = utcnow()
    if status is None and has_access and access.payment_status == "pending":
        status = "free"  # a grant: access without payment
    if status is not None:
        access.payment_status = status
    if access.payment_status == "free" and status == "free" and has_access is None:
        has_access = True  # a grant recorded gives access
    if access.payment_status == "pending" and has_access:
        raise validation_error(
            "has_access", "a pending access gives no access: record a payment or a grant (free)"
        )
    if access.payment_status == "paid":
        if status == "paid" and has_access is None:
            has_access = True  # a payment recorded gives access
        if amount is None and status == "paid" and not access.amount_paid:
            amount = session.price
        if paid_at is None and access.paid_at is None:
            paid_at = now
    elif access.payment_status == "refunded":
        if has_access:
            raise validation_error("has_access", "a refunded access cannot give access")
        has_access = False
    if amount is not None:
        access.amount_paid = amount
    if paid_at is not None:
        access.paid_at = paid_at
    if has_access is not None:
        if has_access and not access.has_access:
            access.granted_at = now
        elif not has_access:
            access.granted_at = None
        access.has_access = has_access


def _action(before: Mapping[str, Any] | None, access: SessionAccess) -> str:
    old = before.get("payment_status") if before else None
    if access.payment_status != old and access.payment_status == "paid":
        return "session_access.pay"
    if access.payment_status != old and access.payment_status == "refunded":
        return "session_access.refund"
    if access.payment_status != old and access.payment_status == "free":
        return "session_access.grant"
    return "session_access.create" if before is None else "session_access.update"


def create_access(actor: Identity, data: Mapping[str, Any]) -> SessionAccess:
    """Register a participant for a session, with a payment, a grant, or pending."""
    event_id = require_gestionnaire(actor)
    participant_id: uuid.UUID | None = data.get("participant")
    session_id: uuid.UUID | None = data.get("session")
    if participant_id is None:
        raise validation_error("participant", REQUIRED)
    if session_id is None:
        raise validation_error("session", REQUIRED)
    participant = _participant_of(event_id, participant_id, "participant")
    session = _session_of(event_id, session_id, "session")
    taken = select(SessionAccess.id).where(
        SessionAccess.participant_id == participant.id, SessionAccess.session_id == session.id
    )
    if db.session.scalar(taken) is not None:
        raise validation_error("session", "this participant already has an access to it")
    access = SessionAccess(
        participant_id=participant.id,
        session_id=session.id,
        payment_status="pending",
        has_access=False,
        amount_paid=0,
        registered_at=utcnow(),
    )
    _apply(access, session, data)
    db.session.add(access)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # another request registered the same pair meanwhile
        raise validation_error("session", "this participant already has an access to it") from None
    actionlog.record(
        db.session,
        event_id=event_id,
        actor_id=actor.user_id,
        action=_action(None, access),
        obj_type="session_access",
        obj_id=access.id,
        before=None,
        after=actionlog.snapshot(access, LOGGED),
    )
    return access


def update_access(actor: Identity, access_id: uuid.UUID, data: Mapping[str, Any]) -> SessionAccess:
    """Record a payment, a refund, a grant or a change of amount (the participant
    and the session cannot change)."""
    event_id = require_gestionnaire(actor)
    access = access_in_event(access_id, event_id)
    if access is None:
        raise APIError(404, "Session access not found")
    for field, current in (("participant", access.participant_id), ("session", access.session_id)):
        given = data.get(field)
        if given is not None and given != current:
            raise validation_error(field, "cannot be changed; create another access")
    session = db.session.get(EventSession, access.session_id)
    assert session is not None
    before = actionlog.snapshot(access, LOGGED)
    _apply(access, session, data)
    after = actionlog.snapshot(access, LOGGED)
    if actionlog.changed(before, after):
        actionlog.record(
            db.session,
            event_id=event_id,
            actor_id=actor.user_id,
            action=_action(before, access),
            obj_type="session_access",
            obj_id=access.id,
            before=before,
            after=after,
        )
    return access


def delete_access(actor: Identity, access_id: uuid.UUID) -> None:
    """Remove an access no scan was let in with (409 otherwise: refund it instead)."""
    event_id = require_gestionnaire(actor)
    access = access_in_event(access_id, event_id)
    if access is None:
        raise APIError(404, "Session access not found")
    used = db.session.scalar(
        select(
            exists().where(
                RoomAccess.participant_id == access.participant_id,
                RoomAccess.session_id == access.session_id,
                RoomAccess.status == "granted",
            )
        )
    )
    if used:
        raise APIError(
            409,
            "A scan let this participant into the session with this access: "
            "it cannot be deleted; record a refund (payment_status=refunded) instead",
            code="access_used",
        )
    actionlog.record(
        db.session,
        event_id=event_id,
        actor_id=actor.user_id,
        action="session_access.delete",
        obj_type="session_access",
        obj_id=access.id,
        before=actionlog.snapshot(access, LOGGED),
        after=None,
    )
    db.session.delete(access)
    db.session.flush()
