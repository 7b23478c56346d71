"""People: participants and user assignments, their filters, bodies and answers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from marshmallow import ValidationError, fields

from server.auth.tokens import MAX_USER_ID
from server.schema import (
    Choice,
    Email,
    JsonBool,
    JsonInt,
    PageArgs,
    QueryBool,
    QueryChoice,
    QueryInt,
    QueryUUID,
    Schema,
    StrictSchema,
    Text,
)
from shared.roles import ALL_ROLES

ROLES = sorted(ALL_ROLES)


class ParticipantSchema(Schema):
    """The seed's Participant, with the person's name, email and organisation."""

    id = fields.UUID(required=True)
    user = fields.Integer(required=True)
    event = fields.UUID(required=True)
    badge_number = fields.String(required=True)
    qr_code_data = fields.String(required=True)
    registration_date = fields.String(required=True, metadata={"format": "date-time"})
    plan_file = fields.String(
        required=True, allow_none=True, metadata={"description": "the plan's URL (a PDF)"}
    )
    name = fields.String(required=True)
    email = fields.String(required=True)
    organisation = fields.String(required=True)
    allowed_room_ids = fields.List(fields.UUID(), required=True)


class UUIDList(fields.List):
    """A JSON list of UUID strings (at most ``max_items``), repeats dropped."""

    def __init__(self, *, max_items: int = 1000, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})["maxItems"] = max_items
        super().__init__(fields.UUID(), **kwargs)
        self.max_items = max_items

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise ValidationError("must be a list of UUIDs")
        if len(value) > self.max_items:
            raise ValidationError(f"must have at most {self.max_items} items")
        out: list[uuid.UUID] = []
        for item in value:
            try:
                parsed = uuid.UUID(item) if isinstance(item, str) else None
            except ValueError:
                parsed = None
            if parsed is None:
                raise ValidationError("must be a list of UUIDs")
            if parsed not in out:
                out.append(parsed)
        return out


class JsonObject(fields.Dict):
    """A JSON object of at most ``max_len`` characters as JSON text."""

    def __init__(self, *, max_len: int = 4096, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_len = max_len

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError("must be a JSON object")
        if len(json.dumps(value, ensure_ascii=False)) > self.max_len:
            raise ValidationError(f"must be at most {self.max_len} characters as JSON")
        return dict(value)


class _PersonFields(StrictSchema):
    """Who: ``user`` (an account's id) or ``email`` (the account, created if none
    has it, with ``first_name`` and ``last_name``)."""

    user = JsonInt(minimum=1, maximum=MAX_USER_ID, metadata={"description": "an account"})
    email = Email(metadata={"description": "the account, created if none has it"})
    first_name = Text(max_len=150, allow_blank=True, controls="line")
    last_name = Text(max_len=150, allow_blank=True, controls="line")


class ParticipantBodySchema(_PersonFields):
    """Create: ``user`` or ``email`` (a new account's ``first_name``, ``last_name``),
    and ``badge_number``. PUT: ``badge_number`` required; PATCH: any field.
    The person cannot change. ``plan_file``: ``null`` removes the plan; a new one
    comes as a file in a multipart form with the other fields."""

    put_requires = ("badge_number",)

    badge_number = Text(max_len=50, controls="line")
    organisation = Text(max_len=200, allow_blank=True, controls="line")
    allowed_room_ids = UUIDList(metadata={"description": "rooms of the event; empty: all"})
    plan_file = fields.Raw(
        allow_none=True, metadata={"nullable": True, "description": "null: remove the plan"}
    )


class ParticipantFormSchema(ParticipantBodySchema):
    """The same as a multipart form, with the plan as a file."""

    user = fields.String(metadata={"pattern": "^[0-9]{1,10}$"})
    plan_file = fields.Raw(metadata={"type": "string", "format": "binary"})


class ParticipantListArgs(PageArgs):
    event_id = QueryUUID(metadata={"description": "must be the event of the token"})
    badge_number = fields.String()
    search = fields.String(metadata={"description": "in the name or the email, any case"})


class AssignmentSchema(Schema):
    """The seed's UserEventAssignment, with the person's name and email."""

    id = fields.UUID(required=True)
    user = fields.Integer(required=True)
    event = fields.UUID(required=True)
    role = fields.String(required=True, metadata={"enum": ROLES})
    is_active = fields.Boolean(required=True)
    metadata = fields.Dict(required=True)
    assigned_by = fields.Integer(required=True, allow_none=True)
    assigned_at = fields.String(required=True, metadata={"format": "date-time"})
    name = fields.String(required=True)
    email = fields.String(required=True)


class AssignmentBodySchema(_PersonFields):
    """Create: ``user`` or ``email``, and ``role``. PUT: ``role`` required; PATCH:
    any field. The person cannot change; ``is_active: false`` withdraws the role."""

    put_requires = ("role",)

    role = Choice(sorted(ALL_ROLES))
    is_active = JsonBool(none_is_missing=True, metadata={"description": "false: withdrawn"})
    metadata = JsonObject(
        metadata={"description": '{"assigned_room_id": "<a room of the event>"} for staff'}
    )


class AssignmentListArgs(PageArgs):
    user = QueryInt()
    event = QueryUUID(metadata={"description": "must be the event of the token"})
    role = QueryChoice(ALL_ROLES)
    is_active = QueryBool()
