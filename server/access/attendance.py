"""Attendance: who came into a session's room while it ran, and a room's entries.

An entry is a door scan of a participant that let them in: the door's own
verdict (``server.access.checkin.LET_IN``, as check-in counts it), online or
offline. A kiosk's scan the server judged otherwise is a discrepancy
(``/api/events/{id}/discrepancies/``); the person came in all the same, and one
the door turned away did not. A session's attendees are the participants
with at least one entry in its room during ``[start_time, end_time)``, once
each, by their first entry. Days are UTC days, as the room tallies' are.

Gestionnaires read every room; a controller reads the room they are posted to
(as ``/api/my-room/statistics/`` decides it), else 403. Every list reads the
index ``ix_room_accesses_room_stats`` (room, participant, time, verdicts) or
``ix_room_accesses_room_time``: one query for the page, one for the count.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import joinedload

from server.access.checkin import LET_IN
from server.access.schemas import (
    RoomAttendanceArgs,
    RoomAttendanceExportArgs,
    RoomAttendanceSchema,
    SessionAttendanceSchema,
)
from server.access.stats import controller_room
from server.auth.permissions import (
    CAN_VERIFY,
    IS_CONTROLLER,
    Identity,
    current_identity,
    require_auth,
    same_event,
)
from server.errors import APIError
from server.events.api import room_in_event
from server.export import XLSX, xlsx_response
from server.extensions import db
from server.models import EventSession, Participant, Room, RoomAccess, User
from server.pagination import paginate
from server.people.participants_api import SEES_ALL
from server.schema import Blueprint, PageArgs, documented
from shared.leads import Cell, Sheet, column_widths, excel_time, safe_name_part, sheet_titles
from shared.timefmt import iso, utcnow

bp = Blueprint("attendance", __name__, description="Who entered a session's room, a room's entries")


SUMMARY_SHEET = "Résumé"
SESSION_SUMMARY_HEADERS = (
    "Session",
    "Salle",
    "Début (UTC)",
    "Fin (UTC)",
    "Capacité",
    "Présents",
)
ATTENDEE_HEADERS = (
    "Première entrée (UTC)",
    "Nom",
    "Email",
    "Badge",
    "Organisation",
    "Entrées",
)
ENTRY_HEADERS = (
    "Date/Heure (UTC)",
    "Nom",
    "Email",
    "Badge",
    "Organisation",
    "Session",
    "Hors ligne",
)


# ---------------------------------------------------------------------------
# who may read what


def _check_room(identity: Identity, room_id: uuid.UUID) -> None:
    """A controller reads the attendance of the room they are posted to only."""
    if identity.has(IS_CONTROLLER) and controller_room(identity) != room_id:
        raise APIError(403, "You can only read the attendance of the room you are posted to")


def _session(session_id: uuid.UUID) -> EventSession:
    session = db.session.get(EventSession, session_id, options=[joinedload(EventSession.room)])
    if session is None:
        raise APIError(404, "Session not found")
    identity = current_identity()
    same_event(identity, session.event_id, "Session")
    _check_room(identity, session.room_id)
    return session


def _room(room_id: uuid.UUID) -> Room:
    room = room_in_event(room_id)
    _check_room(current_identity(), room.id)
    return room


def _shows_emails() -> bool:
    """The participants list shows every participant's email to these roles."""
    return current_identity().has(SEES_ALL)


# ---------------------------------------------------------------------------
# the queries


def _attendees(session: EventSession) -> tuple[Select[Any], Select[Any]]:
    """The attendees in order, and their count (from the index alone)."""
    per_person = (
        select(
            RoomAccess.participant_id.label("participant_id"),
            func.min(RoomAccess.access_time).label("first_entry"),
            func.count().label("scans"),
        )
        .where(
            RoomAccess.room_id == session.room_id,
            RoomAccess.participant_id.is_not(None),
            RoomAccess.access_time >= session.start_time,
            RoomAccess.access_time < session.end_time,
            LET_IN,
        )
        .group_by(RoomAccess.participant_id)
        .subquery()
    )
    rows = (
        select(per_person.c.first_entry, per_person.c.scans, Participant, User)
        .join(Participant, Participant.id == per_person.c.participant_id)
        .join(User, User.id == Participant.user_id)
        .order_by(per_person.c.first_entry, Participant.id)
    )
    return rows, select(func.count()).select_from(per_person)


def _entries(room: Room, day: tuple[datetime, datetime] | None) -> tuple[Select[Any], Select[Any]]:
    """The room's granted entries of participants, oldest first, and their count."""
    where: list[ColumnElement[bool]] = [
        RoomAccess.room_id == room.id,
        RoomAccess.participant_id.is_not(None),
        LET_IN,
    ]
    if day is not None:
        where += [RoomAccess.access_time >= day[0], RoomAccess.access_time < day[1]]
    rows = (
        select(
            RoomAccess.id,
            RoomAccess.access_time,
            RoomAccess.decided_offline,
            Participant,
            User,
            EventSession.id.label("session_id"),
            EventSession.title.label("session_title"),
        )
        .join(Participant, Participant.id == RoomAccess.participant_id)
        .join(User, User.id == Participant.user_id)
        .outerjoin(EventSession, EventSession.id == RoomAccess.session_id)
        .where(*where)
        .order_by(RoomAccess.access_time, RoomAccess.id)
    )
    return rows, select(func.count()).select_from(RoomAccess).where(*where)


def _person(participant: Participant, user: User, emails: bool) -> dict[str, Any]:
    return {
        "participant_id": str(participant.id),
        "user_id": user.id,
        "name": user.full_name,
        "email": user.email if emails else None,
        "badge_number": participant.badge_number,
        "organisation": participant.organisation or "",
    }


def _room_ref(room: Room) -> dict[str, Any]:
    return {"id": str(room.id), "name": room.name, "capacity": room.capacity}


# ---------------------------------------------------------------------------
# JSON


@bp.get("/api/sessions/<uuid:session_id>/attendance/")
@require_auth(CAN_VERIFY)
@bp.arguments(PageArgs, location="query", as_kwargs=True)
@documented(bp, errors=(400, 403, 404), answers={200: SessionAttendanceSchema})
def session_attendance(session_id: uuid.UUID, **args: Any) -> ResponseReturnValue:
    """The participants let into the session's room while it ran, once each, by first
    entry. Gestionnaires; a controller: the room they are posted to."""
    session = _session(session_id)
    rows, counted = _attendees(session)
    count = db.session.scalar(counted) or 0
    emails = _shows_emails()

    def row(r: Any) -> dict[str, Any]:
        first_entry, scans, participant, user = r
        return {
            **_person(participant, user, emails),
            "first_entry": iso(first_entry),
            "scans": scans,
        }

    page = paginate(rows, row, rows=True, args=args, count=count)
    summary = {
        "session": {
            "id": str(session.id),
            "title": session.title,
            "start_time": iso(session.start_time),
            "end_time": iso(session.end_time),
            "room": _room_ref(session.room),
        },
        "attendees": count,
        "capacity": session.room.capacity,
    }
    return jsonify({**summary, **page})


@bp.get("/api/rooms/<uuid:room_id>/attendance/")
@require_auth(CAN_VERIFY)
@bp.arguments(RoomAttendanceArgs, location="query", as_kwargs=True)
@documented(bp, errors=(400, 403, 404), answers={200: RoomAttendanceSchema})
def room_attendance(room_id: uuid.UUID, **args: Any) -> ResponseReturnValue:
    """Every granted entry of a participant into the room, oldest first; ``date``: of
    that UTC day. Gestionnaires; a controller: the room they are posted to."""
    room = _room(room_id)
    day = args.pop("date", None)
    rows, counted = _entries(room, day)
    emails = _shows_emails()

    def row(r: Any) -> dict[str, Any]:
        return {
            "id": str(r.id),
            "accessed_at": iso(r.access_time),
            **_person(r.Participant, r.User, emails),
            "session": {"id": str(r.session_id), "title": r.session_title}
            if r.session_id is not None
            else None,
            "decided_offline": bool(r.decided_offline),
        }

    page = paginate(rows, row, rows=True, args=args, count=db.session.scalar(counted) or 0)
    return jsonify({"room": _room_ref(room), "date": _day_text(day), **page})


def _day_text(day: tuple[datetime, datetime] | None) -> str | None:
    return day[0].date().isoformat() if day is not None else None


# ---------------------------------------------------------------------------
# workbooks


def _sheet(title: str, header: tuple[str, ...], rows: list[tuple[Cell, ...]]) -> Sheet:
    return Sheet(title, header, rows, (0,), False, column_widths(header, rows))


def _blank_none(value: str | None) -> str | None:
    return value if value else None


def session_sheets(session: EventSession, attendees: Sequence[Any], emails: bool) -> list[Sheet]:
    """A summary sheet (the session, its room, capacity, attendees), then the
    attendees by first entry, on a sheet titled with the session's title."""
    summary_row: tuple[Cell, ...] = (
        session.title,
        session.room.name,
        excel_time(session.start_time),
        excel_time(session.end_time),
        session.room.capacity,
        len(attendees),
    )
    summary = Sheet(
        SUMMARY_SHEET,
        SESSION_SUMMARY_HEADERS,
        [summary_row],
        (2, 3),
        False,
        column_widths(SESSION_SUMMARY_HEADERS, [summary_row]),
    )
    rows: list[tuple[Cell, ...]] = [
        (
            excel_time(first_entry),
            user.full_name,
            _blank_none(user.email) if emails else None,
            participant.badge_number,
            _blank_none(participant.organisation),
            scans,
        )
        for first_entry, scans, participant, user in attendees
    ]
    (title,) = sheet_titles([session.title])
    if title.casefold() == SUMMARY_SHEET.casefold():
        title = f"{title} (2)"
    return [summary, _sheet(title, ATTENDEE_HEADERS, rows)]


def room_sheets(room: Room, entries: Sequence[Any], emails: bool) -> list[Sheet]:
    """The room's entries, oldest first, on a sheet titled with the room's name."""
    rows: list[tuple[Cell, ...]] = [
        (
            excel_time(r.access_time),
            r.User.full_name,
            _blank_none(r.User.email) if emails else None,
            r.Participant.badge_number,
            _blank_none(r.Participant.organisation),
            r.session_title,
            "oui" if r.decided_offline else "non",
        )
        for r in entries
    ]
    (title,) = sheet_titles([room.name])
    return [_sheet(title, ENTRY_HEADERS, rows)]


def _stamp() -> str:
    return f"{utcnow():%Y%m%d_%H%M%S}"


@bp.get("/api/sessions/<uuid:session_id>/attendance/export_excel/")
@require_auth(CAN_VERIFY)
@documented(bp, errors=(403, 404), answers={200: XLSX})
def export_session_attendance(session_id: uuid.UUID) -> ResponseReturnValue:
    """The session's attendance as .xlsx (``Content-Disposition: attachment``)."""
    session = _session(session_id)
    rows, _counted = _attendees(session)
    sheets = session_sheets(session, db.session.execute(rows).all(), _shows_emails())
    name = safe_name_part(session.title, "session")
    return xlsx_response(sheets, f"Presence_Session_{name}_{_stamp()}.xlsx")


@bp.get("/api/rooms/<uuid:room_id>/attendance/export_excel/")
@require_auth(CAN_VERIFY)
@bp.arguments(RoomAttendanceExportArgs, location="query", as_kwargs=True)
@documented(bp, errors=(400, 403, 404), answers={200: XLSX})
def export_room_attendance(room_id: uuid.UUID, **args: Any) -> ResponseReturnValue:
    """The room's granted entries as .xlsx; ``date``: of that UTC day."""
    room = _room(room_id)
    day = args.get("date")
    rows, _counted = _entries(room, day)
    sheets = room_sheets(room, db.session.execute(rows).all(), _shows_emails())
    name = safe_name_part(room.name, "salle")
    when = f"_{day[0]:%Y%m%d}" if day is not None else ""
    return xlsx_response(sheets, f"Presence_Salle_{name}{when}_{_stamp()}.xlsx")
