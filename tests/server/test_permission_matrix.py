"""The seed's permission matrix over the whole organizer API, caller by caller.

Seven callers for every operation: event A's gestionnaire, organisateur,
controller, participant and exposant; a platform admin with no role in A
(signed in with no event); and event B's gestionnaire, whose token names B,
so that anything refused to him is refused because of the event. Each write
is made on an object of its own, made for that caller, so one caller's success
cannot turn into another's 404.

The expected answers are the seed's "Permission Matrix" (gestionnaires write;
everyone in the event reads; announcements are written by anyone and edited
by their author; questions are asked by participants and answered by
gestionnaires; room assignments are the gestionnaires' own), read per event:
another event's object is a 404; an endpoint that needs an event context
answers a caller without one 400 ``no_event_context``. A platform admin reads
and creates events without a role in them, and has no other right there (a
403 on changing one, a 400 where the event context is needed): to run an
event, they sign in to it with a role, as everyone does.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from server.extensions import db
from server.models import (
    Annonce,
    RoomAssignment,
    SessionQuestion,
    User,
    UserEventAssignment,
)
from shared.roles import Role
from shared.timefmt import iso, utcnow
from tests.conftest import AuthActions, Factory, Member, World

G, ORG, C, P, E = (
    Role.GESTIONNAIRE.value,
    Role.ORGANISATEUR.value,
    Role.CONTROLLEUR.value,
    Role.PARTICIPANT.value,
    Role.EXPOSANT.value,
)
ADMIN, B = "platform_admin", "other_event_gestionnaire"
CALLERS = (G, ORG, C, P, E, ADMIN, B)
_n = itertools.count(1)


@dataclass
class Ctx:
    """What the builders of a case get: both worlds, the factory, the caller."""

    app: Flask
    make: Factory
    a: World
    b: World
    caller: str
    member: Member | None  # None for the platform admin

    def unique(self) -> int:
        return next(_n)

    def assignment_id(self, who: Member) -> uuid.UUID:
        with self.app.app_context():
            found = db.session.scalar(
                select(UserEventAssignment.id).where(
                    UserEventAssignment.user_id == who.user_id,
                    UserEventAssignment.event_id == who.event_id,
                )
            )
            assert found is not None
            return found

    def annonce_by(self, who: Member) -> uuid.UUID:
        with self.app.app_context():
            row = Annonce(event_id=who.event_id, title="Pause", created_by_id=who.user_id)
            db.session.add(row)
            db.session.commit()
            return row.id

    def posted(self, room: uuid.UUID) -> uuid.UUID:
        """``room``, with event A's controller posted to it now (once)."""
        controller = self.a.members[C]
        with self.app.app_context():
            found = db.session.scalar(
                select(RoomAssignment.id).where(
                    RoomAssignment.user_id == controller.user_id, RoomAssignment.room_id == room
                )
            )
            if found is None:
                now = utcnow()
                db.session.add(
                    RoomAssignment(
                        user_id=controller.user_id,
                        room_id=room,
                        event_id=self.a.event_id,
                        role=C,
                        start_time=now - timedelta(hours=1),
                        end_time=now + timedelta(hours=1),
                    )
                )
                db.session.commit()
        return room

    def posted_session(self) -> uuid.UUID:
        """Event A's free session, with A's controller posted to its room (room 0)."""
        self.posted(self.a.rooms[0])
        return self.a.free_session

    def question(self) -> uuid.UUID:
        asker = self.a.members[P]
        assert asker.participant_id is not None
        with self.app.app_context():
            row = SessionQuestion(
                session_id=self.a.free_session,
                participant_id=asker.participant_id,
                question_text="Quels prérequis ?",
            )
            db.session.add(row)
            db.session.commit()
            return row.id


Build = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Case:
    method: str
    url: Build
    body: Build | None
    # expected status per caller: G, O, C, P, E, ADMIN, B
    expect: tuple[int, int, int, int, int, int, int]


def _slot(hours: int = 0) -> dict[str, str]:
    start = utcnow() + timedelta(days=30, hours=hours + next(_n) * 3)
    return {"start_time": iso(start), "end_time": iso(start + timedelta(hours=1))}


# fmt: off
CASES: dict[str, Case] = {
    # -- events ------------------------------------------------------------
    "events.list": Case("GET", lambda t: "/api/events/", None,
                        (200, 200, 200, 200, 200, 200, 200)),
    "events.detail": Case("GET", lambda t: f"/api/events/{t.a.event_id}/", None,
                          (200, 200, 200, 200, 200, 200, 404)),
    "events.statistics": Case("GET", lambda t: f"/api/events/{t.a.event_id}/statistics/", None,
                              (200, 200, 200, 200, 200, 200, 404)),
    "events.log": Case("GET", lambda t: f"/api/events/{t.a.event_id}/log/", None,
                       (200, 200, 403, 403, 403, 400, 404)),
    "events.create": Case(
        "POST", lambda t: "/api/events/",
        lambda t: {"name": f"Salon {t.unique()}", "start_date": iso(utcnow()),
                   "end_date": iso(utcnow() + timedelta(days=1))},
        (201, 201, 403, 403, 403, 201, 201)),
    "events.update": Case("PATCH", lambda t: f"/api/events/{t.a.event_id}/",
                          lambda t: {"location": f"Oran {t.unique()}"},
                          (200, 200, 403, 403, 403, 403, 404)),
    # -- rooms -------------------------------------------------------------
    "rooms.create": Case("POST", lambda t: "/api/rooms/",
                         lambda t: {"name": f"Salle {t.unique()}", "capacity": 40},
                         (201, 201, 403, 403, 403, 400, 201)),
    "rooms.update": Case("PATCH", lambda t: f"/api/rooms/{t.a.rooms[2]}/",
                         lambda t: {"capacity": 50 + t.unique()},
                         (200, 200, 403, 403, 403, 400, 404)),
    "rooms.delete": Case("DELETE",
                         lambda t: f"/api/rooms/{t.make.room(t.a.event_id, f'Tmp {t.unique()}')}/",
                         None, (204, 204, 403, 403, 403, 400, 404)),
    "rooms.participants": Case("GET", lambda t: f"/api/rooms/{t.a.rooms[0]}/participants/", None,
                               (200, 200, 200, 403, 403, 400, 404)),
    # -- attendance: a controller reads the room they are posted to --------
    "attendance.session (the controller's room)": Case(
        "GET", lambda t: f"/api/sessions/{t.posted_session()}/attendance/",
        None, (200, 200, 200, 403, 403, 400, 404)),
    "attendance.session (another room)": Case(
        "GET", lambda t: f"/api/sessions/{t.a.paid_session}/attendance/", None,
        (200, 200, 403, 403, 403, 400, 404)),
    "attendance.session_export (the controller's room)": Case(
        "GET",
        lambda t: f"/api/sessions/{t.posted_session()}/attendance/export_excel/",
        None, (200, 200, 200, 403, 403, 400, 404)),
    "attendance.session_export (another room)": Case(
        "GET", lambda t: f"/api/sessions/{t.a.paid_session}/attendance/export_excel/", None,
        (200, 200, 403, 403, 403, 400, 404)),
    "attendance.room (the controller's room)": Case(
        "GET", lambda t: f"/api/rooms/{t.posted(t.a.rooms[0])}/attendance/", None,
        (200, 200, 200, 403, 403, 400, 404)),
    "attendance.room (another room)": Case(
        "GET", lambda t: f"/api/rooms/{t.a.rooms[1]}/attendance/", None,
        (200, 200, 403, 403, 403, 400, 404)),
    "attendance.room_export (the controller's room)": Case(
        "GET", lambda t: f"/api/rooms/{t.posted(t.a.rooms[0])}/attendance/export_excel/", None,
        (200, 200, 200, 403, 403, 400, 404)),
    "attendance.room_export (another room)": Case(
        "GET", lambda t: f"/api/rooms/{t.a.rooms[1]}/attendance/export_excel/", None,
        (200, 200, 403, 403, 403, 400, 404)),
    # -- sessions ----------------------------------------------------------
    "sessions.create": Case(
        "POST", lambda t: "/api/sessions/",
        lambda t: {"title": f"Talk {t.unique()}",
                   "room": str((t.b if t.caller == B else t.a).rooms[2]), **_slot()},
        (201, 201, 403, 403, 403, 400, 201)),
    "sessions.update": Case("PATCH", lambda t: f"/api/sessions/{t.a.free_session}/",
                            lambda t: {"theme": f"IA {t.unique()}"},
                            (200, 200, 403, 403, 403, 400, 404)),
    "sessions.mark_live": Case("POST", lambda t: f"/api/sessions/{t.a.free_session}/mark_live/",
                               None, (200, 200, 403, 403, 403, 400, 404)),
    "sessions.delete": Case(
        "DELETE",
        lambda t: f"/api/sessions/{t.make.session(t.a.event_id, t.a.rooms[2])}/", None,
        (204, 204, 403, 403, 403, 400, 404)),
    # -- people ------------------------------------------------------------
    "participants.list": Case("GET", lambda t: "/api/participants/", None,
                              (200, 200, 200, 200, 200, 400, 200)),
    "participants.detail": Case(
        "GET", lambda t: f"/api/participants/{t.a.members[P].participant_id}/", None,
        (200, 200, 200, 200, 404, 400, 404)),
    "participants.create": Case(
        "POST", lambda t: "/api/participants/",
        lambda t: {"email": f"new{t.unique()}@example.com", "badge_number": f"N-{t.unique()}"},
        (201, 201, 403, 403, 403, 400, 201)),
    "participants.update": Case(
        "PATCH", lambda t: f"/api/participants/{t.a.members[P].participant_id}/",
        lambda t: {"organisation": f"Org {t.unique()}"},
        (200, 200, 403, 403, 403, 400, 404)),
    "assignments.list": Case("GET", lambda t: "/api/user-assignments/", None,
                             (200, 200, 200, 200, 200, 400, 200)),
    "assignments.create": Case(
        "POST", lambda t: "/api/user-assignments/",
        lambda t: {"email": f"staff{t.unique()}@example.com", "role": C},
        (201, 201, 403, 403, 403, 400, 201)),
    "assignments.update": Case(
        "PATCH",
        lambda t: f"/api/user-assignments/{t.assignment_id(t.make.member(t.a.event_id, C))}/",
        lambda t: {"is_active": False}, (200, 200, 403, 403, 403, 400, 404)),
    # -- paid ateliers -----------------------------------------------------
    "session_access.list": Case("GET", lambda t: "/api/session-access/", None,
                                (200, 200, 403, 200, 403, 400, 200)),
    "session_access.create": Case(
        "POST", lambda t: "/api/session-access/",
        lambda t: {"participant": str(t.make.member(t.a.event_id, P).participant_id),
                   "session": str(t.a.paid_session), "payment_status": "paid"},
        (201, 201, 403, 403, 403, 400, 400)),
    # -- announcements -----------------------------------------------------
    "annonces.list": Case("GET", lambda t: "/api/annonces/", None,
                          (200, 200, 200, 200, 200, 400, 200)),
    "annonces.create": Case("POST", lambda t: "/api/annonces/",
                            lambda t: {"title": f"Info {t.unique()}", "target": "all"},
                            (201, 201, 201, 201, 201, 400, 201)),
    "annonces.update (the participant's)": Case(
        "PATCH", lambda t: f"/api/annonces/{t.annonce_by(t.a.members[P])}/",
        lambda t: {"title": f"Changed {t.unique()}"}, (200, 200, 403, 200, 403, 400, 404)),
    # -- questions ---------------------------------------------------------
    "questions.list": Case("GET", lambda t: "/api/session-questions/", None,
                           (200, 200, 200, 200, 200, 400, 200)),
    "questions.answer": Case("POST", lambda t: f"/api/session-questions/{t.question()}/answer/",
                             lambda t: {"answer_text": "Python"},
                             (200, 200, 403, 403, 403, 400, 404)),
    # -- room staffing and the dashboard -----------------------------------
    "room_assignments.list": Case("GET", lambda t: "/api/room-assignments/", None,
                                  (200, 200, 403, 403, 403, 400, 200)),
    "room_assignments.create": Case(
        "POST", lambda t: "/api/room-assignments/",
        lambda t: {"user": t.make.member(t.a.event_id, C).user_id, "room": str(t.a.rooms[0]),
                   "role": C, **_slot()},
        (201, 201, 403, 403, 403, 400, 400)),
    "dashboard.stats": Case("GET", lambda t: "/api/dashboard/stats/", None,
                            (200, 200, 200, 200, 200, 400, 200)),
}
# fmt: on


@pytest.fixture
def worlds(make: Factory) -> tuple[World, World]:
    a, b = make.world("Event A"), make.world("Event B")
    a.members[ORG] = make.member(a.event_id, ORG)
    return a, b


def _caller(
    app: Flask, make: Factory, auth: AuthActions, a: World, b: World, who: str
) -> tuple[Member | None, dict[str, str]]:
    if who == ADMIN:
        admin = make.user()
        with app.app_context():
            db.session.execute(update(User).where(User.id == admin.id).values(is_admin=True))
            db.session.commit()
        pair = auth.tokens(admin.id, None, None)
        return None, {"Authorization": f"Bearer {pair['access']}"}
    member = b.members[G] if who == B else a.members[who]
    return member, auth.headers(member)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_permission_matrix(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    auth: AuthActions,
    worlds: tuple[World, World],
    name: str,
) -> None:
    a, b = worlds
    case = CASES[name]
    got = {}
    for who in CALLERS:
        member, headers = _caller(app, make, auth, a, b, who)
        t = Ctx(app, make, a, b, who, member)
        url = case.url(t)
        body = case.body(t) if case.body else None
        r = client.open(url, method=case.method, json=body, headers=headers)
        got[who] = r.status_code
        if r.status_code >= 400:  # every refusal is the app's error body
            assert r.is_json and isinstance(r.get_json().get("error"), str), r.data
        assert r.status_code < 500, (who, r.data)
    assert got == dict(zip(CALLERS, case.expect, strict=True))
