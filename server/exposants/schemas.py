"""Exposant scans: the booth visit body, its answers and the listing filters."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, post_dump

from server.schema import (
    Flat,
    Instant,
    JsonUUID,
    PageArgs,
    QrData,
    QueryChoice,
    QueryDay,
    QuerySchema,
    QueryUUID,
    Schema,
    Text,
)
from shared.decision import Reason
from shared.sync import MAX_NOTES, SCAN_STATUSES

STATUSES = list(SCAN_STATUSES)


class ScanCreateSchema(Schema):
    """``qr_data`` or ``scanned_participant`` (one of them), and ``notes``."""

    qr_data = QrData(
        metadata={"description": "the visitor's badge (qr_code_data); or scanned_participant"}
    )
    scanned_participant = JsonUUID(metadata={"description": "a participant of the event"})
    notes = Text(max_len=MAX_NOTES, allow_blank=True, controls="text")


class VisitorSchema(Schema):
    """The visitor of a scan (``ScanRow``): named by the badge's user id."""

    user_id = fields.Integer(attribute="scan.user_id", required=True, allow_none=True)
    name = fields.String(attribute="visitor_name", required=True, allow_none=True)
    email = fields.String(attribute="visitor_email", required=True, allow_none=True)
    organisation = fields.String(required=True, allow_none=True)
    # without its secret part: an exposant must not be able to make the badge
    badge_id = fields.String(attribute="visitor_badge", required=True, allow_none=True)


class ScanSchema(Schema):
    """A booth scan (``ScanRow``: the scan, its visitor, the exposant's user id)."""

    id = fields.UUID(attribute="scan.id", required=True)
    exposant = fields.UUID(attribute="scan.exposant_id", required=True)
    exposant_user_id = fields.Integer(required=True, allow_none=True)
    scanned_participant = fields.UUID(
        attribute="scan.scanned_participant_id", required=True, allow_none=True
    )
    event = fields.UUID(attribute="scan.event_id", required=True)
    scanned_at = Instant(attribute="scan.scanned_at", required=True)
    notes = fields.String(attribute="scan.notes", required=True, allow_none=True)
    status = fields.String(attribute="scan.status", required=True, metadata={"enum": STATUSES})
    reason = fields.String(attribute="scan.reason", required=True, allow_none=True)
    server_status = fields.String(attribute="scan.server_status", required=True, allow_none=True)
    server_reason = fields.String(attribute="scan.server_reason", required=True, allow_none=True)
    visitor = Flat(VisitorSchema, required=True)
    client_id = fields.UUID(attribute="scan.client_id", required=True, allow_none=True)
    kiosk_id = fields.UUID(attribute="scan.kiosk_id", required=True, allow_none=True)
    received_at = Instant(attribute="scan.received_at", required=True, allow_none=True)
    decided_offline = fields.Boolean(
        attribute="scan.decided_offline", required=True, allow_none=True
    )


#: what a refused scan's answer adds (the error body's keys), only when refused
_REFUSAL = ("error", "code", "fields")


class ScanRecordedSchema(ScanSchema):
    """A recorded visit (``RecordedScan``) and the verdict's message; a refused
    one also carries the error body's fields."""

    message = fields.String(required=True)
    error = fields.String()
    code = fields.String()

    @post_dump
    def _refusal_only(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        for key in _REFUSAL:
            if data.get(key) is None:
                data.pop(key, None)
        return data

    fields = fields.Dict(keys=fields.String(), values=fields.String())


class ScanListArgs(PageArgs):
    event_id = QueryUUID()
    status = QueryChoice(SCAN_STATUSES)
    reason = QueryChoice([r.value for r in Reason])
    exposant = QueryUUID()
    scanned_participant = QueryUUID()
    kiosk = QueryUUID()
    date = QueryDay(metadata={"description": "a UTC day, YYYY-MM-DD"})


class MyScansArgs(PageArgs):
    event_id = QueryUUID(metadata={"description": "must be the event of the token"})


class MyScansSchema(Schema):
    """The seed's totals, and one page of the visits (``scans`` is ``results``)."""

    total_visits = fields.Integer(required=True)
    today_visits = fields.Integer(required=True)
    count = fields.Integer(required=True)
    next = fields.String(required=True, allow_none=True)
    previous = fields.String(required=True, allow_none=True)
    results = fields.List(fields.Nested(ScanSchema), required=True)
    scans = fields.List(
        fields.Nested(ScanSchema), required=True, metadata={"description": "the same as results"}
    )


class ExportArgs(QuerySchema):
    action = QueryChoice(("download", "share"))
