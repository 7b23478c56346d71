"""Exposant scans: the booth visit body, its answers and the listing filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import ValidationError, fields

from server.schema import PageArgs, QueryChoice, QuerySchema, QueryUUID, Schema
from shared.decision import Reason
from shared.sync import SCAN_STATUSES

#: the workbook answer of export_excel
XLSX = {
    "content": {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}
        }
    }
}


class ScanCreateSchema(Schema):
    qr_data = fields.Raw(
        metadata={
            "description": "the visitor's badge (qr_code_data); or scanned_participant",
            "oneOf": [{"type": "string"}, {"type": "object"}],
        }
    )
    scanned_participant = fields.UUID()
    notes = fields.String(metadata={"maxLength": 1000})


class VisitorSchema(Schema):
    user_id = fields.Integer(required=True, allow_none=True)
    name = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    organisation = fields.String(required=True, allow_none=True)
    badge_id = fields.String(required=True, allow_none=True)


class ScanSchema(Schema):
    id = fields.UUID(required=True)
    exposant = fields.UUID(required=True)
    exposant_user_id = fields.Integer(required=True, allow_none=True)
    scanned_participant = fields.UUID(required=True, allow_none=True)
    event = fields.UUID(required=True)
    scanned_at = fields.String(required=True, metadata={"format": "date-time"})
    notes = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    reason = fields.String(required=True, allow_none=True)
    server_status = fields.String(required=True, allow_none=True)
    server_reason = fields.String(required=True, allow_none=True)
    visitor = fields.Nested(VisitorSchema, required=True)
    client_id = fields.UUID(required=True, allow_none=True)
    kiosk_id = fields.UUID(required=True, allow_none=True)
    received_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    decided_offline = fields.Boolean(required=True, allow_none=True)


class ScanRecordedSchema(ScanSchema):
    """A recorded visit; a refused one also carries the error body's fields."""

    error = fields.String()
    code = fields.String()
    fields = fields.Dict()


class QueryDay(fields.Date):
    """A UTC day, YYYY-MM-DD: read as (its start, the next day's start)."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[datetime, datetime]:
        try:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return day, day + timedelta(days=1)
        except (TypeError, ValueError, OverflowError):
            raise ValidationError("must be a date, YYYY-MM-DD") from None


class ScanListArgs(PageArgs):
    event_id = QueryUUID()
    status = QueryChoice(SCAN_STATUSES)
    reason = QueryChoice([r.value for r in Reason])
    exposant = QueryUUID()
    scanned_participant = QueryUUID()
    kiosk = QueryUUID()
    date = QueryDay(metadata={"description": "a UTC day, YYYY-MM-DD"})


class MyScansArgs(QuerySchema):
    event_id = QueryUUID(metadata={"description": "must be the event of the token"})


class MyScansSchema(Schema):
    total_visits = fields.Integer(required=True)
    today_visits = fields.Integer(required=True)
    scans = fields.List(fields.Nested(ScanSchema), required=True)


class ExportArgs(QuerySchema):
    action = QueryChoice(("download", "share"))
