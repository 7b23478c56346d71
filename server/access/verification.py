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

from sqlalchemy import Uuid, and_, bindparam, insert, select

from server import signing
from server.access.facts import load_facts
from server.changefeed import session_record
from server.dbtypes import UTCDateTime
from server.extensions import db
from server.models import EventSession, Room, RoomAccess
from shared.badge import Badge, BadgeError
from shared.decision import Direction, PersonFacts, Place, SessionFacts, Verdict, decide
from shared.signing import SignatureCheck
from shared.sync import pick_session, session_facts_from_record


@dataclass(frozen=True, slots=True)
class DoorPlace:
    """The few room columns a verification needs, and the session held in the
    room at the moment of the scan (picked as a door kiosk picks it)."""

    id: uuid.UUID
    event_id: uuid.UUID
    name: str
    running: SessionFacts | None


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    access_id: uuid.UUID
    access_time: datetime
    person: PersonFacts | None


_AT = bindparam("at", type_=UTCDateTime())
#: the room and the sessions held in it at ``at``: one row per session, or one
#: with no session (the hot path's first statement after authentication)
_DOOR = (
    select(
        Room.id.label("door_id"),
        Room.event_id.label("door_event_id"),
        Room.name.label("door_name"),
        EventSession.id,
        EventSession.room_id,
        EventSession.title,
        EventSession.start_time,
        EventSession.end_time,
        EventSession.is_paid,
        EventSession.price,
    )
    .select_from(Room)
    .outerjoin(
        EventSession,
        and_(
            EventSession.room_id == Room.id,
            EventSession.start_time <= _AT,
            EventSession.end_time > _AT,
        ),
    )
    .where(Room.id == bindparam("room_id", type_=Uuid()))
)
_LOG = insert(RoomAccess.__table__)


def check_signature(badge: Badge | BadgeError) -> SignatureCheck:
    """What the server's keys say of a scanned badge's signature."""
    return signing.keyring().check(badge) if isinstance(badge, Badge) else SignatureCheck.ABSENT


def door_place(room_id: uuid.UUID, at: datetime) -> DoorPlace | None:
    """The room, with the session held in it at ``at``: one indexed query."""
    rows = db.session.connection().execute(_DOOR, {"room_id": room_id, "at": at}).all()
    if not rows:
        return None
    records = [session_record(r) for r in rows if r.id is not None]
    picked = pick_session(records, str(room_id), at)
    running = session_facts_from_record(picked) if picked is not None else None
    first = rows[0]
    return DoorPlace(first.door_id, first.door_event_id, first.door_name, running)


def verify_at_door(
    room: DoorPlace,
    badge: Badge | BadgeError,
    session_id: uuid.UUID | None,
    verified_by_id: int | None,
    now: datetime,
    direction: Direction = "in",
) -> Outcome:
    """Decide a scan at ``room``'s door and log it (not committed).

    Without ``session_id``, the session is the one held in the room at ``now``
    (``room.running``, read by :func:`door_place` at ``now``).

    The log row is written with a Core insert: it is not a kiosk record, so it
    needs none of the ORM's unit of work.
    """
    badges = [badge] if isinstance(badge, Badge) else []
    known: dict[uuid.UUID, SessionFacts] = {}
    if session_id is None and room.running is not None:
        session_id = uuid.UUID(room.running.id)
        known[session_id] = room.running
    facts = load_facts(room.event_id, badges, [session_id] if session_id else [], known)
    session = facts.sessions.get(session_id) if session_id else None
    place = Place(
        event_id=str(room.event_id),
        room_id=str(room.id),
        mode="door",
        session_id=str(session_id) if session_id else None,
        session=session,
        direction=direction,
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
            "direction": direction,
        },
    )
    return Outcome(verdict=verdict, access_id=access_id, access_time=now, person=person)
