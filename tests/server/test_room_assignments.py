"""Room assignments: gestionnaires only, members and rooms of the event, slots
that do not overlap, filters, the action log; and the controller's room for
GET /api/my-room/statistics/."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event

from server.extensions import db
from server.models import UserEventAssignment
from shared.timefmt import iso, utcnow
from tests.conftest import AuthActions, Factory
from tests.server.content_helpers import ORG, C, Cast, E, G, P, cast, log_entries

URL = "/api/room-assignments/"


@pytest.fixture
def c(app: Flask, make: Factory, auth: AuthActions) -> Cast:
    return cast(app, make, auth)


#: the test's "now", to the second: slots of one test are hours from the same
#: instant (read again for each slot, two slots could straddle a second and overlap)
_now: list[datetime] = []


@pytest.fixture(autouse=True)
def _one_now() -> Iterator[None]:
    _now.append(utcnow().replace(microsecond=0))
    yield
    _now.clear()


def _slot(start_h: float, end_h: float) -> dict[str, str]:
    base = _now[-1]
    return {
        "start_time": iso(base + timedelta(hours=start_h)) or "",
        "end_time": iso(base + timedelta(hours=end_h)) or "",
    }


def _body(
    c: Cast, who: str = C, room: int = 0, start: float = -1, end: float = 1
) -> dict[str, Any]:
    return {
        "user": c.members[who].user_id,
        "room": str(c.world.rooms[room]),
        "role": "controlleur_des_badges",
        **_slot(start, end),
    }


def _create(client: FlaskClient, c: Cast, body: dict[str, Any], who: str = G) -> dict[str, Any]:
    r = client.post(URL, json=body, headers=c.headers[who])
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def test_a_gestionnaire_posts_staff_and_the_answer_has_the_seeds_fields(
    client: FlaskClient, c: Cast
) -> None:
    body = _create(client, c, _body(c))
    assert set(body) == {
        "id",
        "user",
        "room",
        "event",
        "role",
        "start_time",
        "end_time",
        "is_active",
        "assigned_by",
        "assigned_at",
    }
    assert body["user"] == c.members[C].user_id
    assert body["room"] == str(c.world.rooms[0])
    assert body["event"] == str(c.event_id)
    assert body["role"] == "controlleur_des_badges"
    assert body["is_active"] is True
    assert body["assigned_by"] == c.members[G].user_id
    assert body["start_time"].endswith("Z") and body["assigned_at"].endswith("Z")
    got = client.get(f"{URL}{body['id']}/", headers=c.headers[ORG])
    assert got.status_code == 200 and got.get_json() == body


def test_only_gestionnaires_and_organisateurs(client: FlaskClient, c: Cast) -> None:
    made = _create(client, c, _body(c))
    url = f"{URL}{made['id']}/"
    for who in (C, P, E, "admin"):
        h = c.headers[who]
        assert client.get(URL, headers=h).status_code == 403, who
        assert client.post(URL, json=_body(c, start=5, end=6), headers=h).status_code == 403
        assert client.get(url, headers=h).status_code == 403
        assert client.patch(url, json={"is_active": False}, headers=h).status_code == 403
        assert client.delete(url, headers=h).status_code == 403
    # another event's gestionnaire: the assignment does not exist for them
    h = c.headers["outsider"]
    assert client.get(url, headers=h).status_code == 404
    assert client.patch(url, json={"is_active": False}, headers=h).status_code == 404
    assert client.delete(url, headers=h).status_code == 404
    assert client.get(URL, headers=h).get_json()["count"] == 0
    assert client.get(URL).status_code == 401
    assert client.get(f"{URL}{uuid.uuid4()}/", headers=c.headers[G]).status_code == 404


def test_the_user_must_be_a_member_and_the_room_of_the_event(
    app: Flask, make: Factory, client: FlaskClient, c: Cast
) -> None:
    stranger = make.user()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"user": stranger.id}, "user"),
        ({"user": c.members["outsider"].user_id}, "user"),
        ({"user": 2**31 - 1}, "user"),
        ({"room": str(c.other.rooms[0])}, "room"),
        ({"room": str(uuid.uuid4())}, "room"),
    ]
    for change, field in cases:
        r = client.post(URL, json={**_body(c), **change}, headers=c.headers[G])
        assert r.status_code == 400, change
        assert field in r.get_json()["fields"], r.get_json()
    # a withdrawn role: no longer a member
    withdrawn = make.member(c.event_id, C, active=False)
    r = client.post(URL, json={**_body(c), "user": withdrawn.user_id}, headers=c.headers[G])
    assert r.status_code == 400 and "user" in r.get_json()["fields"]
    assert log_entries(app, "room_assignment") == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"user": None}, "user"),
        ({"user": "5"}, "user"),
        ({"user": 5.5}, "user"),
        ({"user": True}, "user"),
        ({"user": 0}, "user"),
        ({"user": 2**64}, "user"),
        ({"room": "nope"}, "room"),
        ({"room": 3}, "room"),
        ({"role": "participant"}, "role"),
        ({"role": "organisateur"}, "role"),
        ({"start_time": "2025-12-01T09:00:00"}, "start_time"),
        ({"start_time": "tomorrow"}, "start_time"),
        ({"start_time": "9999-12-31T23:59:59-14:00"}, "start_time"),
        ({"end_time": 1733043600}, "end_time"),
        ({"is_active": "yes"}, "is_active"),
    ],
)
def test_bad_bodies_are_400s_naming_the_field(
    app: Flask, client: FlaskClient, c: Cast, change: dict[str, Any], field: str
) -> None:
    r = client.post(URL, json={**_body(c), **change}, headers=c.headers[G])
    assert r.status_code == 400, r.get_json()
    assert field in r.get_json()["fields"], r.get_json()
    assert log_entries(app, "room_assignment") == []


def test_missing_fields_and_end_before_start(client: FlaskClient, c: Cast) -> None:
    for name in ("user", "room", "role", "start_time", "end_time"):
        body = _body(c)
        del body[name]
        r = client.post(URL, json=body, headers=c.headers[G])
        assert r.status_code == 400 and name in r.get_json()["fields"], name
    for start, end in ((2, 1), (1, 1)):
        r = client.post(URL, json=_body(c, start=start, end=end), headers=c.headers[G])
        assert r.status_code == 400
        assert "end_time" in r.get_json()["fields"]


def test_overlapping_slots_of_one_person_are_a_409(client: FlaskClient, c: Cast) -> None:
    first = _create(client, c, _body(c, start=0, end=4))
    for start, end in ((3, 5), (-1, 1), (1, 2), (-1, 5)):
        r = client.post(URL, json=_body(c, room=1, start=start, end=end), headers=c.headers[G])
        assert r.status_code == 409, (start, end)
        assert r.get_json()["code"] == "overlapping_assignment"
        assert first["id"] in r.get_json()["error"]
    # touching slots do not overlap; another person may take the same slot
    _create(client, c, _body(c, room=1, start=4, end=6))
    _create(client, c, _body(c, room=1, start=-2, end=0))
    _create(client, c, {**_body(c, G, start=0, end=4), "role": "gestionnaire_des_salles"})
    # an inactive one blocks nothing, and cannot be reactivated over another
    idle = _create(client, c, {**_body(c, start=1, end=3), "is_active": False})
    r = client.patch(f"{URL}{idle['id']}/", json={"is_active": True}, headers=c.headers[G])
    assert r.status_code == 409
    # moving an assignment within its own slot is no clash with itself
    r = client.patch(f"{URL}{first['id']}/", json=_slot(0, 3.5), headers=c.headers[G])
    assert r.status_code == 200, r.get_json()
    r = client.patch(f"{URL}{first['id']}/", json=_slot(0, 4.5), headers=c.headers[G])
    assert r.status_code == 409


def test_edit_and_delete_with_the_action_log(app: Flask, client: FlaskClient, c: Cast) -> None:
    made = _create(client, c, _body(c))
    url = f"{URL}{made['id']}/"
    r = client.patch(url, json={"room": str(c.world.rooms[2])}, headers=c.headers[G])
    assert r.status_code == 200 and r.get_json()["room"] == str(c.world.rooms[2])
    r = client.patch(url, json={"end_time": made["start_time"]}, headers=c.headers[G])
    assert r.status_code == 400 and "end_time" in r.get_json()["fields"]
    r = client.patch(url, json={"room": str(c.other.rooms[0])}, headers=c.headers[G])
    assert r.status_code == 400 and "room" in r.get_json()["fields"]
    assert client.get(url, headers=c.headers[G]).get_json()["room"] == str(c.world.rooms[2])
    assert client.put(url, json={"is_active": False}, headers=c.headers[G]).status_code == 400
    put = {**_body(c, ORG, room=1, start=2, end=3), "role": "gestionnaire_des_salles"}
    r = client.put(url, json=put, headers=c.headers[ORG])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["user"] == c.members[ORG].user_id
    assert r.get_json()["is_active"] is True
    assert client.delete(url, headers=c.headers[G]).status_code == 204
    assert client.get(url, headers=c.headers[G]).status_code == 404
    entries = log_entries(app, "room_assignment")
    assert [(e["action"], e["actor_id"]) for e in entries] == [
        ("room_assignment.create", c.members[G].user_id),
        ("room_assignment.update", c.members[G].user_id),
        ("room_assignment.update", c.members[ORG].user_id),
        ("room_assignment.delete", c.members[G].user_id),
    ]
    assert {e["obj_id"] for e in entries} == {made["id"]}
    create, move, put_entry, delete = entries
    assert create["before"] is None and create["after"]["user_id"] == c.members[C].user_id
    assert move["before"]["room_id"] == str(c.world.rooms[0])
    assert move["after"]["room_id"] == str(c.world.rooms[2])
    assert put_entry["after"]["role"] == "gestionnaire_des_salles"
    assert delete["before"]["user_id"] == c.members[ORG].user_id and delete["after"] is None


def _ids(client: FlaskClient, c: Cast, query: str) -> list[str]:
    r = client.get(URL + query, headers=c.headers[G])
    assert r.status_code == 200, r.get_json()
    return [a["id"] for a in r.get_json()["results"]]


def test_filters(client: FlaskClient, c: Cast) -> None:
    now = _create(client, c, _body(c, room=0, start=-1, end=1))
    later = _create(client, c, _body(c, room=1, start=2, end=3))
    past = _create(client, c, {**_body(c, G, start=-5, end=-4), "role": "gestionnaire_des_salles"})
    idle = _create(
        client,
        c,
        {
            **_body(c, G, room=1, start=-0.9, end=1),
            "is_active": False,
            "role": "gestionnaire_des_salles",
        },
    )
    assert _ids(client, c, "") == [past["id"], now["id"], idle["id"], later["id"]]
    assert _ids(client, c, "?current=true") == [now["id"]]
    assert _ids(client, c, "?current=false") == [past["id"], idle["id"], later["id"]]
    assert _ids(client, c, f"?room_id={c.world.rooms[1]}") == [idle["id"], later["id"]]
    assert _ids(client, c, f"?user_id={c.members[C].user_id}") == [now["id"], later["id"]]
    assert _ids(client, c, "?role=gestionnaire_des_salles") == [past["id"], idle["id"]]
    assert _ids(client, c, "?is_active=false") == [idle["id"]]
    assert _ids(client, c, f"?event_id={c.event_id}&is_active=true&current=false") == [
        past["id"],
        later["id"],
    ]
    r = client.get(f"{URL}?event_id={c.other.event_id}", headers=c.headers[G])
    assert r.status_code == 403 and "event_id" in r.get_json()["fields"]
    for query, field in (
        ("?current=soon", "current"),
        ("?role=participant", "role"),
        ("?user_id=-1", "user_id"),
        ("?user_id=99999999999999999999", "user_id"),
        ("?room_id=1", "room_id"),
    ):
        r = client.get(URL + query, headers=c.headers[G])
        assert r.status_code == 400 and field in r.get_json()["fields"], query


# ---------------------------------------------------------------------------
# GET /api/my-room/statistics/: the room of the assignment covering now


def _my_room(client: FlaskClient, c: Cast, who: str = C) -> Any:
    return client.get("/api/my-room/statistics/", headers=c.headers[who])


def _set_meta_room(app: Flask, c: Cast, room_id: Any) -> None:
    with app.app_context():
        role = db.session.scalar(
            db.select(UserEventAssignment).where(
                UserEventAssignment.user_id == c.members[C].user_id,
                UserEventAssignment.event_id == c.event_id,
            )
        )
        assert role is not None
        role.meta = {"assigned_room_id": room_id}
        db.session.commit()


def test_my_room_is_the_assignment_covering_now_then_the_metadata_then_a_404(
    app: Flask, client: FlaskClient, c: Cast
) -> None:
    r = _my_room(client, c)
    assert r.status_code == 404
    assert r.get_json()["code"] == "no_room_assigned"
    assert "No room is assigned to you" in r.get_json()["error"]
    # the metadata's room, when no assignment covers now
    _set_meta_room(app, c, str(c.world.rooms[2]))
    assert _my_room(client, c).get_json()["room"]["id"] == str(c.world.rooms[2])
    # assignments outside now, or inactive, are not the room now
    _create(client, c, _body(c, room=0, start=1, end=2))
    _create(client, c, {**_body(c, room=0, start=-1, end=1), "is_active": False})
    assert _my_room(client, c).get_json()["room"]["id"] == str(c.world.rooms[2])
    # the assignment covering now wins over the metadata
    current = _create(client, c, _body(c, room=1, start=-0.5, end=0.5))
    r = _my_room(client, c)
    assert r.status_code == 200
    assert r.get_json()["room"]["id"] == str(c.world.rooms[1])
    assert set(r.get_json()) == {"room", "statistics", "recent_scans"}
    # moved through the API: the room follows
    client.patch(
        f"{URL}{current['id']}/", json={"room": str(c.world.rooms[0])}, headers=c.headers[G]
    )
    assert _my_room(client, c).get_json()["room"]["id"] == str(c.world.rooms[0])
    client.delete(f"{URL}{current['id']}/", headers=c.headers[G])
    assert _my_room(client, c).get_json()["room"]["id"] == str(c.world.rooms[2])


def test_my_room_with_metadata_unusable_is_a_404(app: Flask, client: FlaskClient, c: Cast) -> None:
    for value in ("not-a-uuid", str(uuid.uuid4()), str(c.other.rooms[0]), 12):
        _set_meta_room(app, c, value)
        r = _my_room(client, c)
        assert r.status_code == 404, value
        assert r.get_json()["error"]


def test_my_room_is_for_controllers(client: FlaskClient, c: Cast) -> None:
    for who in (G, P, E):
        assert _my_room(client, c, who).status_code == 403, who


def test_racing_requests_cannot_post_one_person_twice(
    app: Flask, client: FlaskClient, c: Cast
) -> None:
    """Each request is held between its overlap check and its commit, so that
    without the lock on the person's role every one of them would pass it."""
    racers = 4
    barrier = threading.Barrier(racers)
    held = threading.local()

    def hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith("SELECT room_assignments.") and not getattr(
            held, "done", False
        ):
            held.done = True
            time.sleep(0.3)  # widens the race window; no outcome depends on time

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", hold)
    answers: list[int] = []

    def post(room: int) -> None:
        own = app.test_client()
        barrier.wait()
        r = own.post(URL, json=_body(c, room=room % 3, start=0, end=2), headers=c.headers[G])
        answers.append(r.status_code)

    try:
        threads = [threading.Thread(target=post, args=(n,)) for n in range(racers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sa_event.remove(engine, "before_cursor_execute", hold)
    assert sorted(answers) == [201] + [409] * (racers - 1)
    got = client.get(f"{URL}?user_id={c.members[C].user_id}", headers=c.headers[G])
    assert got.get_json()["count"] == 1
