"""Rooms (seed: Room Management Endpoints), write side, and who came in today."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from server.access.models import RoomAccess
from server.auth.permissions import CAN_VERIFY, IS_GESTIONNAIRE, current_identity, require_auth
from server.events import operations
from server.events.api import room_in_event
from server.events.models import Participant, Room
from server.events.schemas import (
    ConflictSchema,
    RoomInputSchema,
    RoomParticipantSchema,
    RoomPatchSchema,
    RoomSchema,
)
from server.extensions import db
from server.pagination import paginate
from server.people.models import User
from server.schema import Blueprint, PageArgs, documented, page_of
from shared.timefmt import utcnow

bp = Blueprint("rooms_manage", __name__, description="Rooms: the organizer's side")


@bp.post("/api/rooms/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(RoomInputSchema, location="json")
@bp.response(201, RoomSchema)
@documented(bp, errors=(400, 403, 415))
def create_room(values: dict[str, Any]) -> ResponseReturnValue:
    """A new room in the caller's event. Gestionnaires."""
    room = operations.create_room(current_identity(), values)
    db.session.commit()
    return room, 201


def _change(room_id: uuid.UUID, values: dict[str, Any]) -> Room:
    room = room_in_event(room_id)
    operations.update_room(current_identity(), room, values)
    db.session.commit()
    return room


@bp.put("/api/rooms/<uuid:room_id>/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(RoomInputSchema, location="json")
@bp.response(200, RoomSchema)
@documented(bp, errors=(400, 403, 404, 415))
def replace_room(values: dict[str, Any], room_id: uuid.UUID) -> Room:
    """Change a room, every field given. Gestionnaires of its event."""
    return _change(room_id, values)


@bp.patch("/api/rooms/<uuid:room_id>/")
@require_auth(IS_GESTIONNAIRE)
@bp.arguments(RoomPatchSchema, location="json")
@bp.response(200, RoomSchema)
@documented(bp, errors=(400, 403, 404, 415))
def update_room(values: dict[str, Any], room_id: uuid.UUID) -> Room:
    """Change some of a room's fields (``is_active: false`` closes it)."""
    return _change(room_id, values)


@bp.delete("/api/rooms/<uuid:room_id>/")
@require_auth(IS_GESTIONNAIRE)
@bp.response(204)
@bp.alt_response(409, schema=ConflictSchema, description="In use: the counts say by what")
@documented(bp, errors=(400, 403, 404))
def delete_room(room_id: uuid.UUID) -> ResponseReturnValue:
    """Delete a room without scans, sessions or kiosks (else 409: deactivate it)."""
    room = room_in_event(room_id)
    operations.delete_room(current_identity(), room)
    db.session.commit()
    return "", 204


@bp.get("/api/rooms/<uuid:room_id>/participants/")
@require_auth(CAN_VERIFY)
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(RoomParticipantSchema))
@documented(bp, errors=(400, 403, 404))
def room_participants(room_id: uuid.UUID, **args: Any) -> dict[str, Any]:
    """The participants let into the room today (UTC), each once, by their first
    entry. Gestionnaires and controllers."""
    room = room_in_event(room_id)
    today = datetime.combine(utcnow().date(), time.min, tzinfo=utcnow().tzinfo)
    first = (
        select(RoomAccess.participant_id, func.min(RoomAccess.access_time).label("first_access"))
        .where(
            RoomAccess.room_id == room.id,
            RoomAccess.status == "granted",
            RoomAccess.participant_id.is_not(None),
            RoomAccess.access_time >= today,
        )
        .group_by(RoomAccess.participant_id)
        .subquery()
    )
    stmt = (
        select(Participant, User, first.c.first_access)
        .join(first, first.c.participant_id == Participant.id)
        .join(User, User.id == Participant.user_id)
        .order_by(first.c.first_access, Participant.id)
    )

    def row(r: Any) -> dict[str, Any]:
        participant, user, first_access = r
        name = f"{user.first_name} {user.last_name}".strip() or user.username
        return {
            "id": participant.id,
            "user_id": user.id,
            "name": name,
            "email": user.email,
            "badge_number": participant.badge_number,
            "first_access": first_access,
        }

    return paginate(stmt, row, rows=True, args=args)
