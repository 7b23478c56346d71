"""Password reset tokens: single use, expiring, stored as a hash.

:func:`create_reset_token` draws a random token (what the mail carries) and
stores only its SHA-256, with its expiry and a fingerprint of the password it
may replace. :func:`verify_reset_token` finds the account a token is good for;
:func:`reset_password` spends it: the password is set, every JWT issued to the
account before is refused from then on (``users.tokens_valid_after``), and the
account's other reset tokens are deleted.

A token is good once, for ``PASSWORD_RESET_MINUTES`` (60), and only while the
password is the one it was issued for: a password changed meanwhile (by a
change-password or another reset) ends it. Spending is an ``UPDATE ... WHERE
used_at IS NULL``, so of two requests racing with the same token one wins.

These functions work in the caller's transaction and commit nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import BigInteger, ForeignKey, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from server.dbtypes import UTCDateTime
from server.errors import validation_error
from server.extensions import db
from server.people.models import User
from shared.timefmt import utcnow

if TYPE_CHECKING:
    from server.mail import Sent

#: random bytes in a token (its text is about 43 URL-safe characters)
TOKEN_BYTES = 32
INVALID_TOKEN = "This password reset link is invalid or has expired."


class PasswordResetToken(db.Model):
    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token, hex: the token itself is never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 of the password hash the token may replace
    password_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _fingerprint(user: User) -> str:
    return _digest(user.password_hash)


def lifetime() -> timedelta:
    return timedelta(minutes=current_app.config.get("PASSWORD_RESET_MINUTES", 60))


def create_reset_token(session: Session, user: User, *, now: datetime | None = None) -> str:
    """A new token for ``user`` (returned once, to be mailed); earlier unused ones end.

    Expired tokens of every account are deleted on the way, so the table only
    holds tokens that may still be used.
    """
    now = now or utcnow()
    session.execute(
        delete(PasswordResetToken).where(
            (PasswordResetToken.user_id == user.id) | (PasswordResetToken.expires_at <= now)
        )
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=_digest(token),
            password_fingerprint=_fingerprint(user),
            created_at=now,
            expires_at=now + lifetime(),
        )
    )
    session.flush()
    return token


@dataclass(frozen=True, slots=True)
class _Found:
    row: PasswordResetToken
    user: User


def _find(session: Session, token: str, now: datetime) -> _Found | None:
    if not isinstance(token, str) or not 16 <= len(token) <= 128:
        return None
    row = session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _digest(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or row.password_fingerprint != _fingerprint(user):
        return None
    return _Found(row, user)


def verify_reset_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active account ``token`` may reset the password of, else None."""
    found = _find(session, token, now or utcnow())
    return found.user if found else None


def reset_password(
    session: Session,
    token: str,
    new_password: str,
    *,
    now: datetime | None = None,
    token_field: str = "token",
    password_field: str = "new_password",
) -> User:
    """Spend ``token``: set ``new_password`` and revoke the account's tokens.

    A 400 naming ``token_field`` for a token that is unknown, used, expired or
    issued for an older password, or ``password_field`` for a password that is
    too short or too long. The new password is hashed before the token is
    looked up; call it with no transaction open (SQLite takes its write lock
    at the first statement)."""
    from server.auth.api import hash_password
    from server.auth.schemas import MAX_PASSWORD, MIN_PASSWORD

    if not isinstance(new_password, str) or len(new_password) < MIN_PASSWORD:
        raise validation_error(password_field, f"must be at least {MIN_PASSWORD} characters")
    if len(new_password) > MAX_PASSWORD:
        raise validation_error(password_field, f"must be at most {MAX_PASSWORD} characters")
    new_hash = hash_password(new_password)
    now = now or utcnow()
    found = _find(session, token, now)
    if found is None:
        raise validation_error(token_field, INVALID_TOKEN)
    spent = session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == found.row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise validation_error(token_field, INVALID_TOKEN)
    user = found.user
    user.password_hash = new_hash
    # every JWT issued before now is refused (server/auth/permissions.py)
    user.tokens_valid_after = now
    session.execute(
        delete(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.id != found.row.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return user


def start_reset(session: Session, email: str) -> tuple[User, str] | None:
    """For ``POST /api/auth/password-reset/``: a token for the active account with
    this email, or None (the answer must not tell which emails exist)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        return None
    return user, create_reset_token(session, user)


def mail_reset(user: User, token: str) -> Sent:
    """Mail ``token`` to ``user`` (SMTP, or the instance folder without it)."""
    from server.mail import send_mail

    subject, body = reset_mail(user, token)
    return send_mail(user.email, subject, body)


def reset_link(token: str) -> str:
    """What the mail points at: ``PASSWORD_RESET_URL`` with the token, else the token."""
    template = current_app.config.get("PASSWORD_RESET_URL")
    return template.replace("{token}", token) if template else token


def reset_mail(user: User, token: str) -> tuple[str, str]:
    """The subject and text of the mail that carries ``token`` to ``user``."""
    minutes = int(lifetime().total_seconds() // 60)
    link = reset_link(token)
    what = "Open this link" if link != token else "Enter this code in the app"
    body = (
        f"Hello {user.full_name},\n\n"
        "Someone (you, we hope) asked to reset the password of your BadgeGate account.\n"
        f"{what} to choose a new password:\n\n    {link}\n\n"
        f"It works once, within {minutes} minutes. If you did not ask for it, ignore\n"
        "this message: your password stays as it is.\n"
    )
    return "Reset your BadgeGate password", body
