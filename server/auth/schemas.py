"""Authentication: request bodies and answers (the seed's login shapes)."""

from __future__ import annotations

from marshmallow import fields

from server.schema import Schema


class UserSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)


class RegisterSchema(Schema):
    username = fields.String(required=True, metadata={"maxLength": 150})
    email = fields.String(required=True, metadata={"format": "email", "maxLength": 254})
    password = fields.String(required=True, metadata={"minLength": 8, "maxLength": 128})
    first_name = fields.String(metadata={"maxLength": 150})
    last_name = fields.String(metadata={"maxLength": 150})


class LoginSchema(Schema):
    email = fields.String(required=True, metadata={"format": "email", "maxLength": 254})
    password = fields.String(required=True, metadata={"maxLength": 128})
    event_id = fields.UUID(metadata={"description": "log straight into this event"})


class EventChoiceSchema(Schema):
    event_id = fields.UUID(required=True)


class ProfileUpdateSchema(Schema):
    username = fields.String(metadata={"maxLength": 150})
    email = fields.String(metadata={"format": "email", "maxLength": 254})
    first_name = fields.String(metadata={"maxLength": 150})
    last_name = fields.String(metadata={"maxLength": 150})


class ChangePasswordSchema(Schema):
    old_password = fields.String(required=True, metadata={"maxLength": 128})
    new_password = fields.String(required=True, metadata={"minLength": 8, "maxLength": 128})


class RefreshSchema(Schema):
    refresh = fields.String(required=True, metadata={"maxLength": 4096})


class BadgeSchema(Schema):
    badge_id = fields.String(required=True)
    qr_code_data = fields.String(required=True)
    is_checked_in = fields.Boolean(required=True)


class EventSummarySchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    start_date = fields.String(required=True, metadata={"format": "date-time"})
    end_date = fields.String(required=True, metadata={"format": "date-time"})
    status = fields.String(required=True, metadata={"enum": ["upcoming", "ongoing", "past"]})
    location = fields.String(required=True)
    logo_url = fields.String(required=True, allow_none=True)
    banner_url = fields.String(required=True, allow_none=True)
    badge = fields.Nested(BadgeSchema, required=True, allow_none=True)


class LoginAnswerSchema(Schema):
    """Tokens straight away (one event, or none), or an event to choose first."""

    access = fields.String()
    refresh = fields.String()
    user = fields.Nested(UserSchema, required=True)
    current_event = fields.Dict(allow_none=True)
    badge = fields.Nested(BadgeSchema)
    requires_event_selection = fields.Boolean(required=True)
    available_events = fields.List(fields.Nested(EventSummarySchema))
    temp_token = fields.String()


class MyEventsSchema(Schema):
    count = fields.Integer(required=True)
    next = fields.String(required=True, allow_none=True)
    previous = fields.String(required=True, allow_none=True)
    results = fields.List(fields.Nested(EventSummarySchema), required=True)
    current_event_id = fields.UUID(required=True, allow_none=True)


class ProfileSchema(UserSchema):
    is_active = fields.Boolean(required=True)
    date_joined = fields.String(required=True, metadata={"format": "date-time"})
    qr_code_data = fields.Dict(required=True)
    badge = fields.Nested(BadgeSchema, required=True)
    current_event_id = fields.UUID(required=True, allow_none=True)
    role = fields.String(required=True, allow_none=True)
    participant_id = fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "the caller's participant record in the current event"},
    )


class PasswordChangedSchema(Schema):
    detail = fields.String(required=True)
    access = fields.String(required=True)
    refresh = fields.String(required=True)


class DetailSchema(Schema):
    detail = fields.String(required=True)


class AccessTokenSchema(Schema):
    access = fields.String(required=True)


class PasswordResetSchema(Schema):
    email = fields.String(required=True, metadata={"format": "email", "maxLength": 254})


class PasswordResetConfirmSchema(Schema):
    token = fields.String(required=True, metadata={"maxLength": 128})
    new_password = fields.String(required=True, metadata={"minLength": 8, "maxLength": 128})
