"""Kiosks: devices, provisioning, and the sync feed and scan upload (documented only:
those two parse and write their JSON by hand, see ``server.kiosks.sync``)."""

from __future__ import annotations

from marshmallow import fields
from marshmallow.validate import OneOf

from server.auth.schemas import MAX_PASSWORD
from server.kiosks.models import KIOSK_MODES
from server.schema import Email, JsonInt, JsonUUID, PageArgs, Schema, Text


class KioskCreateSchema(Schema):
    name = Text(required=True, max_len=100, controls="line")
    mode = Text(
        required=True,
        max_len=10,
        validate=OneOf(KIOSK_MODES, error="must be door or booth"),
        metadata={"enum": list(KIOSK_MODES)},
    )
    exposant_user_id = JsonInt(minimum=1, metadata={"description": "a booth kiosk's exposant"})
    room_id = JsonUUID(metadata={"description": "a door kiosk's room"})
    pinned_session_id = JsonUUID()


class KioskSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    event_id = fields.UUID(required=True)
    mode = fields.String(required=True)
    room_id = fields.UUID(required=True, allow_none=True)
    room_name = fields.String(required=True, allow_none=True)
    exposant_user_id = fields.Integer(required=True, allow_none=True)
    pinned_session_id = fields.UUID(required=True, allow_none=True)
    provisioned = fields.Boolean(required=True)
    revoked = fields.Boolean(required=True)
    created_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    last_seen_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    cursor = fields.Integer(required=True, allow_none=True)
    cursor_lag = fields.Integer(required=True, allow_none=True)
    queue_length = fields.Integer(required=True, allow_none=True)
    clock_offset_ms = fields.Integer(required=True, allow_none=True)


class KioskCreatedSchema(Schema):
    kiosk = fields.Nested(KioskSchema, required=True)
    provisioning_code = fields.String(required=True)
    code_expires_at = fields.String(required=True, metadata={"format": "date-time"})


class KioskListArgs(PageArgs):
    pass


class ProvisionCodeSchema(Schema):
    """A one-time code from POST /api/kiosks/."""

    code = Text(required=True, max_len=40, controls="line")


class ProvisionLoginSchema(Schema):
    """A controller's or gestionnaire's login (door: ``room_id``) or an exposant's."""

    email = Email(required=True)
    password = Text(required=True, max_len=MAX_PASSWORD, allow_blank=True)
    room_id = JsonUUID()
    event_id = JsonUUID()
    name = Text(max_len=100, controls="line")


PROVISION_BODY = {"oneOf": [ProvisionCodeSchema, ProvisionLoginSchema]}


class ProvisionedSchema(Schema):
    kiosk = fields.Nested(KioskSchema, required=True)
    device_token = fields.String(required=True)
    event = fields.Dict(required=True)
    badge_keys = fields.List(fields.Dict(), required=True)
    seal_key = fields.Dict(required=True)


class ChangesArgs(Schema):
    cursor = fields.String(metadata={"description": "the previous page's cursor; 0: start"})
    limit = fields.Integer(metadata={"minimum": 1, "maximum": 5000})


class ChangesSchema(Schema):
    """A page of the event's records: a snapshot, then deltas."""

    changes = fields.List(fields.Dict())
    cursor = fields.String(required=True)
    has_more = fields.Boolean()
    reset = fields.Boolean()


class ScanBatchSchema(Schema):
    scans = fields.List(fields.Dict(), required=True)


class ScanBatchAnswerSchema(Schema):
    results = fields.List(fields.Dict(), required=True)
    server_time = fields.String(required=True, metadata={"format": "date-time"})
    accepted = fields.Integer(required=True)
    duplicate = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
