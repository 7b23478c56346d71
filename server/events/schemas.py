"""Rooms and sessions: their query filters and their answers (the seed's fields)."""

from __future__ import annotations

from marshmallow import fields

from server.events.models import SESSION_STATUSES, SESSION_TYPES
from server.schema import Instant, Money, PageArgs, QueryBool, QueryChoice, QueryUUID, Schema


class RoomSchema(Schema):
    id = fields.UUID(required=True)
    event = fields.UUID(attribute="event_id", required=True)
    name = fields.String(required=True)
    capacity = fields.Integer(required=True)
    description = fields.String(required=True)
    location = fields.String(required=True)
    is_active = fields.Boolean(required=True)
    created_by = fields.Integer(attribute="created_by_id", required=True, allow_none=True)
    created_at = Instant(required=True)


class SessionSchema(Schema):
    id = fields.UUID(required=True)
    event = fields.UUID(attribute="event_id", required=True)
    room = fields.UUID(attribute="room_id", required=True)
    room_name = fields.String(attribute="room.name", required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    speaker_name = fields.String(required=True)
    speaker_title = fields.String(required=True)
    speaker_bio = fields.String(required=True)
    speaker_photo_url = fields.String(required=True, allow_none=True)
    start_time = Instant(required=True)
    end_time = Instant(required=True)
    theme = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(SESSION_STATUSES)})
    session_type = fields.String(required=True, metadata={"enum": list(SESSION_TYPES)})
    is_paid = fields.Boolean(required=True)
    price = Money(required=True, metadata={"example": "1500.00"})
    youtube_live_url = fields.String(required=True, allow_none=True)
    cover_image_url = fields.String(required=True, allow_none=True)
    is_live = fields.Boolean(required=True)
    created_by = fields.Integer(attribute="created_by_id", required=True, allow_none=True)
    created_at = Instant(required=True)


class EventFilterArgs(PageArgs):
    event_id = QueryUUID(metadata={"description": "must be the event of the token"})


class RoomListArgs(EventFilterArgs):
    is_active = QueryBool()


class SessionListArgs(EventFilterArgs):
    room_id = QueryUUID()
    status = QueryChoice(SESSION_STATUSES)
    session_type = QueryChoice(SESSION_TYPES)
    is_paid = QueryBool()
