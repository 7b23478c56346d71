"""Who went where: door verifications, paid-atelier access, booth visits."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.dbtypes import UTCDateTime
from server.extensions import db
from shared.timefmt import utcnow

#: ``free``: the seed's "free atelier, access granted", what a gestionnaire's grant records
PAYMENT_STATUSES = ("pending", "paid", "free", "refunded")


class RoomAccess(db.Model):
    """Every verification at a door, granted or denied, with its reason."""

    __tablename__ = "room_accesses"
    __table_args__ = (
        Index("ix_room_accesses_room_time", "room_id", "access_time"),
        Index("ix_room_accesses_event_time", "event_id", "access_time"),
        # a room's statistics and attendance read from the index alone (counts,
        # people, verdicts, entries)
        Index(
            "ix_room_accesses_room_stats",
            "room_id",
            "participant_id",
            "access_time",
            "status",
            "server_status",
            "direction",
        ),
        UniqueConstraint("client_id", name="uq_room_accesses_client_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL")
    )
    participant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    # The scanned user id, kept even when no such user exists (no foreign key).
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    badge_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(40))
    access_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The server's own verdict for the same scan: equal to status/reason for an
    # online verification; for a kiosk's scan, what the server's data said.
    server_status: Mapped[str | None] = mapped_column(String(10))
    server_reason: Mapped[str | None] = mapped_column(String(40))
    # Scans uploaded by kiosks
    client_id: Mapped[uuid.UUID | None] = mapped_column()
    kiosk_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("kiosks.id", ondelete="SET NULL", name="fk_room_accesses_kiosk_id"), index=True
    )
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_offline: Mapped[bool] = mapped_column(default=False)
    #: ``in`` (an entry: the seed's only kind) or ``out`` (an exit), migration 0014
    direction: Mapped[str] = mapped_column(String(3), default="in", server_default="in")


class SessionAccess(db.Model):
    """A participant's access to a paid atelier."""

    __tablename__ = "session_accesses"
    __table_args__ = (
        UniqueConstraint("participant_id", "session_id", name="uq_session_access"),
        # a session's accesses in participant order: the kiosks' snapshot pages
        Index("ix_session_accesses_session_participant", "session_id", "participant_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    participant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE")
    )
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    payment_status: Mapped[str] = mapped_column(String(20), default="pending")
    has_access: Mapped[bool] = mapped_column(default=False)
    amount_paid: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExposantScan(db.Model):
    """A visitor scanned at an exposant's booth."""

    __tablename__ = "exposant_scans"
    __table_args__ = (
        Index("ix_exposant_scans_exposant_time", "exposant_id", "scanned_at"),
        UniqueConstraint("client_id", name="uq_exposant_scans_client_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    exposant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE")
    )
    #: the visitor's participant record (None when the badge was refused)
    scanned_participant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notes: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    badge_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="granted")
    reason: Mapped[str] = mapped_column(String(40), default="granted")
    server_status: Mapped[str | None] = mapped_column(String(10))
    server_reason: Mapped[str | None] = mapped_column(String(40))
    client_id: Mapped[uuid.UUID | None] = mapped_column()
    kiosk_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("kiosks.id", ondelete="SET NULL", name="fk_exposant_scans_kiosk_id"), index=True
    )
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_offline: Mapped[bool] = mapped_column(default=False)


class RoomTally(db.Model):
    """A room's scans, granted scans and distinct people scanned, over all days:
    kept by database triggers as scans are written (migration 0012)."""

    __tablename__ = "room_tallies"

    room_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    scans: Mapped[int] = mapped_column(BigInteger, server_default="0")
    granted: Mapped[int] = mapped_column(BigInteger, server_default="0")
    visitors: Mapped[int] = mapped_column(BigInteger, server_default="0")


class RoomDayTally(db.Model):
    """The same tallies for one UTC day of a room."""

    __tablename__ = "room_day_tallies"

    room_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    scans: Mapped[int] = mapped_column(BigInteger, server_default="0")
    granted: Mapped[int] = mapped_column(BigInteger, server_default="0")
    visitors: Mapped[int] = mapped_column(BigInteger, server_default="0")
