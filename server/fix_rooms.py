"""Staff assignments that should name a room and do not (the seed's
``fix_room_assignments`` command): list them, or give one its room.

A staff role (organisateur, gestionnaire, contrôleur) may carry the room it
works in as ``metadata.assigned_room_id`` of its event assignment. The seed's
mobile app shows that room; assignments made before it existed lack one, or
name a room that was deleted or belongs to another event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import actionlog
from server.models import Event, Room, User, UserEventAssignment
from shared.roles import STAFF_ROLES

ROOM_KEY = "assigned_room_id"


@dataclass(frozen=True)
class Missing:
    assignment_id: uuid.UUID
    event_name: str
    email: str
    role: str
    #: what the metadata says now: None (no room), or a room id that is not one
    #: of the event's rooms
    stale_room: str | None


def _room_of(meta: object) -> str | None:
    if not isinstance(meta, dict):
        return None
    value = meta.get(ROOM_KEY)
    return str(value) if value not in (None, "") else None


def missing_rooms(session: Session) -> list[Missing]:
    """Active staff assignments with no room of their event, by event and email."""
    rows = session.execute(
        select(UserEventAssignment, Event.name, User.email)
        .join(Event, Event.id == UserEventAssignment.event_id)
        .join(User, User.id == UserEventAssignment.user_id)
        .where(
            UserEventAssignment.is_active.is_(True),
            UserEventAssignment.role.in_(sorted(STAFF_ROLES)),
        )
        .order_by(Event.name, User.email)
    ).all()
    rooms: dict[uuid.UUID, set[str]] = {}
    for event_id, room_id in session.execute(select(Room.event_id, Room.id)):
        rooms.setdefault(event_id, set()).add(str(room_id))
    out = []
    for assignment, event_name, email in rows:
        room = _room_of(assignment.meta)
        if room is None or room not in rooms.get(assignment.event_id, set()):
            out.append(Missing(assignment.id, event_name, email, assignment.role, room))
    return out


class FixError(ValueError):
    """Why an assignment cannot be given that room (the message says it)."""


def assign_room(
    session: Session, assignment_id: uuid.UUID, room_id: uuid.UUID, *, dry_run: bool = False
) -> tuple[str | None, Room]:
    """Give a staff assignment its room; returns (the room it named before, the room).

    Nothing is written with ``dry_run``; otherwise the change is in the event's
    action log, in the same transaction (the caller commits)."""
    assignment = session.get(UserEventAssignment, assignment_id)
    if assignment is None:
        raise FixError(f"no assignment {assignment_id}")
    if assignment.role not in STAFF_ROLES:
        raise FixError(
            f"assignment {assignment_id} is a {assignment.role}: only staff roles "
            f"({', '.join(sorted(STAFF_ROLES))}) are given a room"
        )
    room = session.get(Room, room_id)
    if room is None or room.event_id != assignment.event_id:
        raise FixError(f"room {room_id} is not a room of this assignment's event")
    before = _room_of(assignment.meta)
    if not dry_run:
        old_meta = dict(assignment.meta) if isinstance(assignment.meta, dict) else {}
        assignment.meta = {**old_meta, ROOM_KEY: str(room.id)}
        actionlog.record(
            session,
            event_id=assignment.event_id,
            actor_id=None,  # the command line: the operator of the server
            action="assignment.room_fixed",
            obj_type="user_assignment",
            obj_id=assignment.id,
            before={ROOM_KEY: before},
            after={ROOM_KEY: str(room.id)},
        )
    return before, room
