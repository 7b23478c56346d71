"""What people say in an event: announcements and session questions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.dbtypes import UTCDateTime
from server.events.models import EventSession, Participant
from server.extensions import db
from server.people.models import User
from shared.timefmt import utcnow

ANNONCE_TARGETS = ("all", "participants", "exposants", "controlleurs", "gestionnaires")


class Annonce(db.Model):
    __tablename__ = "annonces"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    target: Mapped[str] = mapped_column(String(50), default="all")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SessionQuestion(db.Model):
    __tablename__ = "session_questions"
    # a session's questions in the order they were asked (the Q&A pages)
    __table_args__ = (Index("ix_session_questions_session_asked", "session_id", "asked_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    question_text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    is_answered: Mapped[bool] = mapped_column(default=False)
    answer_text: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[EventSession] = relationship()
    participant: Mapped[Participant] = relationship()
    answered_by: Mapped[User | None] = relationship()

    @property
    def participant_name(self) -> str:
        return self.participant.user.full_name

    @property
    def answered_by_name(self) -> str | None:
        return self.answered_by.full_name if self.answered_by is not None else None
