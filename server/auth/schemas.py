"""Authentication: request bodies and answers (the seed's login shapes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request
from marshmallow import ValidationError, fields, pre_load

from server.schema import REQUIRED, Email, JsonUUID, Schema, Text

MIN_PASSWORD = 8
MAX_PASSWORD = 128


class UserSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)


class RegisterSchema(Schema):
    username = Text(required=True, max_len=150, controls="line")
    email = Email(required=True)
    password = Text(required=True, max_len=MAX_PASSWORD, allow_blank=True)
    first_name = Text(load_default="", max_len=150, controls="line")
    last_name = Text(load_default="", max_len=150, controls="line")


class LoginSchema(Schema):
    email = Email(required=True)
    password = Text(required=True, max_len=MAX_PASSWORD, allow_blank=True)
    event_id = JsonUUID(metadata={"description": "log straight into this event"})


class EventChoiceSchema(Schema):
    event_id = JsonUUID(required=True)


#: what a profile update may change
PROFILE_FIELDS = ("username", "email", "first_name", "last_name")


class ProfileUpdateSchema(Schema):
    """PUT: ``username`` and ``email`` required; PATCH: any of the four."""

    username = Text(max_len=150, controls="line")
    email = Email()
    first_name = Text(max_len=150, allow_blank=True, controls="line")
    last_name = Text(max_len=150, allow_blank=True, controls="line")

    @pre_load
    def _only_these(self, data: Any, **_: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(PROFILE_FIELDS))
            if unknown:
                raise ValidationError({unknown[0]: "cannot be changed here"})
            if request.method == "PUT":
                for name in ("username", "email"):
                    if data.get(name) is None:
                        raise ValidationError({name: REQUIRED})
        return data


class ChangePasswordSchema(Schema):
    old_password = Text(required=True, max_len=MAX_PASSWORD, allow_blank=True)
    new_password = Text(required=True, max_len=MAX_PASSWORD, allow_blank=True)


class RefreshSchema(Schema):
    refresh = Text(required=True, max_len=4096)


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


class PasswordChangedSchema(Schema):
    detail = fields.String(required=True)
    access = fields.String(required=True)
    refresh = fields.String(required=True)


class DetailSchema(Schema):
    detail = fields.String(required=True)


class AccessTokenSchema(Schema):
    access = fields.String(required=True)
