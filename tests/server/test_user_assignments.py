"""User assignments: who reads and writes them, filters, adding a person by email,
one role per event, the room in ``metadata``, withdrawing a role, the last
gestionnaire, other events and the action log."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from server.actionlog import ActionLogEntry
from server.extensions import db
from server.models import User, UserEventAssignment
from tests.conftest import AuthActions, Factory, Member

URL = "/api/user-assignments/"
G = "gestionnaire_des_salles"
C = "controlleur_des_badges"


def call(
    client: FlaskClient, auth: AuthActions, who: Member, method: str, url: str, **kw: Any
) -> Any:
    return client.open(url, method=method, headers=auth.headers(who), **kw)


def _id_of(make: Factory, member: Member) -> str:
    with make.app.app_context():
        return str(
            db.session.scalars(
                select(UserEventAssignment.id).where(
                    UserEventAssignment.user_id == member.user_id,
                    UserEventAssignment.event_id == member.event_id,
                )
            ).one()
        )


def _log(make: Factory, obj_id: str) -> list[ActionLogEntry]:
    with make.app.app_context():
        rows = list(
            db.session.scalars(
                select(ActionLogEntry)
                .where(ActionLogEntry.obj_id == obj_id)
                .order_by(ActionLogEntry.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def test_who_reads_what(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    other = make.world()
    g = world.members[G]
    r = call(client, auth, g, "GET", URL)
    assert r.status_code == 200 and r.json["count"] == 4
    first = r.json["results"][0]
    assert set(first) == {
        "id",
        "user",
        "event",
        "role",
        "is_active",
        "metadata",
        "assigned_by",
        "assigned_at",
        "name",
        "email",
    }
    assert first["assigned_at"].endswith("Z")
    for role in (C, "participant", "exposant"):
        me = world.members[role]
        mine = call(client, auth, me, "GET", URL).json["results"]
        assert [(a["user"], a["role"]) for a in mine] == [(me.user_id, role)]
        assert call(client, auth, me, "GET", f"{URL}{_id_of(make, g)}/").status_code == 404
        assert call(client, auth, me, "GET", f"{URL}{_id_of(make, me)}/").status_code == 200
    theirs = _id_of(make, other.members[G])
    assert call(client, auth, g, "GET", f"{URL}{theirs}/").status_code == 404
    r = call(client, auth, g, "GET", URL, query_string={"event": str(other.event_id)})
    assert r.status_code == 403 and "event" in r.json["fields"]


def test_filters(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    g, p = world.members[G], world.members["participant"]
    make.member(world.event_id, "participant", active=False)

    def roles(**query: str) -> list[str]:
        r = call(client, auth, g, "GET", URL, query_string=query)
        assert r.status_code == 200, r.json
        return sorted(a["role"] for a in r.json["results"])

    assert roles(user=str(p.user_id)) == ["participant"]
    assert roles(role="participant") == ["participant", "participant"]
    assert roles(role="participant", is_active="false") == ["participant"]
    assert roles(is_active="true") == sorted([G, C, "participant", "exposant"])
    assert roles(event=str(world.event_id)) == sorted(
        [G, C, "participant", "participant", "exposant"]
    )
    for name, value in (("user", "x"), ("role", "king"), ("is_active", "2"), ("event", "1")):
        r = call(client, auth, g, "GET", URL, query_string={name: value})
        assert r.status_code == 400 and name in r.json["fields"], name


def test_add_a_person_by_email_with_a_room(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g = world.members[G]
    room = str(world.rooms[1])
    r = call(
        client,
        auth,
        g,
        "POST",
        URL,
        json={
            "email": "door.b@example.com",
            "first_name": "Samir",
            "role": C,
            "metadata": {"assigned_room_id": room.upper(), "note": "morning"},
        },
    )
    assert r.status_code == 201, r.json
    a = r.json
    assert (a["role"], a["is_active"], a["assigned_by"], a["email"]) == (
        C,
        True,
        g.user_id,
        "door.b@example.com",
    )
    assert a["metadata"] == {"assigned_room_id": room, "note": "morning"}
    with make.app.app_context():
        user = db.session.scalars(select(User).where(User.email == "door.b@example.com")).one()
        assert user.first_name == "Samir" and user.profile is not None
    [entry] = _log(make, a["id"])
    assert entry.action == "user_assignment.create" and entry.actor_id == g.user_id
    # one role per person per event
    again = call(client, auth, g, "POST", URL, json={"email": "door.b@example.com", "role": G})
    assert again.status_code == 409 and "email" in again.json["fields"]
    again = call(client, auth, g, "POST", URL, json={"user": a["user"], "role": G})
    assert again.status_code == 409 and "user" in again.json["fields"]
    # an existing account in another event gets a role here too
    other = make.world()
    r = call(
        client, auth, g, "POST", URL, json={"user": other.members[G].user_id, "role": "exposant"}
    )
    assert r.status_code == 201


def test_bad_input(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    other = make.world()
    g = world.members[G]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"email": "a@example.com"}, "role"),
        ({"email": "a@example.com", "role": "king"}, "role"),
        ({"role": C}, "user"),
        ({"user": 10**20, "role": C}, "user"),
        ({"user": 123456, "role": C}, "user"),
        ({"user": True, "role": C}, "user"),
        ({"email": "a\x00@example.com", "role": C}, "email"),
        ({"email": "a@example.com", "role": C, "is_active": "no"}, "is_active"),
        ({"email": "a@example.com", "role": C, "metadata": []}, "metadata"),
        ({"email": "a@example.com", "role": C, "metadata": {"x": "y" * 5000}}, "metadata"),
        (
            {"email": "a@example.com", "role": C, "metadata": {"assigned_room_id": "lobby"}},
            "metadata.assigned_room_id",
        ),
        (
            {
                "email": "a@example.com",
                "role": C,
                "metadata": {"assigned_room_id": str(other.rooms[0])},
            },
            "metadata.assigned_room_id",
        ),
        (
            {
                "email": "a@example.com",
                "role": C,
                "metadata": {"assigned_room_id": str(uuid.uuid4())},
            },
            "metadata.assigned_room_id",
        ),
        (
            {
                "email": "a@example.com",
                "role": "participant",
                "metadata": {"assigned_room_id": str(world.rooms[0])},
            },
            "metadata.assigned_room_id",
        ),
        ({"email": "a@example.com", "role": C, "event": str(other.event_id)}, "event"),
    ]
    for body, field in cases:
        r = call(client, auth, g, "POST", URL, json=body)
        assert r.status_code == 400, (body, r.json)
        assert field in r.json["fields"], (body, r.json)
    with make.app.app_context():
        assert db.session.scalar(select(User).where(User.email == "a@example.com")) is None
        assert db.session.scalars(select(ActionLogEntry)).all() == []


def test_only_gestionnaires_write(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    target = _id_of(make, world.members["participant"])
    admin_user = make.user()
    with make.app.app_context():
        db.session.get(User, admin_user.id).is_admin = True  # type: ignore[union-attr]
        db.session.commit()
    admin = make.member(world.event_id, C, user=admin_user)
    for who in (world.members[C], world.members["participant"], world.members["exposant"], admin):
        body = {"email": "z@example.com", "role": "participant"}
        assert call(client, auth, who, "POST", URL, json=body).status_code == 403
        patch = call(client, auth, who, "PATCH", f"{URL}{target}/", json={"is_active": False})
        assert patch.status_code == 403
        assert call(client, auth, who, "DELETE", f"{URL}{target}/").status_code == 403
    other = make.world()
    theirs = _id_of(make, other.members["participant"])
    g = world.members[G]
    assert call(client, auth, g, "PATCH", f"{URL}{theirs}/", json={"role": C}).status_code == 404
    assert call(client, auth, g, "DELETE", f"{URL}{theirs}/").status_code == 404


def test_withdraw_and_change_a_role(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    g, c = world.members[G], world.members[C]
    cid = _id_of(make, c)
    r = call(client, auth, g, "PATCH", f"{URL}{cid}/", json={"is_active": False})
    assert r.status_code == 200 and r.json["is_active"] is False
    # the withdrawn role stops working at once
    assert call(client, auth, c, "GET", "/api/rooms/").status_code == 403
    r = call(client, auth, g, "PUT", f"{URL}{cid}/", json={"is_active": True})
    assert r.status_code == 400 and "role" in r.json["fields"]
    r = call(
        client,
        auth,
        g,
        "PUT",
        f"{URL}{cid}/",
        json={"role": C, "is_active": True, "metadata": {"assigned_room_id": str(world.rooms[0])}},
    )
    assert r.status_code == 200 and r.json["metadata"]["assigned_room_id"] == str(world.rooms[0])
    # a staff room goes when the role stops being staff
    r = call(client, auth, g, "PATCH", f"{URL}{cid}/", json={"role": "participant"})
    assert r.status_code == 200 and r.json["metadata"] == {}
    r = call(client, auth, g, "PATCH", f"{URL}{cid}/", json={"user": g.user_id})
    assert r.status_code == 400 and "user" in r.json["fields"]
    # DELETE withdraws the role too
    assert call(client, auth, g, "DELETE", f"{URL}{cid}/").status_code == 204
    assert call(client, auth, g, "GET", f"{URL}{cid}/").json["is_active"] is False
    actions = [e.action for e in _log(make, cid)]
    assert actions == [
        "user_assignment.deactivate",
        "user_assignment.update",
        "user_assignment.update",
        "user_assignment.deactivate",
    ]
    entry = _log(make, cid)[0]
    assert (entry.before["is_active"], entry.after["is_active"]) == (True, False)


def test_the_last_gestionnaire_stays(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    g = world.members[G]
    gid = _id_of(make, g)
    for method, body in (
        ("PATCH", {"is_active": False}),
        ("PATCH", {"role": "participant"}),
        ("DELETE", None),
    ):
        r = call(client, auth, g, method, f"{URL}{gid}/", json=body)
        assert r.status_code == 409, (method, body, r.json)
        assert r.json["code"] == "last_gestionnaire"
    # a second one (an organisateur counts): then the first may go
    r = call(
        client, auth, g, "POST", URL, json={"email": "org@example.com", "role": "organisateur"}
    )
    assert r.status_code == 201
    assert call(client, auth, g, "DELETE", f"{URL}{gid}/").status_code == 204
    with make.app.app_context():
        assert db.session.get(UserEventAssignment, uuid.UUID(gid)).is_active is False  # type: ignore[union-attr]


def test_two_gestionnaires_withdrawn_at_once_leave_one(
    client: FlaskClient, make: Factory, auth: AuthActions, backend: str
) -> None:
    """PostgreSQL: both requests are held on the rows' lock until both wait there,
    then let go together; the second must see the first's withdrawal. (SQLite
    serializes writers from their BEGIN: there is no such moment.)"""
    import threading

    import pytest
    from sqlalchemy import text

    if backend != "postgresql":
        pytest.skip("SQLite serializes writers: the second request waits for the first")
    world = make.world()
    g1 = world.members[G]
    g2 = make.member(world.event_id, G)
    ids = {"g1": _id_of(make, g1), "g2": _id_of(make, g2)}
    app = make.app
    answers: dict[str, int] = {}

    def withdraw(name: str, by: Member, target: str) -> None:
        r = app.test_client().patch(
            f"{URL}{target}/", json={"is_active": False}, headers=auth.headers(by)
        )
        answers[name] = r.status_code

    with app.app_context():
        holder = db.engine.connect()
        tx = holder.begin()
        holder.execute(
            text("SELECT id FROM user_event_assignments WHERE event_id = :e FOR UPDATE"),
            {"e": world.event_id},
        )
        threads = [
            threading.Thread(target=withdraw, args=("g2 withdraws g1", g2, ids["g1"])),
            threading.Thread(target=withdraw, args=("g1 withdraws g2", g1, ids["g2"])),
        ]
        for t in threads:
            t.start()
        waiting = 0
        with db.engine.connect() as watcher:  # its own transactions: fresh statistics
            for _ in range(600):  # until both wait on the lock (at most a minute)
                waiting = watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                ).scalar_one()
                watcher.rollback()
                if waiting >= 2:
                    break
                threading.Event().wait(0.1)
        assert waiting >= 2, "the two requests never reached the lock"
        tx.rollback()
        holder.close()
        for t in threads:
            t.join(timeout=60)
    assert sorted(answers.values()) == [200, 409], answers
    with app.app_context():
        active = db.session.scalars(
            select(UserEventAssignment).where(
                UserEventAssignment.event_id == world.event_id,
                UserEventAssignment.role == G,
                UserEventAssignment.is_active.is_(True),
            )
        ).all()
        assert len(active) == 1
