"""Kiosks and the change feed they pull from."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from server.dbtypes import UTCDateTime
from server.extensions import db
from shared.timefmt import utcnow

KIOSK_MODES = ("door", "booth")


class Kiosk(db.Model):
    """A device at one place of one event, with its own revocable credential."""

    __tablename__ = "kiosks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(10))
    room_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    #: the exposant (a participant record) whose booth this is
    exposant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE")
    )
    pinned_session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL")
    )
    #: sha256 of the device secret; the secret itself is shown once
    token_hash: Mapped[str | None] = mapped_column(String(64))
    provisioning_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provisioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: provisioned with a staff login (``created_by_id``): the credential works
    #: only while that person keeps their access (a provisioning code's kiosk
    #: lives until revoked)
    provisioned_by_login: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_cursor_seq: Mapped[int | None] = mapped_column(BigInteger)
    queue_length: Mapped[int | None] = mapped_column(Integer)
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)


class ChangeLogEntry(db.Model):
    """One change to data a kiosk holds, written in the same transaction as it."""

    __tablename__ = "change_log"
    __table_args__ = (
        Index("ix_change_log_event_seq", "event_id", "seq"),
        # a record's versions, oldest first: uploaded scans are judged as of their time
        Index("ix_change_log_record", "event_id", "entity", "key", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column()
    entity: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(80))
    op: Mapped[str] = mapped_column(String(6))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncState(db.Model):
    """Server-wide sync bookkeeping: up to which seq the change log was pruned."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    pruned_through_seq: Mapped[int] = mapped_column(BigInteger, default=0)
