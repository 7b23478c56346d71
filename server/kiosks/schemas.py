"""Kiosks: devices, provisioning, and the sync feed and scan upload (documented only:
those two parse and write their JSON by hand, see ``server.kiosks.sync``)."""

from __future__ import annotations

from marshmallow import fields
from marshmallow.validate import OneOf

from server.auth.schemas import MAX_PASSWORD
from server.kiosks.models import KIOSK_MODES
from server.schema import Email, Instant, JsonInt, JsonUUID, PageArgs, Schema, Text
from shared.sync import (
    ENTITIES,
    MAX_BATCH,
    MAX_NOTES,
    MAX_QUEUE_LENGTH,
    SCAN_KINDS,
    SCAN_STATUSES,
)

#: the most changes one page of the feed holds
MAX_LIMIT = 5000


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
    """A kiosk as organizers see it (``server.kiosks.api.KioskView``)."""

    id = fields.UUID(attribute="kiosk.id", required=True)
    name = fields.String(attribute="kiosk.name", required=True)
    event_id = fields.UUID(attribute="kiosk.event_id", required=True)
    mode = fields.String(
        attribute="kiosk.mode", required=True, metadata={"enum": list(KIOSK_MODES)}
    )
    room_id = fields.UUID(attribute="kiosk.room_id", required=True, allow_none=True)
    room_name = fields.String(required=True, allow_none=True)
    exposant_user_id = fields.Integer(required=True, allow_none=True)
    pinned_session_id = fields.UUID(
        attribute="kiosk.pinned_session_id", required=True, allow_none=True
    )
    provisioned = fields.Boolean(required=True)
    revoked = fields.Boolean(required=True)
    created_at = Instant(attribute="kiosk.created_at", required=True, allow_none=True)
    last_seen_at = Instant(attribute="kiosk.last_seen_at", required=True, allow_none=True)
    cursor = fields.Integer(attribute="kiosk.last_cursor_seq", required=True, allow_none=True)
    cursor_lag = fields.Integer(
        required=True, allow_none=True, metadata={"description": "changes the kiosk has not pulled"}
    )
    queue_length = fields.Integer(attribute="kiosk.queue_length", required=True, allow_none=True)
    clock_offset_ms = fields.Integer(
        attribute="kiosk.clock_offset_ms", required=True, allow_none=True
    )


class KioskCreatedSchema(Schema):
    kiosk = fields.Nested(KioskSchema, required=True)
    provisioning_code = fields.String(required=True)
    code_expires_at = Instant(required=True)


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


class KeyRecordSchema(Schema):
    """A public key as the wire carries it (``shared.signing.key_record``)."""

    kid = fields.String(required=True)
    alg = fields.String(required=True)
    public_key = fields.String(required=True, metadata={"description": "base64url"})


class _EventRefSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class _KeysSchema(Schema):
    """The keys a kiosk holds: to check badges with, and to seal its scans to."""

    badge_keys = fields.List(
        fields.Nested(KeyRecordSchema),
        required=True,
        metadata={"description": "the keys badges are signed with"},
    )
    seal_key = fields.Nested(
        KeyRecordSchema, required=True, metadata={"description": "the key scans are sealed to"}
    )


class ProvisionedSchema(_KeysSchema):
    kiosk = fields.Nested(KioskSchema, required=True)
    device_token = fields.String(required=True)
    event = fields.Nested(_EventRefSchema, required=True)


class ChangesArgs(Schema):
    cursor = fields.String(metadata={"description": "the previous page's cursor; 0: start"})
    limit = fields.Integer(metadata={"minimum": 1, "maximum": MAX_LIMIT, "default": 1000})


class ChangeSchema(Schema):
    """One record's change (``shared.sync.Change``): an upsert of the whole
    record, or a tombstone (``delete``, no data)."""

    seq = fields.Integer(required=True)
    entity = fields.String(required=True, metadata={"enum": list(ENTITIES)})
    key = fields.String(required=True)
    op = fields.String(required=True, metadata={"enum": ["upsert", "delete"]})
    data = fields.Dict(required=True, allow_none=True)


class ChangesSchema(_KeysSchema):
    """A page of the event's records: a snapshot, then deltas (``shared.sync.ChangePage``)."""

    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    cursor = fields.String(required=True, metadata={"description": "ask for the next page with it"})
    has_more = fields.Boolean(required=True)
    server_time = Instant(required=True)
    reset = fields.Boolean(
        required=True, metadata={"description": "a snapshot's first page: empty the copy first"}
    )
    snapshot = fields.Boolean(required=True)
    latest_seq = fields.Integer(
        required=True, metadata={"description": "the event's newest change (lag: latest - cursor)"}
    )


class UploadedScanSchema(Schema):
    """One scan as a kiosk made it (``shared.sync.Scan``, checked by ``parse_scan``)."""

    client_id = fields.UUID(required=True, metadata={"description": "made on the kiosk: the nonce"})
    kind = fields.String(required=True, metadata={"enum": list(SCAN_KINDS)})
    payload = fields.String(
        required=True, metadata={"description": "the badge's QR text, sealed to seal_key"}
    )
    scanned_at = fields.DateTime(required=True, metadata={"description": "with its zone"})
    status = fields.String(required=True, metadata={"enum": list(SCAN_STATUSES)})
    reason = fields.String(required=True, metadata={"description": "the kiosk's reason code"})
    decided_offline = fields.Boolean(required=True)
    room_id = fields.UUID(allow_none=True)
    session_id = fields.UUID(allow_none=True)
    notes = fields.String(allow_none=True, metadata={"maxLength": MAX_NOTES})


class ScanBatchSchema(Schema):
    scans = fields.List(
        fields.Nested(UploadedScanSchema), required=True, metadata={"maxItems": MAX_BATCH}
    )
    queue_length = fields.Integer(
        metadata={"minimum": 0, "maximum": MAX_QUEUE_LENGTH, "description": "scans still queued"}
    )
    clock_offset_ms = fields.Integer(allow_none=True)
    cursor = fields.String(allow_none=True, metadata={"description": "the kiosk's feed cursor"})


class VisitorContactSchema(Schema):
    """A booth visitor's contact, sent once the visit has synced."""

    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    organisation = fields.String(required=True)


class ScanResultSchema(Schema):
    """What the server made of one uploaded scan (``shared.sync.ScanResult``)."""

    client_id = fields.String(required=True)
    result = fields.String(required=True, metadata={"enum": ["accepted", "duplicate", "rejected"]})
    reason = fields.String(required=True, allow_none=True)
    server_status = fields.String(required=True, allow_none=True)
    server_reason = fields.String(required=True, allow_none=True)
    visitor = fields.Nested(VisitorContactSchema)


class ScanBatchAnswerSchema(Schema):
    results = fields.List(fields.Nested(ScanResultSchema), required=True)
    server_time = Instant(required=True)
    accepted = fields.Integer(required=True)
    duplicate = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
