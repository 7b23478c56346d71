"""An event and what it is made of: rooms, sessions, people's roles, participants."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.dbtypes import UTCDateTime
from server.extensions import db
from server.people.models import User
from shared.timefmt import utcnow

SESSION_STATUSES = ("pas_encore", "en_cours", "termine")
SESSION_TYPES = ("conference", "atelier")


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(500), default="")
    start_date: Mapped[datetime] = mapped_column(UTCDateTime)
    end_date: Mapped[datetime] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(default=True)
    programme_file: Mapped[str | None] = mapped_column(String(500))
    guide_file: Mapped[str | None] = mapped_column(String(500))
    logo: Mapped[str | None] = mapped_column(String(500))
    banner: Mapped[str | None] = mapped_column(String(500))
    #: who to contact about the event (shown to participants)
    organizer_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    organizer_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    organizer_phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    president_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def status_at(self, now: datetime) -> str:
        """``upcoming`` before its start, ``finished`` after its end, else ``ongoing``."""
        if now < self.start_date:
            return "upcoming"
        if now >= self.end_date:
            return "finished"
        return "ongoing"

    @property
    def status(self) -> str:
        """Derived from the dates, never stored: it cannot disagree with them."""
        return self.status_at(utcnow())


class Room(db.Model):
    __tablename__ = "rooms"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship()


class EventSession(db.Model):
    """A conference or atelier held in a room (the seed's ``Session``)."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_room_start", "room_id", "start_time"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    speaker_name: Mapped[str] = mapped_column(String(200), default="")
    speaker_title: Mapped[str] = mapped_column(String(200), default="")
    speaker_bio: Mapped[str] = mapped_column(Text, default="")
    speaker_photo_url: Mapped[str | None] = mapped_column(String(500))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    theme: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default="pas_encore")
    session_type: Mapped[str] = mapped_column(String(20), default="conference")
    is_paid: Mapped[bool] = mapped_column(default=False)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    youtube_live_url: Mapped[str | None] = mapped_column(String(500))
    cover_image_url: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    room: Mapped[Room] = relationship()

    @property
    def is_live(self) -> bool:
        return self.status == "en_cours"


class UserEventAssignment(db.Model):
    """A user's one role in one event."""

    __tablename__ = "user_event_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id", name="uq_assignment_user_event"),
        # an event's people in user order: the kiosks' snapshot pages
        Index("ix_assignments_event_user", "event_id", "user_id"),
        # an event's people counted by role (the dashboard, the statistics)
        Index("ix_assignments_event_role", "event_id", "role", "is_active"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(50))
    is_active: Mapped[bool] = mapped_column(default=True)
    # ``metadata`` is reserved by SQLAlchemy's declarative base: the column keeps
    # the seed's name, the attribute is ``meta``.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    event: Mapped[Event] = relationship()


participant_allowed_rooms = Table(
    "participant_allowed_rooms",
    db.metadata,
    Column(
        "participant_id",
        ForeignKey("participants.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("room_id", ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Participant(db.Model):
    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id", name="uq_participant_user_event"),
        UniqueConstraint("event_id", "badge_number", name="uq_participant_badge_number"),
        Index("ix_participants_event_user", "event_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    badge_number: Mapped[str] = mapped_column(String(50))
    qr_code_data: Mapped[str] = mapped_column(String(500), default="")
    registration_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    plan_file: Mapped[str | None] = mapped_column(String(500))
    organisation: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()
    allowed_rooms: Mapped[list[Room]] = relationship(secondary=participant_allowed_rooms)


class RoomAssignment(db.Model):
    """Staff posted to a room for a time slot."""

    __tablename__ = "room_assignments"
    __table_args__ = (Index("ix_room_assignments_user_event", "user_id", "event_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    room_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(50))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(default=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventTally(db.Model):
    """A count of an event's rows kept by database triggers (migration 0012):
    ``participants`` (participant records), ``role:<role>`` (active assignments)."""

    __tablename__ = "event_tallies"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, server_default="0")
