"""What organizers change in an event: the event itself, its rooms, its sessions.

One function per use case, called by the REST API (and the dashboard): each
checks who may do it, validates what depends on the data (a room of the same
event, an end after the start), writes through the ORM session (the change
feed sees it) and records the action in the event's action log, all in the
caller's transaction. Nothing here commits: the caller does, once.

The caller's event is the one in their token (``identity.event_id``); objects
of other events are found by the caller as 404 before they get here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from server import actionlog
from server.access.models import ExposantScan, RoomAccess, SessionAccess
from server.auth.permissions import IS_GESTIONNAIRE, Identity
from server.errors import APIError, validation_error
from server.events.models import (
    Event,
    EventSession,
    Participant,
    Room,
    UserEventAssignment,
)
from server.extensions import db
from server.kiosks.models import Kiosk
from server.people.models import User
from shared.roles import Role

#: the columns each object's log entries show, before and after
EVENT_FIELDS = (
    "name",
    "description",
    "location",
    "start_date",
    "end_date",
    "is_active",
    "programme_file",
    "guide_file",
    "logo",
    "banner",
    "organizer_name",
    "organizer_email",
    "organizer_phone",
    "president_id",
)
ROOM_FIELDS = ("name", "capacity", "description", "location", "is_active")
SESSION_FIELDS = (
    "room_id",
    "title",
    "description",
    "speaker_name",
    "speaker_title",
    "speaker_bio",
    "speaker_photo_url",
    "start_time",
    "end_time",
    "theme",
    "status",
    "session_type",
    "is_paid",
    "price",
    "youtube_live_url",
    "cover_image_url",
)
#: the event's stored files (names in the storage)
EVENT_FILES = ("programme_file", "guide_file", "logo", "banner")

#: the session status each action sets
SESSION_ACTIONS = {"mark_live": "en_cours", "mark_completed": "termine", "cancel": "pas_encore"}

NOT_GESTIONNAIRE = "Only a gestionnaire of this event may do this"


def require_gestionnaire(identity: Identity, event_id: uuid.UUID) -> None:
    """403 unless the caller is a gestionnaire (or organisateur) of ``event_id``,
    the event of their token."""
    if identity.event_id != event_id or not identity.has(IS_GESTIONNAIRE):
        raise APIError(403, NOT_GESTIONNAIRE)


def _log(
    identity: Identity,
    event_id: uuid.UUID | None,
    action: str,
    obj: Any,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    actionlog.record(
        db.session,
        event_id=event_id,
        actor_id=identity.user_id,
        action=action,
        obj_type=action.split(".", 1)[0],
        obj_id=obj.id,
        before=before,
        after=after,
    )


def _check_dates(start: datetime, end: datetime, start_name: str, end_name: str) -> None:
    if end < start:
        raise validation_error(end_name, f"must not be before {start_name}")


class Conflict(APIError):
    """A refused delete: what still refers to the object, counted."""

    def __init__(self, message: str, counts: dict[str, int]) -> None:
        super().__init__(409, message, code="in_use")
        self.counts = counts

    def body(self) -> dict[str, Any]:
        return {**super().body(), "counts": self.counts}


def _count(stmt: Any) -> int:
    return int(db.session.scalar(stmt) or 0)


# ---------------------------------------------------------------------------
# events


def _president(values: Mapping[str, Any]) -> None:
    president = values.get("president")
    if president is not None and db.session.get(User, president) is None:
        raise validation_error("president", "No such user.")


def _apply_event(event: Event, values: Mapping[str, Any]) -> None:
    for name in (
        "name",
        "description",
        "location",
        "start_date",
        "end_date",
        "is_active",
        "organizer_name",
        "organizer_email",
        "organizer_phone",
    ):
        if name in values:
            setattr(event, name, values[name])
    if "president" in values:
        event.president_id = values["president"]


def may_create_event(identity: Identity) -> bool:
    """A platform admin, or a gestionnaire/organisateur of the caller's current event."""
    return identity.user.is_admin or identity.has(IS_GESTIONNAIRE)


def create_event(
    identity: Identity, values: Mapping[str, Any], files: Mapping[str, str | None]
) -> Event:
    """A new event; its creator becomes its gestionnaire. ``files``: stored names."""
    if not may_create_event(identity):
        raise APIError(403, "Only a platform admin or a gestionnaire may create an event")
    _check_dates(values["start_date"], values["end_date"], "start_date", "end_date")
    _president(values)
    event = Event(id=uuid.uuid4(), created_by_id=identity.user_id)
    event.description = ""
    event.location = ""
    event.is_active = True
    _apply_event(event, values)
    for name, stored in files.items():
        setattr(event, name, stored)
    db.session.add(event)
    db.session.add(
        UserEventAssignment(
            id=uuid.uuid4(),
            user_id=identity.user_id,
            event_id=event.id,
            role=Role.GESTIONNAIRE.value,
            is_active=True,
            assigned_by_id=identity.user_id,
        )
    )
    db.session.flush()
    _log(identity, event.id, "event.create", event, None, actionlog.snapshot(event, EVENT_FIELDS))
    return event


def update_event(
    identity: Identity,
    event: Event,
    values: Mapping[str, Any],
    files: Mapping[str, str | None],
) -> list[str]:
    """Change the event's fields and files; returns the stored names it no longer
    uses (to remove once committed)."""
    require_gestionnaire(identity, event.id)
    before = actionlog.snapshot(event, EVENT_FIELDS)
    _check_dates(
        values.get("start_date", event.start_date),
        values.get("end_date", event.end_date),
        "start_date",
        "end_date",
    )
    _president(values)
    _apply_event(event, values)
    replaced: list[str] = []
    for name, stored in files.items():
        old = getattr(event, name)
        if old and old != stored:
            replaced.append(old)
        setattr(event, name, stored)
    db.session.flush()
    after = actionlog.snapshot(event, EVENT_FIELDS)
    if actionlog.changed(before, after):
        _log(identity, event.id, "event.update", event, before, after)
    return replaced


def delete_event(identity: Identity, event: Event) -> list[str]:
    """Delete an event nobody scanned in, with no kiosk and no payment.

    An event that has any of them is refused (409): its scans and payments are
    records to keep, and its kiosks would lose their event; deactivate it
    instead (``is_active: false``). Returns its stored files (to remove once
    committed)."""
    require_gestionnaire(identity, event.id)
    counts = {
        "scans": _count(select(func.count()).where(RoomAccess.event_id == event.id))
        + _count(select(func.count()).where(ExposantScan.event_id == event.id)),
        "kiosks": _count(select(func.count()).where(Kiosk.event_id == event.id)),
        "payments": _count(
            select(func.count())
            .select_from(SessionAccess)
            .join(EventSession, EventSession.id == SessionAccess.session_id)
            .where(EventSession.event_id == event.id)
        ),
    }
    counts = {k: v for k, v in counts.items() if v}
    if counts:
        what = ", ".join(f"{n} {k}" for k, n in counts.items())
        raise Conflict(
            f"This event has {what}: it cannot be deleted; deactivate it instead "
            "(is_active: false)",
            counts,
        )
    files = [name for name in (getattr(event, f) for f in EVENT_FILES) if name]
    # outside the event: the entry outlives it (its log goes with it)
    _log(identity, None, "event.delete", event, actionlog.snapshot(event, EVENT_FIELDS), None)
    db.session.delete(event)
    db.session.flush()
    return files


def event_statistics(event_id: uuid.UUID) -> dict[str, int]:
    """The seed's event statistics."""
    by_status = dict(
        db.session.execute(
            select(EventSession.status, func.count())
            .where(EventSession.event_id == event_id)
            .group_by(EventSession.status)
        ).all()
    )
    return {
        "total_participants": _count(select(func.count()).where(Participant.event_id == event_id)),
        "total_sessions": sum(by_status.values()),
        "live_sessions": by_status.get("en_cours", 0),
        "completed_sessions": by_status.get("termine", 0),
        "total_rooms": _count(select(func.count()).where(Room.event_id == event_id)),
    }


# ---------------------------------------------------------------------------
# rooms


def _event_of_body(identity: Identity, values: Mapping[str, Any]) -> uuid.UUID:
    """The event a new room or session is for: the token's; naming another is a 403."""
    event_id = identity.require_event()
    asked = values.get("event")
    if asked is not None and asked != event_id:
        raise APIError(
            403,
            "You can only change the event you are signed in to; switch event first",
            fields={"event": "not your current event"},
        )
    return event_id


def _apply(obj: Any, values: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if name in values:
            setattr(obj, name, values[name])


def create_room(identity: Identity, values: Mapping[str, Any]) -> Room:
    event_id = _event_of_body(identity, values)
    require_gestionnaire(identity, event_id)
    room = Room(
        id=uuid.uuid4(),
        event_id=event_id,
        created_by_id=identity.user_id,
        capacity=0,
        description="",
        location="",
        is_active=True,
    )
    _apply(room, values, ROOM_FIELDS)
    db.session.add(room)
    db.session.flush()
    _log(identity, event_id, "room.create", room, None, actionlog.snapshot(room, ROOM_FIELDS))
    return room


def _same_event(identity: Identity, values: Mapping[str, Any]) -> None:
    """A change may name its object's event (the token's), never move it to another."""
    _event_of_body(identity, values)


def update_room(identity: Identity, room: Room, values: Mapping[str, Any]) -> Room:
    require_gestionnaire(identity, room.event_id)
    _same_event(identity, values)
    before = actionlog.snapshot(room, ROOM_FIELDS)
    _apply(room, values, ROOM_FIELDS)
    db.session.flush()
    after = actionlog.snapshot(room, ROOM_FIELDS)
    if actionlog.changed(before, after):
        _log(identity, room.event_id, "room.update", room, before, after)
    return room


def delete_room(identity: Identity, room: Room) -> None:
    """Delete a room with no scan, no session and no door kiosk (else 409 with the
    counts: deactivate it instead). Participants allowed in it lose it from their
    list, through the change feed."""
    require_gestionnaire(identity, room.event_id)
    counts = {
        "scans": _count(select(func.count()).where(RoomAccess.room_id == room.id)),
        "sessions": _count(select(func.count()).where(EventSession.room_id == room.id)),
        "kiosks": _count(select(func.count()).where(Kiosk.room_id == room.id)),
    }
    counts = {k: v for k, v in counts.items() if v}
    if counts:
        what = ", ".join(f"{n} {k}" for k, n in counts.items())
        raise Conflict(
            f"This room has {what}: it cannot be deleted; deactivate it instead (is_active: false)",
            counts,
        )
    _log(identity, room.event_id, "room.delete", room, actionlog.snapshot(room, ROOM_FIELDS), None)
    db.session.delete(room)
    db.session.flush()


# ---------------------------------------------------------------------------
# sessions


def _check_session(session: EventSession, values: Mapping[str, Any]) -> None:
    """What depends on several fields or on the data, once the values are applied."""
    if "room" in values:
        room = db.session.get(Room, values["room"])
        if room is None or room.event_id != session.event_id:
            raise validation_error("room", "No such room in this event.")
        session.room_id = room.id
        session.room = room
    if session.end_time <= session.start_time:
        name = "end_time" if "end_time" in values or "start_time" not in values else "start_time"
        raise validation_error(name, "end_time must be after start_time")
    if session.is_paid and session.session_type != "atelier":
        problem = "Only an atelier can be paid."
        raise APIError(
            400,
            f"is_paid: {problem}",
            fields={"is_paid": problem, "session_type": "must be atelier for a paid session"},
        )
    if session.price is None or session.price < 0:
        raise validation_error("price", "must be at least 0")


def create_session(identity: Identity, values: Mapping[str, Any]) -> EventSession:
    event_id = _event_of_body(identity, values)
    require_gestionnaire(identity, event_id)
    session = EventSession(
        id=uuid.uuid4(),
        event_id=event_id,
        created_by_id=identity.user_id,
        description="",
        speaker_name="",
        speaker_title="",
        speaker_bio="",
        theme="",
        status="pas_encore",
        session_type="conference",
        is_paid=False,
        price=Decimal("0.00"),
    )
    _apply(session, values, tuple(f for f in SESSION_FIELDS if f != "room_id"))
    _check_session(session, values)
    db.session.add(session)
    db.session.flush()
    _log(
        identity,
        event_id,
        "session.create",
        session,
        None,
        actionlog.snapshot(session, SESSION_FIELDS),
    )
    return session


def update_session(
    identity: Identity, session: EventSession, values: Mapping[str, Any]
) -> EventSession:
    require_gestionnaire(identity, session.event_id)
    _same_event(identity, values)
    before = actionlog.snapshot(session, SESSION_FIELDS)
    _apply(session, values, tuple(f for f in SESSION_FIELDS if f != "room_id"))
    _check_session(session, values)
    db.session.flush()
    after = actionlog.snapshot(session, SESSION_FIELDS)
    if actionlog.changed(before, after):
        _log(identity, session.event_id, "session.update", session, before, after)
    return session


def set_session_status(identity: Identity, session: EventSession, action: str) -> EventSession:
    """``mark_live`` (en_cours), ``mark_completed`` (termine), ``cancel`` (pas_encore)."""
    require_gestionnaire(identity, session.event_id)
    status = SESSION_ACTIONS[action]
    before = {"status": session.status}
    session.status = status
    db.session.flush()
    _log(identity, session.event_id, f"session.{action}", session, before, {"status": status})
    return session


def delete_session(identity: Identity, session: EventSession) -> None:
    """Delete a session with no payment, no scan and no kiosk pinned to it (else 409
    with the counts)."""
    require_gestionnaire(identity, session.event_id)
    counts = {
        "payments": _count(select(func.count()).where(SessionAccess.session_id == session.id)),
        "scans": _count(select(func.count()).where(RoomAccess.session_id == session.id)),
        "kiosks": _count(select(func.count()).where(Kiosk.pinned_session_id == session.id)),
    }
    counts = {k: v for k, v in counts.items() if v}
    if counts:
        what = ", ".join(f"{n} {k}" for k, n in counts.items())
        raise Conflict(f"This session has {what}: it cannot be deleted", counts)
    _log(
        identity,
        session.event_id,
        "session.delete",
        session,
        actionlog.snapshot(session, SESSION_FIELDS),
        None,
    )
    db.session.delete(session)
    db.session.flush()
