"""QR verification on the server: gather the facts, ask the shared decision core,
log the outcome.

The facts (``server.facts``) come from a fixed number of indexed lookups
whatever the size of the event, and every outcome, granted or denied, is one
RoomAccess row written in one commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from server.extensions import db
from server.facts import load_facts
from server.models import Room, RoomAccess, User
from shared.badge import Badge, BadgeError
from shared.decision import PersonFacts, Place, Verdict, decide


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    access: RoomAccess
    person: PersonFacts | None


def verify_at_door(
    room: Room,
    badge: Badge | BadgeError,
    session_id: uuid.UUID | None,
    verified_by: User | None,
    now: datetime,
) -> Outcome:
    """Decide a scan at ``room``'s door and log it (not committed)."""
    badges = [badge] if isinstance(badge, Badge) else []
    facts = load_facts(room.event_id, badges, [session_id] if session_id else [])
    session = facts.sessions.get(session_id) if session_id else None
    place = Place(
        event_id=str(room.event_id),
        room_id=str(room.id),
        mode="door",
        session_id=str(session_id) if session_id else None,
        session=session,
    )
    person = facts.person(badge, session) if isinstance(badge, Badge) else None
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
