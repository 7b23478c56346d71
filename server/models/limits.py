"""Failed credential attempts, counted per account and per client address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.dbtypes import UTCDateTime
from server.extensions import db

#: what an attempt is counted against
ATTEMPT_SCOPES = ("account", "address")


class AuthAttempt(db.Model):
    """One credential attempt: written before the check, deleted if it succeeds.

    What stays are the failures; the rows of a (scope, key) within the window
    are the attempts counted against it, and rows older than the window are
    deleted as new attempts come, so the table holds at most one window.
    """

    __tablename__ = "auth_attempts"
    __table_args__ = (Index("ix_auth_attempts_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    scope: Mapped[str] = mapped_column(String(10))
    #: the account's email (lower case), or the client address
    key: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
