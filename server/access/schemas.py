"""Access: the verify body and its verdicts, badges, room statistics, discrepancies."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields

from server.access.models import PAYMENT_STATUSES
from server.schema import (
    Amount,
    Choice,
    Instant,
    JsonBool,
    JsonInstant,
    JsonInt,
    JsonUUID,
    Money,
    PageArgs,
    QueryBool,
    QueryChoice,
    QueryDay,
    QuerySchema,
    QueryUUID,
    Schema,
    StrictSchema,
)


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
    direction = fields.String(
        allow_none=True,
        metadata={
            "enum": ["in", "out"],
            "description": "an entry (absent or null: in) or an exit: an exit passes for any "
            "person of the event with a valid badge, whatever the room or session",
        },
    )


class VerdictSchema(Schema):
    """A scan's verdict: the HTTP status is the seed's (200, 400, 402, 403, 404)."""

    status = fields.String(required=True, metadata={"enum": ["granted", "denied"]})
    reason = fields.String(required=True)
    message = fields.String(required=True)
    direction = fields.String(metadata={"enum": ["in", "out"]})
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
    is_checked_in = fields.Boolean(required=True)
    checked_in_at = fields.String(
        required=True,
        allow_none=True,
        metadata={"format": "date-time", "description": "first let in by a door of the event"},
    )


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


class SessionAccessSchema(Schema):
    """A participant's access to a paid atelier (the seed's SessionAccess)."""

    id = fields.UUID(required=True)
    participant = fields.UUID(attribute="participant_id", required=True)
    session = fields.UUID(attribute="session_id", required=True)
    payment_status = fields.String(required=True, metadata={"enum": list(PAYMENT_STATUSES)})
    has_access = fields.Boolean(required=True)
    amount_paid = Money(required=True, metadata={"example": "5000.00"})
    paid_at = Instant(required=True, allow_none=True)
    granted_at = Instant(required=True, allow_none=True)
    registered_at = Instant(required=True)


class SessionAccessBodySchema(StrictSchema):
    """A payment, a refund, a grant. Create: ``participant`` and ``session``
    required; PUT: ``payment_status`` required; the pair cannot change."""

    put_requires = ("payment_status",)

    participant = JsonUUID(metadata={"description": "required on create; cannot change"})
    session = JsonUUID(metadata={"description": "required on create; cannot change"})
    payment_status = Choice(sorted(PAYMENT_STATUSES))
    has_access = JsonBool(none_is_missing=True)
    amount_paid = Amount()
    paid_at = JsonInstant(min_year=1900, max_year=8999)


class SessionAccessListArgs(PageArgs):
    participant_id = QueryUUID()
    session_id = QueryUUID()
    payment_status = QueryChoice(PAYMENT_STATUSES)
    has_access = QueryBool()


class RoomRefSchema(Schema):
    """A room named in an answer: its id, name and capacity."""

    id = fields.UUID(required=True)
    name = fields.String(required=True)
    capacity = fields.Integer(required=True)


class _AtelierSchema(Schema):
    id = fields.UUID(required=True)
    session_id = fields.UUID(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    speaker_name = fields.String(required=True)
    speaker_title = fields.String(required=True)
    speaker_bio = fields.String(required=True)
    speaker_photo_url = fields.String(required=True, allow_none=True)
    theme = fields.String(required=True)
    room = fields.Nested(RoomRefSchema, required=True)
    start_time = fields.String(required=True, metadata={"format": "date-time"})
    end_time = fields.String(required=True, metadata={"format": "date-time"})
    price = fields.Float(required=True)
    payment_status = fields.String(required=True, metadata={"enum": list(PAYMENT_STATUSES)})
    has_access = fields.Boolean(required=True)
    amount_paid = fields.Float(required=True)
    paid_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    registered_at = fields.String(required=True, metadata={"format": "date-time"})


class _AtelierParticipantSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    badge_id = fields.String(required=True)


class _AtelierSummarySchema(Schema):
    total_ateliers = fields.Integer(required=True)
    paid_count = fields.Integer(required=True)
    pending_count = fields.Integer(required=True)
    total_paid = fields.Float(required=True)
    total_pending = fields.Float(required=True)
    total_amount = fields.Float(required=True)


class MyAteliersSchema(Schema):
    participant = fields.Nested(_AtelierParticipantSchema, required=True)
    summary = fields.Nested(_AtelierSummarySchema, required=True)
    ateliers = fields.List(fields.Nested(_AtelierSchema), required=True)


class _AttendingPersonSchema(Schema):
    """Who an attendance row is about."""

    participant_id = fields.UUID(required=True)
    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "null for a role the participants list shows no email to"},
    )
    badge_number = fields.String(required=True)
    organisation = fields.String(required=True)


class AttendeeSchema(_AttendingPersonSchema):
    """A participant let into the session's room while it ran: once, with their first
    granted entry in the session's time and how many granted scans they had then."""

    first_entry = Instant(required=True)
    scans = fields.Integer(required=True, metadata={"description": "granted scans in the window"})


class AttendanceSessionSchema(Schema):
    id = fields.UUID(required=True)
    title = fields.String(required=True)
    start_time = Instant(required=True)
    end_time = Instant(required=True)
    room = fields.Nested(RoomRefSchema, required=True)


class SessionAttendanceSchema(Schema):
    """A page of a session's attendees, with the session and its room's capacity."""

    session = fields.Nested(AttendanceSessionSchema, required=True)
    attendees = fields.Integer(required=True, metadata={"description": "every page's attendees"})
    capacity = fields.Integer(required=True, metadata={"description": "the room's capacity"})
    count = fields.Integer(required=True)
    next = fields.String(required=True, allow_none=True)
    previous = fields.String(required=True, allow_none=True)
    results = fields.List(fields.Nested(AttendeeSchema), required=True)


class EntrySessionSchema(Schema):
    id = fields.UUID(required=True)
    title = fields.String(required=True)


class RoomEntrySchema(_AttendingPersonSchema):
    """One granted entry scan of a participant in the room."""

    id = fields.UUID(required=True, metadata={"description": "the scan"})
    accessed_at = Instant(required=True)
    session = fields.Nested(
        EntrySessionSchema,
        required=True,
        allow_none=True,
        metadata={"description": "the session the scan was decided for, if any"},
    )
    decided_offline = fields.Boolean(required=True)


class RoomAttendanceSchema(Schema):
    """A page of a room's granted entries (of one UTC day with ``date``)."""

    room = fields.Nested(RoomRefSchema, required=True)
    date = fields.Date(required=True, allow_none=True)
    count = fields.Integer(required=True)
    next = fields.String(required=True, allow_none=True)
    previous = fields.String(required=True, allow_none=True)
    results = fields.List(fields.Nested(RoomEntrySchema), required=True)


class RoomAttendanceArgs(PageArgs):
    date = QueryDay(metadata={"description": "a UTC day, YYYY-MM-DD"})


class RoomAttendanceExportArgs(QuerySchema):
    date = QueryDay(metadata={"description": "a UTC day, YYYY-MM-DD"})
