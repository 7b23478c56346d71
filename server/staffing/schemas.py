"""Room assignments: request bodies, filters and answers (the seed's fields)."""

from __future__ import annotations

from typing import Any

from marshmallow import fields
from marshmallow.validate import OneOf

from server.schema import (
    Instant,
    JsonBool,
    JsonInstant,
    JsonInt,
    JsonUUID,
    PageArgs,
    QueryBool,
    QueryChoice,
    QueryInt,
    QueryUUID,
    Schema,
    Text,
)
from shared.roles import SCANNER_ROLES

#: the roles a room assignment holds (the seed's Role Choices)
ASSIGNMENT_ROLES = tuple(sorted(SCANNER_ROLES))


def _role(**kwargs: Any) -> Text:
    error = "must be one of: " + ", ".join(ASSIGNMENT_ROLES)
    return Text(validate=OneOf(ASSIGNMENT_ROLES, error=error), **kwargs)


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

    user = JsonInt(minimum=1, metadata={"description": "a user with an active role in the event"})
    room = JsonUUID(metadata={"description": "a room of the event"})
    role = _role()
    start_time = JsonInstant(none_is_missing=False)
    end_time = JsonInstant(none_is_missing=False, metadata={"description": "after start_time"})
    is_active = JsonBool()


class RoomAssignmentInSchema(RoomAssignmentPatchSchema):
    """A new or rewritten assignment (POST, PUT): is_active is true by default."""

    user = JsonInt(
        minimum=1,
        required=True,
        metadata={"description": "a user with an active role in the event"},
    )
    room = JsonUUID(required=True, metadata={"description": "a room of the event"})
    role = _role(required=True)
    start_time = JsonInstant(required=True, none_is_missing=False)
    end_time = JsonInstant(
        required=True, none_is_missing=False, metadata={"description": "after start_time"}
    )


class RoomAssignmentListArgs(PageArgs):
    event_id = QueryUUID(metadata={"description": "must be the event of the token"})
    room_id = QueryUUID()
    user_id = QueryInt()
    role = QueryChoice(ASSIGNMENT_ROLES)
    is_active = QueryBool()
    current = QueryBool(
        metadata={"description": "true: the active assignments covering now; false: the others"}
    )
