"""What changes room assignments: one function per use case, gestionnaires
only, each with its action-log entry in the caller's transaction (flushed,
never committed here).

One person is in one room at a time: two active assignments of a user in an
event may not overlap (a 409). The check runs under a lock on the user's role
in the event (PostgreSQL; SQLite's writers are serialized already), so two
requests racing to post one person cannot both pass it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select

from server import actionlog
from server.auth.permissions import IS_GESTIONNAIRE, Identity
from server.errors import APIError, not_found, validation_error
from server.extensions import db
from server.models import Room, RoomAssignment, UserEventAssignment
from shared.timefmt import iso, utcnow

FORBIDDEN = "You do not have permission to perform this action"
FIELDS = ("user_id", "room_id", "event_id", "role", "start_time", "end_time", "is_active")
#: body field -> model attribute
_BODY = {
    "user": "user_id",
    "room": "room_id",
    "role": "role",
    "start_time": "start_time",
    "end_time": "end_time",
    "is_active": "is_active",
}


def covering(now: datetime) -> ColumnElement[bool]:
    """Active assignments whose slot holds ``now``."""
    return and_(
        RoomAssignment.is_active.is_(True),
        RoomAssignment.start_time <= now,
        RoomAssignment.end_time > now,
    )


def _require_gestionnaire(identity: Identity) -> uuid.UUID:
    event_id = identity.require_event()
    if not identity.has(IS_GESTIONNAIRE):
        raise APIError(403, FORBIDDEN)
    return event_id


def assignment_in_event(identity: Identity, assignment_id: uuid.UUID) -> RoomAssignment:
    """One assignment of the caller's event (another event's is a 404)."""
    event_id = _require_gestionnaire(identity)
    assignment = db.session.get(RoomAssignment, assignment_id)
    if assignment is None or assignment.event_id != event_id:
        raise not_found("Room assignment")
    return assignment


def _check(event_id: uuid.UUID, values: Mapping[str, Any], exclude: uuid.UUID | None) -> None:
    """The user is a member of the event, the room is of it, the slot is
    well-formed and, if active, overlaps none of the user's other active ones."""
    member = db.session.scalar(
        select(UserEventAssignment.id)
        .where(
            UserEventAssignment.user_id == values["user_id"],
            UserEventAssignment.event_id == event_id,
            UserEventAssignment.is_active.is_(True),
        )
        .with_for_update()
    )
    if member is None:
        raise validation_error("user", "has no active role in this event")
    room = db.session.get(Room, values["room_id"])
    if room is None or room.event_id != event_id:
        raise validation_error("room", "is not a room of this event")
    if values["end_time"] <= values["start_time"]:
        raise validation_error("end_time", "must be after start_time")
    if not values["is_active"]:
        return
    stmt = select(RoomAssignment).where(
        RoomAssignment.user_id == values["user_id"],
        RoomAssignment.event_id == event_id,
        RoomAssignment.is_active.is_(True),
        RoomAssignment.start_time < values["end_time"],
        RoomAssignment.end_time > values["start_time"],
    )
    if exclude is not None:
        stmt = stmt.where(RoomAssignment.id != exclude)
    clash = db.session.scalars(stmt.order_by(RoomAssignment.start_time).limit(1)).first()
    if clash is not None:
        raise APIError(
            409,
            f"This person is already assigned from {iso(clash.start_time)} to "
            f"{iso(clash.end_time)} (assignment {clash.id}); slots of one person may not overlap",
            code="overlapping_assignment",
            fields={"start_time": "overlaps another assignment of this user"},
        )


def _log(
    identity: Identity,
    assignment: RoomAssignment,
    verb: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    actionlog.record(
        db.session,
        event_id=assignment.event_id,
        actor_id=identity.user_id,
        action=f"room_assignment.{verb}",
        obj_type="room_assignment",
        obj_id=assignment.id,
        before=before,
        after=after,
    )


def create_assignment(identity: Identity, data: Mapping[str, Any]) -> RoomAssignment:
    """A gestionnaire posts a staff member to a room for a slot."""
    event_id = _require_gestionnaire(identity)
    values = {attr: data[name] for name, attr in _BODY.items() if name in data}
    values.setdefault("is_active", True)
    _check(event_id, values, exclude=None)
    assignment = RoomAssignment(
        id=uuid.uuid4(),
        event_id=event_id,
        assigned_by_id=identity.user_id,
        assigned_at=utcnow(),
        **values,
    )
    db.session.add(assignment)
    _log(identity, assignment, "create", None, actionlog.snapshot(assignment, FIELDS))
    db.session.flush()
    return assignment


def update_assignment(
    identity: Identity, assignment_id: uuid.UUID, data: Mapping[str, Any]
) -> RoomAssignment:
    """A gestionnaire changes the fields given; the result is checked whole."""
    assignment = assignment_in_event(identity, assignment_id)
    before = actionlog.snapshot(assignment, FIELDS)
    values = {attr: getattr(assignment, attr) for attr in _BODY.values()}
    values.update({attr: data[name] for name, attr in _BODY.items() if name in data})
    _check(assignment.event_id, values, exclude=assignment.id)
    for attr, value in values.items():
        setattr(assignment, attr, value)
    after = actionlog.snapshot(assignment, FIELDS)
    if after != before:
        _log(identity, assignment, "update", before, after)
    db.session.flush()
    return assignment


def delete_assignment(identity: Identity, assignment_id: uuid.UUID) -> None:
    """A gestionnaire removes it (no scan or kiosk refers to an assignment)."""
    assignment = assignment_in_event(identity, assignment_id)
    _log(identity, assignment, "delete", actionlog.snapshot(assignment, FIELDS), None)
    db.session.delete(assignment)
    db.session.flush()
