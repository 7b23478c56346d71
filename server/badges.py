"""Issuing and reissuing the one badge of each user."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server import signing
from server.extensions import begins_read_only, db, writes
from server.models import RevokedBadge, User, UserProfile
from shared.badge import Badge, new_badge_id
from shared.timefmt import utcnow


def profile_for_reading(user: User) -> UserProfile:
    """:func:`ensure_profile` from a request that otherwise only reads (a GET):
    the reading transaction ends, and a missing badge is made in one of its own
    that may write (``writes``), the only way a reader may write on SQLite."""
    profile = user.profile
    if profile is not None or not begins_read_only():
        return profile if profile is not None else ensure_profile(user)
    user_id = user.id
    db.session.commit()
    with writes():
        profile = ensure_profile(db.session.get(User, user_id) or user)
        db.session.commit()
    return profile


def ensure_profile(user: User) -> UserProfile:
    """The user's profile with a badge, created on first need (seed: get_qr_for_user)."""
    profile = user.profile
    if profile is None:
        profile = db.session.scalar(select(UserProfile).where(UserProfile.user_id == user.id))
    if profile is None:
        profile = UserProfile(user_id=user.id, badge_id=new_badge_id(user.id))
        try:
            with db.session.begin_nested():
                db.session.add(profile)
        except IntegrityError:  # created concurrently by another request
            profile = db.session.scalars(
                select(UserProfile).where(UserProfile.user_id == user.id)
            ).one()
    return profile


def signed_badge(profile: UserProfile) -> Badge:
    """The user's badge, signed: what every badge the server hands out carries."""
    return signing.signer().sign(profile.badge)


def reissue_badge(user: User, revoked_by: User | None) -> UserProfile:
    """A new badge id for a lost badge; the old one is revoked everywhere."""
    profile = ensure_profile(user)
    db.session.add(
        RevokedBadge(
            badge_id=profile.badge_id,
            user_id=user.id,
            revoked_at=utcnow(),
            revoked_by_id=revoked_by.id if revoked_by else None,
        )
    )
    profile.badge_id = new_badge_id(user.id)
    profile.updated_at = utcnow()
    return profile
