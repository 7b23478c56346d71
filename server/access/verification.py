"""QR verification on the server: gather the facts, ask the shared decision core,
log the outcome.

The facts (``server.access.facts``) come from a fixed number of indexed lookups
whatever the size of the event, and every outcome, granted or denied, is one
RoomAccess row written in one commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Uuid, bindparam, insert, select

from server import signing
from server.access.facts import load_facts, running_session
from server.extensions import db
from server.models import Room, RoomAccess
from shared.badge import Badge, BadgeError
from shared.decision import PersonFacts, Place, SessionFacts, Verdict, decide
from shared.signing import SignatureCheck


@dataclass(frozen=True, slots=True)
class DoorPlace:
    """The few room columns a verification needs."""

    id: uuid.UUID
    event_id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    access_id: uuid.UUID
    access_time: datetime
    person: PersonFacts | None


_ROOM = select(Room.id, Room.event_id, Room.name).where(
    Room.id == bindparam("room_id", type_=Uuid())
)
_LOG = insert(RoomAccess.__table__)


def check_signature(badge: Badge | BadgeError) -> SignatureCheck:
    """What the server's keys say of a scanned badge's signature."""
    return signing.keyring().check(badge) if isinstance(badge, Badge) else SignatureCheck.ABSENT


def door_place(room_id: uuid.UUID) -> DoorPlace | None:
    row = db.session.connection().execute(_ROOM, {"room_id": room_id}).first()
    return DoorPlace(*row) if row else None


def verify_at_door(
    room: DoorPlace,
    badge: Badge | BadgeError,
    session_id: uuid.UUID | None,
    verified_by_id: int | None,
    now: datetime,
) -> Outcome:
    """Decide a scan at ``room``'s door and log it (not committed).

    Without ``session_id``, the session is the one held in the room at ``now``,
    picked from the schedule as a door kiosk picks it.

    The log row is written with a Core insert: it is not a kiosk record, so it
    needs none of the ORM's unit of work.
    """
    badges = [badge] if isinstance(badge, Badge) else []
    known: dict[uuid.UUID, SessionFacts] = {}
    if session_id is None:
        running = running_session(room.id, now)
        if running is not None:
            session_id = uuid.UUID(running.id)
            known[session_id] = running
    facts = load_facts(room.event_id, badges, [session_id] if session_id else [], known)
    session = facts.sessions.get(session_id) if session_id else None
    place = Place(
        event_id=str(room.event_id),
        room_id=str(room.id),
        mode="door",
        session_id=str(session_id) if session_id else None,
        session=session,
    )
    person = facts.person(badge, session) if isinstance(badge, Badge) else None
    verdict = decide(badge, place, person, now, check_signature(badge))
    access_id = uuid.uuid4()
    db.session.connection().execute(
        _LOG,
        {
            "id": access_id,
            "event_id": room.event_id,
            "room_id": room.id,
            "session_id": uuid.UUID(session.id) if session else None,
            "participant_id": uuid.UUID(person.participant_id)
            if person and person.participant_id
            else None,
            "user_id": badge.user_id if isinstance(badge, Badge) else None,
            "badge_id": badge.badge_id if isinstance(badge, Badge) else None,
            "status": verdict.status,
            "reason": verdict.reason.value,
            "server_status": verdict.status,
            "server_reason": verdict.reason.value,
            "access_time": now,
            "verified_by_id": verified_by_id,
            "decided_offline": False,
        },
    )
    return Outcome(verdict=verdict, access_id=access_id, access_time=now, person=person)
