"""Access: the verify body and its verdicts, badges, room statistics, discrepancies."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields

from server.schema import JsonBool, JsonInt, Schema


class VerifyAccessSchema(Schema):
    qr_data = fields.Raw(
        required=True,
        metadata={
            "description": "the badge's qr_code_data: the JSON text, or the object itself",
            "oneOf": [{"type": "string"}, {"type": "object"}],
        },
    )
    session = fields.UUID(
        allow_none=True, metadata={"description": "no session: the one running in the room now"}
    )


class VerdictSchema(Schema):
    """A scan's verdict: the HTTP status is the seed's (200, 400, 402, 403, 404)."""

    status = fields.String(required=True, metadata={"enum": ["granted", "denied"]})
    reason = fields.String(required=True)
    message = fields.String(required=True)
    detail = fields.String()
    participant = fields.Dict()
    role = fields.String()
    user = fields.Dict()
    session = fields.Dict()
    access = fields.Dict(required=True)


class PositiveId(JsonInt):
    """A user id: a positive JSON integer (past the largest id: no such user, a 404)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(minimum=1, maximum=2**63 - 1, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if type(value) is not int or value <= 0:
            raise ValidationError("must be a positive integer")
        return value


class GenerateSchema(Schema):
    user_id = PositiveId(required=True)
    reissue = JsonBool(
        load_default=False, metadata={"description": "a new badge; the old one is revoked"}
    )


class GeneratedBadgeSchema(Schema):
    user_id = fields.Integer(required=True)
    badge_id = fields.String(required=True)
    qr_code_data = fields.String(required=True)
    qr_code_image = fields.String(required=True, metadata={"description": "a PNG data URI"})
    reissued = fields.Boolean(required=True)


class RoomStatisticsSchema(Schema):
    room = fields.Dict(required=True)
    statistics = fields.Dict(required=True)
    recent_scans = fields.List(fields.Dict(), required=True)


class DiscrepancySchema(Schema):
    id = fields.UUID(required=True)
    kind = fields.String(required=True, metadata={"enum": ["room_access", "booth_visit"]})
    client_id = fields.UUID(required=True, allow_none=True)
    kiosk_id = fields.UUID(required=True, allow_none=True)
    room_id = fields.UUID(required=True, allow_none=True)
    user_id = fields.Integer(required=True, allow_none=True)
    scanned_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    received_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    decided_offline = fields.Boolean(required=True, allow_none=True)
    kiosk = fields.Dict(required=True)
    server = fields.Dict(required=True)
