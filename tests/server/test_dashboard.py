"""GET /api/dashboard/stats/: the seed's answer for any member of the event,
counted in SQL (the same statements whatever the number of participants)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from server.extensions import db
from shared.timefmt import utcnow
from tests.conftest import AuthActions, Factory
from tests.server.content_helpers import ORG, C, Cast, E, G, P, cast

URL = "/api/dashboard/stats/"


@pytest.fixture
def c(app: Flask, make: Factory, auth: AuthActions) -> Cast:
    return cast(app, make, auth)


def test_the_seeds_answer(make: Factory, client: FlaskClient, c: Cast) -> None:
    now = utcnow()
    room = c.world.rooms[2]
    make.session(c.event_id, room, status="en_cours", start=now - timedelta(minutes=30))
    make.session(c.event_id, room, status="termine", start=now - timedelta(hours=3))
    make.session(c.event_id, room, status="termine", start=now - timedelta(hours=5))
    # still to come: seven, of which the dashboard shows the next five in order
    later = [
        make.session(c.event_id, room, start=now + timedelta(hours=h), title=f"Later {h}")
        for h in (7, 2, 5, 1, 3, 6, 4)
    ]
    # one whose time has come but not marked live: not upcoming any more
    make.session(c.event_id, room, start=now - timedelta(minutes=1), title="Late start")
    # another event's sessions and people count for nothing here
    make.session(c.other.event_id, c.other.rooms[0], status="en_cours")
    make.member(c.other.event_id, P)
    r = client.get(URL, headers=c.headers[G])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert list(body) == [
        "event",
        "total_participants",
        "total_sessions",
        "live_sessions",
        "completed_sessions",
        "upcoming_sessions",
        "my_role",
    ]
    assert body["event"]["id"] == str(c.event_id)
    assert body["event"]["name"] == "Main event"
    assert body["event"]["start_date"].endswith("Z")
    assert body["event"]["logo"] is None
    # the world's two sessions, 3 past or live, 7 to come and the late one
    assert body["total_sessions"] == 2 + 3 + 7 + 1
    assert body["live_sessions"] == 1
    assert body["completed_sessions"] == 2
    # the world's participant and the admin (a participant): exposants, staff not counted
    assert body["total_participants"] == 2
    upcoming = body["upcoming_sessions"]
    assert [s["title"] for s in upcoming] == [f"Later {h}" for h in (1, 2, 3, 4, 5)]
    assert {s["id"] for s in upcoming} <= {str(s) for s in later}
    assert upcoming[0]["room_name"] and upcoming[0]["price"] == "0.00"
    assert body["my_role"] == "gestionnaire_des_salles"


def test_every_member_reads_it_with_their_role(client: FlaskClient, c: Cast) -> None:
    roles = {
        G: "gestionnaire_des_salles",
        ORG: "organisateur",
        C: "controlleur_des_badges",
        P: "participant",
        E: "exposant",
        "admin": "participant",
    }
    for who, role in roles.items():
        r = client.get(URL, headers=c.headers[who])
        assert r.status_code == 200, who
        assert r.get_json()["my_role"] == role
        assert r.get_json()["event"]["id"] == str(c.event_id)
    r = client.get(URL, headers=c.headers["outsider"])
    assert r.get_json()["event"]["id"] == str(c.other.event_id)
    assert client.get(URL).status_code == 401


def test_a_token_without_an_event_is_the_seeds_400(
    auth: AuthActions, client: FlaskClient, c: Cast
) -> None:
    pair = auth.tokens(c.members["admin"].user_id, None, None)
    r = client.get(URL, headers={"Authorization": f"Bearer {pair['access']}"})
    assert r.status_code == 400
    assert r.get_json()["code"] == "no_event_context"


def test_a_withdrawn_participant_is_not_counted(
    make: Factory, client: FlaskClient, c: Cast
) -> None:
    make.member(c.event_id, P, active=False)
    assert client.get(URL, headers=c.headers[G]).get_json()["total_participants"] == 2


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def test_participants_are_read_from_the_tally_not_counted(
    app: Flask, make: Factory, client: FlaskClient, c: Cast
) -> None:
    headers = c.headers[G]
    client.get(URL, headers=headers)  # warm: the first request's one-off statements
    with _statements(app) as few:
        assert client.get(URL, headers=headers).get_json()["total_participants"] == 2
    for _ in range(40):
        make.member(c.event_id, P)
    with _statements(app) as many:
        assert client.get(URL, headers=headers).get_json()["total_participants"] == 42
    assert len(many) == len(few)
    # the token's check (one row) and the tally (one row); no row is counted
    touching = [s for s in many if "participants" in s or "user_event_assignments" in s]
    assert len(touching) == 1, touching
    assert "user_event_assignments.user_id = " in touching[0]
    assert [s for s in many if "event_tallies" in s]
    assert not [s for s in many if "count(" in s.lower() and "sessions" not in s], many
