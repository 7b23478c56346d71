"""People: participants and user assignments, their filters, bodies and answers."""

from __future__ import annotations

from marshmallow import fields

from server.schema import PageArgs, QueryBool, QueryChoice, QueryInt, QueryUUID, Schema
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


class ParticipantBodySchema(Schema):
    """Create: ``user`` or ``email``, and ``badge_number``; update: any of the rest."""

    user = fields.Integer(metadata={"minimum": 1, "description": "an existing account"})
    email = fields.String(
        metadata={"format": "email", "description": "the account, created if none has it"}
    )
    first_name = fields.String(metadata={"maxLength": 150, "description": "a new account's"})
    last_name = fields.String(metadata={"maxLength": 150, "description": "a new account's"})
    badge_number = fields.String(metadata={"maxLength": 50})
    organisation = fields.String(metadata={"maxLength": 200})
    allowed_room_ids = fields.List(
        fields.UUID(), metadata={"description": "rooms of the event; empty: every room"}
    )


class ParticipantFormSchema(ParticipantBodySchema):
    """The same as a multipart form, with the plan as a file."""

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


class AssignmentBodySchema(Schema):
    user = fields.Integer(metadata={"minimum": 1, "description": "an existing account"})
    email = fields.String(
        metadata={"format": "email", "description": "the account, created if none has it"}
    )
    first_name = fields.String(metadata={"maxLength": 150})
    last_name = fields.String(metadata={"maxLength": 150})
    role = fields.String(metadata={"enum": ROLES})
    is_active = fields.Boolean(metadata={"description": "false withdraws the role"})
    metadata = fields.Dict(
        metadata={"description": '{"assigned_room_id": "<a room of the event>"} for staff'}
    )


class AssignmentListArgs(PageArgs):
    user = QueryInt()
    event = QueryUUID(metadata={"description": "must be the event of the token"})
    role = QueryChoice(ALL_ROLES)
    is_active = QueryBool()
