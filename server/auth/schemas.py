"""Authentication: request bodies and answers (the seed's login shapes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import request
from marshmallow import ValidationError, fields, pre_load

from server.badges import signed_badge
from server.media import stored_url
from server.schema import REQUIRED, Email, Instant, JsonUUID, Schema, Text

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
    """A user's badge (their ``UserProfile``), signed: the same in every event;
    ``is_checked_in``: let in by a door of this event (``server.access.checkin``)."""

    badge_id = fields.String(required=True)
    qr_code_data = fields.Function(
        lambda view: signed_badge(view.profile).payload(),
        required=True,
        metadata={"type": "string", "description": "the badge's QR code text, signed"},
    )
    is_checked_in = fields.Boolean(required=True)


class CurrentBadgeSchema(BadgeSchema):
    checked_in_at = Instant(
        required=True,
        allow_none=True,
        metadata={"description": "the first time a door of this event let the badge in"},
    )


#: an event's status, from its dates (``Event.status``)
EVENT_STATUSES = ["upcoming", "ongoing", "finished"]


class EventSummarySchema(Schema):
    """An event as the login and my-events answers show it, with the user's badge
    (``server.auth.api.Membership``); controllers get none."""

    id = fields.UUID(attribute="event.id", required=True)
    name = fields.String(attribute="event.name", required=True)
    role = fields.String(required=True)
    start_date = Instant(attribute="event.start_date", required=True)
    end_date = Instant(attribute="event.end_date", required=True)
    status = fields.String(
        attribute="event.status", required=True, metadata={"enum": EVENT_STATUSES}
    )
    location = fields.String(attribute="event.location", required=True)
    logo_url = fields.Function(
        lambda m: stored_url(m.event.logo),
        required=True,
        allow_none=True,
        metadata={"type": "string"},
    )
    banner_url = fields.Function(
        lambda m: stored_url(m.event.banner),
        required=True,
        allow_none=True,
        metadata={"type": "string"},
    )
    badge = fields.Nested(BadgeSchema, required=True, allow_none=True)


class CurrentEventSchema(EventSummarySchema):
    """The event a token is for: the summary, the badge's check-in and what the
    role may do in the client app."""

    badge = fields.Nested(CurrentBadgeSchema, required=True, allow_none=True)
    permissions = fields.List(fields.String(), required=True)


class LoginAnswerSchema(Schema):
    """Tokens straight away (one event, or none), or an event to choose first."""

    access = fields.String()
    refresh = fields.String()
    user = fields.Nested(UserSchema, required=True)
    current_event = fields.Nested(CurrentEventSchema, allow_none=True)
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


class ProfileSchema(Schema):
    """The caller's account, badge and current event (``server.auth.api.ProfileView``)."""

    id = fields.Integer(attribute="user.id", required=True)
    username = fields.String(attribute="user.username", required=True)
    email = fields.String(attribute="user.email", required=True)
    first_name = fields.String(attribute="user.first_name", required=True)
    last_name = fields.String(attribute="user.last_name", required=True)
    is_active = fields.Boolean(attribute="user.is_active", required=True)
    date_joined = Instant(attribute="user.date_joined", required=True)
    qr_code_data = fields.Function(
        lambda view: json.loads(signed_badge(view.profile).payload()),
        required=True,
        metadata={"type": "object", "description": "the badge's QR code, decoded"},
    )
    badge = fields.Nested(CurrentBadgeSchema, required=True)
    current_event_id = fields.UUID(attribute="event_id", required=True, allow_none=True)
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
    email = Email(required=True)


class PasswordResetConfirmSchema(Schema):
    token = Text(required=True, max_len=128, controls="line")
    new_password = Text(required=True, max_len=MAX_PASSWORD, allow_blank=True)
