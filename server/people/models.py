"""People: accounts, their one badge, revoked badges and revoked tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.dbtypes import UTCDateTime
from server.extensions import db
from shared.badge import Badge
from shared.timefmt import utcnow


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_staff: Mapped[bool] = mapped_column(default=False)
    #: a platform admin: may create events (and becomes their gestionnaire)
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    date_joined: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: tokens issued before this instant are refused (set by a password change)
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    profile: Mapped[UserProfile | None] = relationship(
        back_populates="user", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def full_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.username


# "Bob" and "bob" are one username: two registrations racing with them cannot
# both commit (the database's own lower(), as ``_check_unique`` compares them)
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class UserProfile(db.Model):
    """The user's one QR badge, the same in every event (seed v2.0)."""

    __tablename__ = "user_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    badge_id: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="profile")

    @property
    def badge(self) -> Badge:
        return Badge(user_id=self.user_id, badge_id=self.badge_id)


class RevokedBadge(db.Model):
    """A badge id that was replaced (lost badge): scanning it is refused."""

    __tablename__ = "revoked_badges"

    badge_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RevokedToken(db.Model):
    """A JWT id made unusable by logout before its expiry."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
