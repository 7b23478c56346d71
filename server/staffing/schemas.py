"""Room assignments: request bodies, filters and answers (the seed's fields)."""

from __future__ import annotations

from marshmallow import fields

from server.bodyfields import Bool, Choice, InstantIn, Int, UUIDStr
from server.schema import Instant, PageArgs, QueryBool, QueryChoice, QueryInt, QueryUUID, Schema
from shared.roles import SCANNER_ROLES

#: the roles a room assignment holds (the seed's Role Choices)
ASSIGNMENT_ROLES = tuple(sorted(SCANNER_ROLES))


class RoomAssignmentSchema(Schema):
    id = fields.UUID(required=True)
    user = fields.Integer(attribute="user_id", required=True)
    room = fields.UUID(attribute="room_id", required=True)
    event = fields.UUID(attribute="event_id", required=True)
    role = fields.String(required=True, metadata={"enum": list(ASSIGNMENT_ROLES)})
    start_time = Instant(required=True)
    end_time = Instant(required=True)
    is_active = fields.Boolean(required=True)
    assigned_by = fields.Integer(attribute="assigned_by_id", required=True, allow_none=True)
    assigned_at = Instant(required=True)


class RoomAssignmentPatchSchema(Schema):
    """The fields a PATCH may change."""

    user = Int(metadata={"description": "a user with an active role in the event"})
    room = UUIDStr(metadata={"description": "a room of the event"})
    role = Choice(ASSIGNMENT_ROLES)
    start_time = InstantIn()
    end_time = InstantIn(metadata={"description": "after start_time"})
    is_active = Bool()


class RoomAssignmentInSchema(RoomAssignmentPatchSchema):
    """A new or rewritten assignment (POST, PUT): is_active is true by default."""

    user = Int(required=True, metadata={"description": "a user with an active role in the event"})
    room = UUIDStr(required=True, metadata={"description": "a room of the event"})
    role = Choice(ASSIGNMENT_ROLES, required=True)
    start_time = InstantIn(required=True)
    end_time = InstantIn(required=True, metadata={"description": "after start_time"})


class RoomAssignmentListArgs(PageArgs):
    event_id = QueryUUID(metadata={"description": "must be the event of the token"})
    room_id = QueryUUID()
    user_id = QueryInt()
    role = QueryChoice(ASSIGNMENT_ROLES)
    is_active = QueryBool()
    current = QueryBool(
        metadata={"description": "true: the active assignments covering now; false: the others"}
    )
