"""Kiosks: devices, provisioning, and the sync feed and scan upload (documented only:
those two parse and write their JSON by hand, see ``server.kiosks.sync``)."""

from __future__ import annotations

from marshmallow import fields

from server.schema import PageArgs, Schema


class KioskCreateSchema(Schema):
    name = fields.String(required=True, metadata={"maxLength": 100})
    mode = fields.String(required=True, metadata={"enum": ["door", "booth"]})
    room_id = fields.UUID(metadata={"description": "a door kiosk's room"})
    exposant_user_id = fields.Integer(metadata={"minimum": 1, "description": "a booth's"})
    pinned_session_id = fields.UUID()


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


class KioskCreatedSchema(KioskSchema):
    provisioning_code = fields.String()


class KioskListArgs(PageArgs):
    pass


class ProvisionSchema(Schema):
    """A one-time code, or a controller's, gestionnaire's or exposant's login."""

    code = fields.String(metadata={"maxLength": 40})
    email = fields.String(metadata={"format": "email"})
    password = fields.String(metadata={"maxLength": 128})
    room_id = fields.UUID()
    event_id = fields.UUID()
    name = fields.String(metadata={"maxLength": 100})


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
