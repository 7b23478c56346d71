"""QR verification on the server: gather the facts, ask the shared decision core,
log the outcome.

The facts come from a fixed number of indexed lookups whatever the size of
the event, and every outcome, granted or denied, is one RoomAccess row written
in one commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select

from server.extensions import db
from server.models import (
    EventSession,
    Participant,
    RevokedBadge,
    Room,
    RoomAccess,
    SessionAccess,
    User,
    UserEventAssignment,
    UserProfile,
    participant_allowed_rooms,
)
from server.serializers import money
from shared.badge import Badge, BadgeError
from shared.decision import (
    PersonFacts,
    Place,
    SessionAccessFacts,
    SessionFacts,
    Verdict,
    decide,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    access: RoomAccess
    person: PersonFacts | None


def session_facts(room: Room, session_id: uuid.UUID | None) -> SessionFacts | None:
    if session_id is None:
        return None
    session = db.session.scalar(
        select(EventSession).where(
            EventSession.id == session_id, EventSession.event_id == room.event_id
        )
    )
    if session is None:
        return None
    return SessionFacts(
        id=str(session.id),
        room_id=str(session.room_id),
        title=session.title,
        is_paid=session.is_paid,
        price=money(session.price),
    )


def person_facts(
    event_id: uuid.UUID, badge: Badge, session: SessionFacts | None
) -> PersonFacts | None:
    """What the database knows of the badge's user in this event."""
    row = db.session.execute(
        select(
            User.id,
            User.first_name,
            User.last_name,
            User.username,
            User.email,
            User.is_active,
            UserProfile.badge_id,
            UserEventAssignment.role,
            Participant.id,
        )
        .outerjoin(UserProfile, UserProfile.user_id == User.id)
        .outerjoin(
            UserEventAssignment,
            and_(
                UserEventAssignment.user_id == User.id,
                UserEventAssignment.event_id == event_id,
                UserEventAssignment.is_active.is_(True),
            ),
        )
        .outerjoin(
            Participant, and_(Participant.user_id == User.id, Participant.event_id == event_id)
        )
        .where(User.id == badge.user_id)
    ).first()
    if row is None:
        return None
    user_id, first, last, username, email, active, badge_id, role, participant_id = row

    allowed: frozenset[str] = frozenset()
    access: SessionAccessFacts | None = None
    if participant_id is not None:
        allowed = frozenset(
            str(r)
            for r in db.session.scalars(
                select(participant_allowed_rooms.c.room_id).where(
                    participant_allowed_rooms.c.participant_id == participant_id
                )
            )
        )
        if session is not None and session.is_paid:
            sa = db.session.execute(
                select(SessionAccess.payment_status, SessionAccess.has_access).where(
                    SessionAccess.participant_id == participant_id,
                    SessionAccess.session_id == uuid.UUID(session.id),
                )
            ).first()
            if sa is not None:
                access = SessionAccessFacts(payment_status=sa[0], has_access=sa[1])

    revoked: frozenset[str] = frozenset()
    if badge_id != badge.badge_id:
        hit = db.session.scalar(
            select(RevokedBadge.badge_id).where(
                RevokedBadge.badge_id == badge.badge_id, RevokedBadge.user_id == user_id
            )
        )
        if hit is not None:
            revoked = frozenset({hit})

    name = f"{first} {last}".strip() or username
    return PersonFacts(
        user_id=user_id,
        name=name,
        email=email,
        is_active=active,
        badge_id=badge_id,
        revoked_badge_ids=revoked,
        role=role,
        participant_id=str(participant_id) if participant_id else None,
        allowed_room_ids=allowed,
        session_access=access,
    )


def verify_at_door(
    room: Room,
    badge: Badge | BadgeError,
    session_id: uuid.UUID | None,
    verified_by: User | None,
    now: datetime,
) -> Outcome:
    """Decide a scan at ``room``'s door and log it (not committed)."""
    session = session_facts(room, session_id)
    place = Place(
        event_id=str(room.event_id),
        room_id=str(room.id),
        mode="door",
        session_id=str(session_id) if session_id else None,
        session=session,
    )
    person = person_facts(room.event_id, badge, session) if isinstance(badge, Badge) else None
    verdict = decide(badge, place, person, now)
    access = RoomAccess(
        id=uuid.uuid4(),
        event_id=room.event_id,
        room_id=room.id,
        session_id=uuid.UUID(session.id) if session else None,
        participant_id=uuid.UUID(person.participant_id)
        if person and person.participant_id
        else None,
        user_id=badge.user_id if isinstance(badge, Badge) else None,
        badge_id=badge.badge_id if isinstance(badge, Badge) else None,
        status=verdict.status,
        reason=verdict.reason.value,
        server_status=verdict.status,
        server_reason=verdict.reason.value,
        access_time=now,
        verified_by_id=verified_by.id if verified_by else None,
    )
    db.session.add(access)
    return Outcome(verdict=verdict, access=access, person=person)
