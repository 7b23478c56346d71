"""Rooms (seed: Room Management Endpoints), read side, scoped to the caller's event."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from server.auth.permissions import IS_EVENT_MEMBER, current_identity, require_auth, same_event
from server.errors import APIError
from server.events.schemas import RoomListArgs, RoomSchema
from server.extensions import db
from server.models import Room
from server.pagination import paginate
from server.schema import Blueprint, documented, page_of

bp = Blueprint("rooms", __name__, description="Rooms of the caller's event")


def event_filter(asked: uuid.UUID | None) -> uuid.UUID:
    """The caller's event; an ``event_id`` filter naming another event is refused.
    ``asked``: the filter as the view's query schema read it (``EventFilterArgs``)."""
    identity = current_identity()
    event_id = identity.require_event()
    if asked is not None and asked != event_id:
        raise APIError(
            403,
            "You can only read the event you are signed in to; switch event first",
            fields={"event_id": "not your current event"},
        )
    return event_id


def room_in_event(room_id: uuid.UUID) -> Room:
    room = db.session.get(Room, room_id)
    if room is None:
        raise APIError(404, "Room not found")
    same_event(current_identity(), room.event_id, "Room")
    return room


@bp.get("/api/rooms/")
@require_auth(IS_EVENT_MEMBER)
@bp.arguments(RoomListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(RoomSchema))
@documented(bp, errors=(400, 403))
def list_rooms(**args: Any) -> dict[str, Any]:
    """The rooms of the caller's event, by name."""
    stmt = select(Room).where(Room.event_id == event_filter(args.get("event_id")))
    stmt = stmt.order_by(Room.name, Room.id)
    active = args.get("is_active")
    if active is not None:
        stmt = stmt.where(Room.is_active.is_(active))
    return paginate(stmt, args=args)


@bp.get("/api/rooms/<uuid:room_id>/")
@require_auth(IS_EVENT_MEMBER)
@bp.response(200, RoomSchema)
@documented(bp, errors=(403, 404))
def get_room(room_id: uuid.UUID) -> Room:
    """One room of the caller's event."""
    return room_in_event(room_id)
