"""Session access (seed: Session Access Endpoints, paid ateliers) and ``my-ateliers``.

Gestionnaires see and change every access of their event; a participant sees
their own; other roles get a 403. The changes themselves are
``server.access.operations``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from server.access import operations
from server.access.schemas import (
    MyAteliersSchema,
    SessionAccessBodySchema,
    SessionAccessListArgs,
    SessionAccessSchema,
)
from server.auth.permissions import (
    IS_EVENT_MEMBER,
    IS_GESTIONNAIRE,
    IS_PARTICIPANT,
    current_identity,
    require_auth,
)
from server.badges import profile_for_reading
from server.errors import APIError
from server.extensions import db
from server.models import EventSession, Participant, SessionAccess
from server.pagination import paginate
from server.schema import Blueprint, documented, page_of
from shared.timefmt import iso

bp = Blueprint("session_access", __name__, description="Access to paid ateliers")

CAN_VIEW = IS_GESTIONNAIRE | IS_PARTICIPANT
_DUMP = SessionAccessSchema()


def _visible() -> Select[tuple[SessionAccess]]:
    """The accesses the caller may read: the event's (gestionnaire) or their own."""
    identity = current_identity()
    stmt = (
        select(SessionAccess)
        .join(Participant, Participant.id == SessionAccess.participant_id)
        .where(Participant.event_id == identity.require_event())
    )
    if not identity.has(IS_GESTIONNAIRE):
        stmt = stmt.where(Participant.user_id == identity.user_id)
    return stmt


@bp.get("/api/session-access/")
@require_auth(CAN_VIEW)
@bp.arguments(SessionAccessListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(SessionAccessSchema))
@documented(bp, errors=(400, 403))
def list_accesses(**args: Any) -> dict[str, Any]:
    """The accesses of the event (a participant: their own), newest registration first."""
    stmt = _visible()
    if args.get("participant_id") is not None:
        stmt = stmt.where(SessionAccess.participant_id == args["participant_id"])
    if args.get("session_id") is not None:
        stmt = stmt.where(SessionAccess.session_id == args["session_id"])
    if args.get("payment_status") is not None:
        stmt = stmt.where(SessionAccess.payment_status == args["payment_status"])
    if args.get("has_access") is not None:
        stmt = stmt.where(SessionAccess.has_access.is_(args["has_access"]))
    stmt = stmt.order_by(SessionAccess.registered_at.desc(), SessionAccess.id)
    return paginate(stmt, args=args)


@bp.get("/api/session-access/<uuid:access_id>/")
@require_auth(CAN_VIEW)
@bp.response(200, SessionAccessSchema)
@documented(bp, errors=(403, 404))
def get_access(access_id: uuid.UUID) -> SessionAccess:
    found = db.session.scalar(_visible().where(SessionAccess.id == access_id))
    if found is None:
        raise APIError(404, "Session access not found")
    return found


@bp.post("/api/session-access/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(SessionAccessBodySchema)
@documented(bp, errors=(400, 403, 415), answers={201: SessionAccessSchema})
def create_access(data: dict[str, Any]) -> ResponseReturnValue:
    """Register a participant for a session: pending, paid (access) or granted."""
    access = operations.create_access(current_identity(), data)
    body = _DUMP.dump(access)
    db.session.commit()
    return jsonify(body), 201


@bp.route("/api/session-access/<uuid:access_id>/", methods=["PUT", "PATCH"])
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(SessionAccessBodySchema)
@documented(bp, errors=(400, 403, 404, 415), answers={200: SessionAccessSchema})
def update_access(data: dict[str, Any], access_id: uuid.UUID) -> ResponseReturnValue:
    """Record a payment, a refund (access taken away) or a grant (PUT:
    ``payment_status`` required)."""
    access = operations.update_access(current_identity(), access_id, data)
    body = _DUMP.dump(access)
    db.session.commit()
    return jsonify(body)


@bp.delete("/api/session-access/<uuid:access_id>/")
@documented(bp, errors=(403, 404, 409), answers={204: None})
@require_auth(IS_GESTIONNAIRE)
def delete_access(access_id: uuid.UUID) -> ResponseReturnValue:
    """Remove an access; one a scan was let in with is a 409 (refund it instead)."""
    operations.delete_access(current_identity(), access_id)
    db.session.commit()
    return "", 204


def _number(value: Decimal | None) -> float:
    return float(value or 0)


@bp.get("/api/my-ateliers/")
@documented(bp, errors=(403, 404), answers={200: MyAteliersSchema})
@require_auth(IS_EVENT_MEMBER)
def my_ateliers() -> ResponseReturnValue:
    """The caller's paid ateliers in their event, with their payments and a summary.

    ``total_paid`` sums what was paid, ``total_pending`` the prices still due,
    ``total_amount`` both; a refunded atelier counts in neither."""
    identity = current_identity()
    participant = db.session.scalar(
        select(Participant)
        .options(joinedload(Participant.user))
        .where(
            Participant.event_id == identity.require_event(),
            Participant.user_id == identity.user_id,
        )
    )
    if participant is None:
        raise APIError(404, "You have no participant record in this event")
    rows = db.session.execute(
        select(SessionAccess, EventSession)
        .join(EventSession, EventSession.id == SessionAccess.session_id)
        .options(joinedload(EventSession.room))
        .where(SessionAccess.participant_id == participant.id, EventSession.is_paid.is_(True))
        .order_by(EventSession.start_time, EventSession.id)
    ).all()
    ateliers = []
    paid = pending = Decimal("0")
    paid_count = pending_count = 0
    for access, session in rows:
        if access.payment_status == "paid":
            paid_count += 1
            paid += access.amount_paid or 0
        elif access.payment_status == "pending":
            pending_count += 1
            pending += session.price or 0
        ateliers.append(
            {
                "id": str(access.id),
                "session_id": str(session.id),
                "title": session.title,
                "description": session.description,
                "speaker_name": session.speaker_name,
                "speaker_title": session.speaker_title,
                "speaker_bio": session.speaker_bio,
                "speaker_photo_url": session.speaker_photo_url,
                "theme": session.theme,
                "room": {
                    "id": str(session.room.id),
                    "name": session.room.name,
                    "capacity": session.room.capacity,
                },
                "start_time": iso(session.start_time),
                "end_time": iso(session.end_time),
                "price": _number(session.price),
                "payment_status": access.payment_status,
                "has_access": access.has_access,
                "amount_paid": _number(access.amount_paid),
                "paid_at": iso(access.paid_at),
                "registered_at": iso(access.registered_at),
            }
        )
    user = participant.user
    answer = {
        "participant": {
            "id": str(participant.id),
            "name": user.full_name,
            "email": user.email,
            "badge_id": profile_for_reading(user).badge_id,
        },
        "summary": {
            "total_ateliers": len(ateliers),
            "paid_count": paid_count,
            "pending_count": pending_count,
            "total_paid": _number(paid),
            "total_pending": _number(pending),
            "total_amount": _number(paid + pending),
        },
        "ateliers": ateliers,
    }
    db.session.commit()
    return jsonify(answer)
