"""Room statistics (seed: Dashboard & Statistics) and offline discrepancies.

Every verification is one RoomAccess row, online or uploaded by a kiosk
(stored once per scan id); the database tallies them per room and per day as
they are written (``room_tallies``, ``room_day_tallies``), so the statistics
read two rows whatever the number of scans.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import and_, literal, select, union_all

from server.access.schemas import DiscrepancySchema, RoomStatisticsSchema
from server.auth.permissions import (
    IS_CONTROLLER,
    IS_GESTIONNAIRE,
    Identity,
    current_identity,
    require_auth,
    same_event,
)
from server.errors import APIError
from server.events.api import room_in_event
from server.extensions import db
from server.models import (
    Event,
    EventSession,
    ExposantScan,
    Participant,
    Room,
    RoomAccess,
    RoomAssignment,
    RoomDayTally,
    RoomTally,
    User,
)
from server.pagination import paginate
from server.schema import Blueprint, PageArgs, documented, page_of
from shared.timefmt import iso, utcnow

bp = Blueprint("stats", __name__, description="Room statistics and kiosk discrepancies")


def room_statistics(room: Room) -> dict[str, Any]:
    today = utcnow().date()
    # kept by the database as scans are written (migration 0012): one row each
    tally = db.session.get(RoomTally, room.id) or RoomTally(scans=0, granted=0, visitors=0)
    day = db.session.get(RoomDayTally, (room.id, today)) or RoomDayTally(scans=0, visitors=0)
    recent = db.session.execute(
        select(RoomAccess, Participant, User, EventSession.title, Participant.badge_number)
        .outerjoin(Participant, Participant.id == RoomAccess.participant_id)
        .outerjoin(User, User.id == Participant.user_id)
        .outerjoin(EventSession, EventSession.id == RoomAccess.session_id)
        .where(RoomAccess.room_id == room.id)
        .order_by(RoomAccess.access_time.desc())
        .limit(20)
    ).all()
    verifiers = {
        uid: name
        for uid, name in db.session.execute(
            select(User.id, User.username).where(
                User.id.in_({a.verified_by_id for a, *_ in recent if a.verified_by_id})
            )
        )
    }
    return {
        "room": {"id": str(room.id), "name": room.name, "capacity": room.capacity},
        "statistics": {
            "total_scans": tally.scans,
            "today_scans": day.scans,
            "granted": tally.granted,
            "denied": tally.scans - tally.granted,
            "unique_participants": tally.visitors,
            "unique_participants_today": day.visitors,
        },
        "recent_scans": [
            {
                "id": str(access.id),
                "participant": {
                    "id": str(participant.id),
                    "name": f"{user.first_name} {user.last_name}".strip() or user.username,
                    "email": user.email,
                    "badge_id": badge_number,
                }
                if participant and user
                else None,
                "session": title,
                "status": access.server_status or access.status,
                "reason": access.server_reason or access.reason,
                "kiosk": {"status": access.status, "reason": access.reason}
                if access.kiosk_id
                else None,
                "accessed_at": iso(access.access_time),
                "verified_by": verifiers.get(access.verified_by_id),
                "offline": access.decided_offline,
            }
            for access, participant, user, title, badge_number in recent
        ],
    }


@bp.get("/api/rooms/<uuid:room_id>/statistics/")
@documented(bp, errors=(403, 404), answers={200: RoomStatisticsSchema})
@require_auth(IS_GESTIONNAIRE)
def statistics(room_id: uuid.UUID) -> ResponseReturnValue:
    return jsonify(room_statistics(room_in_event(room_id)))


def controller_room(identity: Identity) -> uuid.UUID | None:
    """The room a controller is posted to now: their RoomAssignment covering now,
    else their role's ``metadata.assigned_room_id``; None when neither says."""
    now = utcnow()
    room_id = db.session.scalar(
        select(RoomAssignment.room_id)
        .where(
            RoomAssignment.user_id == identity.user_id,
            RoomAssignment.event_id == identity.event_id,
            RoomAssignment.is_active.is_(True),
            RoomAssignment.start_time <= now,
            RoomAssignment.end_time > now,
        )
        .order_by(RoomAssignment.start_time.desc())
    )
    if room_id is None and identity.assignment is not None:
        raw = (identity.assignment.meta or {}).get("assigned_room_id")
        try:
            room_id = uuid.UUID(str(raw)) if raw else None
        except ValueError:
            room_id = None
    return room_id


@bp.get("/api/my-room/statistics/")
@documented(bp, errors=(403, 404), answers={200: RoomStatisticsSchema})
@require_auth(IS_CONTROLLER)
def my_room_statistics() -> ResponseReturnValue:
    """The controller's room: the current RoomAssignment, else the assignment's metadata."""
    room_id = controller_room(current_identity())
    if room_id is None:
        raise APIError(404, "No room is assigned to you right now", code="no_room_assigned")
    return jsonify(room_statistics(room_in_event(room_id)))


@bp.get("/api/events/<uuid:event_id>/discrepancies/")
@documented(bp, errors=(400, 403, 404), answers={200: page_of(DiscrepancySchema)})
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(PageArgs, location="query", as_kwargs=True)
def discrepancies(event_id: uuid.UUID, **args: Any) -> ResponseReturnValue:
    """Kiosk scans where the kiosk's verdict and the server's differ."""
    identity = current_identity()
    if db.session.get(Event, event_id) is None:
        raise APIError(404, "Event not found")
    same_event(identity, event_id, "Event")
    differs = and_(
        RoomAccess.kiosk_id.is_not(None),
        RoomAccess.server_reason.is_not(None),
        RoomAccess.server_reason != RoomAccess.reason,
    )
    doors = select(
        RoomAccess.id.label("id"),
        literal("room_access").label("kind"),
        RoomAccess.client_id.label("client_id"),
        RoomAccess.kiosk_id.label("kiosk_id"),
        RoomAccess.room_id.label("room_id"),
        RoomAccess.user_id.label("user_id"),
        RoomAccess.access_time.label("scanned_at"),
        RoomAccess.received_at.label("received_at"),
        RoomAccess.decided_offline.label("decided_offline"),
        RoomAccess.status.label("kiosk_status"),
        RoomAccess.reason.label("kiosk_reason"),
        RoomAccess.server_status.label("server_status"),
        RoomAccess.server_reason.label("server_reason"),
    ).where(RoomAccess.event_id == event_id, differs)
    booths = select(
        ExposantScan.id,
        literal("booth_visit"),
        ExposantScan.client_id,
        ExposantScan.kiosk_id,
        literal(None),
        ExposantScan.user_id,
        ExposantScan.scanned_at,
        ExposantScan.received_at,
        ExposantScan.decided_offline,
        ExposantScan.status,
        ExposantScan.reason,
        ExposantScan.server_status,
        ExposantScan.server_reason,
    ).where(
        ExposantScan.event_id == event_id,
        ExposantScan.kiosk_id.is_not(None),
        ExposantScan.server_reason.is_not(None),
        ExposantScan.server_reason != ExposantScan.reason,
    )
    both = union_all(doors, booths).subquery()
    stmt = select(both).order_by(both.c.scanned_at.desc(), both.c.id)

    def row(r: Any) -> dict[str, Any]:
        return {
            "id": str(r.id),
            "kind": r.kind,
            "client_id": str(r.client_id) if r.client_id else None,
            "kiosk_id": str(r.kiosk_id) if r.kiosk_id else None,
            "room_id": str(r.room_id) if r.room_id else None,
            "user_id": r.user_id,
            "scanned_at": iso(r.scanned_at),
            "received_at": iso(r.received_at),
            "decided_offline": r.decided_offline,
            "kiosk": {"status": r.kiosk_status, "reason": r.kiosk_reason},
            "server": {"status": r.server_status, "reason": r.server_reason},
        }

    return jsonify(paginate(stmt, row, rows=True, args=args))
