"""Rooms (seed: Room Management Endpoints), read side, scoped to the caller's event."""

from __future__ import annotations

import uuid

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server.auth.permissions import IS_EVENT_MEMBER, current_identity, require_auth, same_event
from server.errors import APIError
from server.extensions import db
from server.models import Room
from server.pagination import paginate
from server.serializers import room_dict
from server.validation import query_bool, query_uuid

bp = Blueprint("rooms", __name__)


def event_filter() -> uuid.UUID:
    """The caller's event; an ``event_id`` filter naming another event is refused."""
    identity = current_identity()
    event_id = identity.require_event()
    asked = query_uuid("event_id")
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
def list_rooms() -> ResponseReturnValue:
    stmt = select(Room).where(Room.event_id == event_filter()).order_by(Room.name, Room.id)
    active = query_bool("is_active")
    if active is not None:
        stmt = stmt.where(Room.is_active.is_(active))
    return jsonify(paginate(stmt, room_dict))


@bp.get("/api/rooms/<uuid:room_id>/")
@require_auth(IS_EVENT_MEMBER)
def get_room(room_id: uuid.UUID) -> ResponseReturnValue:
    return jsonify(room_dict(room_in_event(room_id)))
