"""Rooms and sessions, the organizer's side: create, change, delete, status
actions and today's participants of a room, per role and across events."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.actionlog import ActionLogEntry
from server.extensions import db
from server.models import (
    ChangeLogEntry,
    EventSession,
    Kiosk,
    Participant,
    Room,
    RoomAccess,
)
from shared.timefmt import iso, utcnow
from tests.conftest import AuthActions, Factory, World

ROLES = ("gestionnaire_des_salles", "controlleur_des_badges", "participant", "exposant")
G = "gestionnaire_des_salles"


def _log(app: Flask, **where: Any) -> list[ActionLogEntry]:
    with app.app_context():
        stmt = select(ActionLogEntry).order_by(ActionLogEntry.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(ActionLogEntry, key) == value)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def _feed(app: Flask, entity: str, key: uuid.UUID) -> list[ChangeLogEntry]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(ChangeLogEntry)
                .where(ChangeLogEntry.entity == entity, ChangeLogEntry.key == str(key))
                .order_by(ChangeLogEntry.seq)
            )
        )
        db.session.expunge_all()
        return rows


def _scan(
    app: Flask,
    world: World,
    room: int,
    *,
    when: Any = None,
    who: str = "participant",
    status: str = "granted",
    session: uuid.UUID | None = None,
) -> None:
    with app.app_context():
        db.session.add(
            RoomAccess(
                event_id=world.event_id,
                room_id=world.rooms[room],
                session_id=session,
                participant_id=world.members[who].participant_id,
                user_id=world.members[who].user_id,
                status=status,
                reason="granted" if status == "granted" else "room_not_allowed",
                access_time=when or utcnow(),
            )
        )
        db.session.commit()


# ---------------------------------------------------------------------------
# rooms


def test_a_gestionnaire_creates_changes_and_deletes_a_room(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g = auth.headers(world.members[G])
    got = client.post(
        "/api/rooms/",
        json={"name": "Amphithéâtre A", "capacity": 500, "description": "Capacité: 500"},
        headers=g,
    )
    assert got.status_code == 201, got.json
    room = got.json
    assert room["event"] == str(world.event_id) and room["capacity"] == 500
    assert room["is_active"] is True and room["created_by"] == world.members[G].user_id
    path = f"/api/rooms/{room['id']}/"
    patched = client.patch(path, json={"is_active": False}, headers=g)
    assert patched.status_code == 200 and patched.json["is_active"] is False
    assert [e.op for e in _feed(app, "room", uuid.UUID(room["id"]))] == ["upsert", "upsert"]
    put = client.put(path, json={"name": "Amphi B"}, headers=g)
    assert put.status_code == 200 and put.json["name"] == "Amphi B"
    assert put.json["capacity"] == 500  # PUT without a field keeps it (the seed's serializer)
    assert client.delete(path, headers=g).status_code == 204
    assert client.get(path, headers=g).status_code == 404
    assert [e.action for e in _log(app)] == [
        "room.create",
        "room.update",
        "room.update",
        "room.delete",
    ]
    update = _log(app, action="room.update")[0]
    assert update.before["is_active"] is True and update.after["is_active"] is False
    assert _feed(app, "room", uuid.UUID(room["id"]))[-1].op == "delete"


@pytest.mark.parametrize("role", ROLES[1:])
def test_other_roles_cannot_write_rooms(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions, role: str
) -> None:
    world = make.world()
    headers = auth.headers(world.members[role])
    path = f"/api/rooms/{world.rooms[2]}/"
    assert client.post("/api/rooms/", json={"name": "x"}, headers=headers).status_code == 403
    assert client.patch(path, json={"name": "x"}, headers=headers).status_code == 403
    assert client.put(path, json={"name": "x"}, headers=headers).status_code == 403
    assert client.delete(path, headers=headers).status_code == 403
    assert _count(app, Room) == 3 and _log(app) == []


def test_rooms_of_another_event_are_404_and_its_event_id_403(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world, other = make.world(), make.world()
    g = auth.headers(world.members[G])
    path = f"/api/rooms/{other.rooms[0]}/"
    assert client.patch(path, json={"name": "x"}, headers=g).status_code == 404
    assert client.delete(path, headers=g).status_code == 404
    assert client.get(path + "participants/", headers=g).status_code == 404
    got = client.post("/api/rooms/", json={"name": "x", "event": str(other.event_id)}, headers=g)
    assert got.status_code == 403 and "event" in got.json["fields"]
    moved = client.patch(
        f"/api/rooms/{world.rooms[0]}/", json={"event": str(other.event_id)}, headers=g
    )
    assert moved.status_code == 403
    mine = client.post("/api/rooms/", json={"name": "x", "event": str(world.event_id)}, headers=g)
    assert mine.status_code == 201
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Room.event_id == other.event_id)) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "capacity": -1}, "capacity"),
        ({"name": "ok", "capacity": 2**31}, "capacity"),
        ({"name": "ok", "capacity": 10**400}, "capacity"),
        ({"name": "ok", "capacity": 1.5}, "capacity"),
        ({"name": "ok", "is_active": "yes please"}, "is_active"),
        ({"name": "ok", "event": "not-a-uuid"}, "event"),
        ({"name": "ok", "description": "bell\x07"}, "description"),
    ],
)
def test_bad_room_input_is_a_400_naming_the_field(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    auth: AuthActions,
    body: dict[str, Any],
    field: str,
) -> None:
    world = make.world()
    got = client.post("/api/rooms/", json=body, headers=auth.headers(world.members[G]))
    assert got.status_code == 400, got.json
    assert field in got.json["fields"]
    assert _count(app, Room) == 3


@pytest.mark.parametrize("what", ["scans", "sessions", "kiosks"])
def test_a_room_in_use_is_not_deleted(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions, what: str
) -> None:
    world = make.world()
    room = 2
    if what == "scans":
        _scan(app, world, room)
    elif what == "sessions":
        make.session(world.event_id, world.rooms[room])
        make.session(world.event_id, world.rooms[room])
    else:
        with app.app_context():
            db.session.add(
                Kiosk(event_id=world.event_id, name="Door", mode="door", room_id=world.rooms[room])
            )
            db.session.commit()
    got = client.delete(f"/api/rooms/{world.rooms[room]}/", headers=auth.headers(world.members[G]))
    assert got.status_code == 409
    assert got.json["counts"] == {what: 2 if what == "sessions" else 1}
    assert _count(app, Room) == 3 and _log(app) == []


def test_deleting_a_room_takes_it_out_of_allowed_rooms_through_the_feed(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    member = make.member(
        world.event_id, "participant", allowed_rooms=[world.rooms[2], world.rooms[0]]
    )
    got = client.delete(f"/api/rooms/{world.rooms[2]}/", headers=auth.headers(world.members[G]))
    assert got.status_code == 204
    feed = _feed(app, "member", member.user_id)  # type: ignore[arg-type]
    assert feed and feed[-1].data["allowed_room_ids"] == [str(world.rooms[0])]


# ---------------------------------------------------------------------------
# room participants today


def test_room_participants_are_todays_granted_people_once_each(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    now = utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    _scan(app, world, 0, when=today + timedelta(seconds=1))
    _scan(app, world, 0, when=now)  # again: still once
    _scan(app, world, 0, when=today - timedelta(seconds=1), who="exposant")  # yesterday
    _scan(app, world, 0, when=now, who="exposant", status="denied")  # refused
    _scan(app, world, 1, when=now, who="exposant")  # another room
    path = f"/api/rooms/{world.rooms[0]}/participants/"
    got = client.get(path, headers=auth.headers(world.members[G]))
    assert got.status_code == 200, got.json
    participant = world.members["participant"]
    assert got.json["count"] == 1
    (row,) = got.json["results"]
    with app.app_context():
        record = db.session.get(Participant, participant.participant_id)
        assert record is not None
        badge_number = record.badge_number
    assert row["id"] == str(participant.participant_id)
    assert row["email"] == participant.email and row["badge_number"] == badge_number
    assert row["first_access"] == iso(today + timedelta(seconds=1))
    assert row["name"].startswith("First")
    controller = client.get(path, headers=auth.headers(world.members["controlleur_des_badges"]))
    assert controller.status_code == 200 and controller.json["count"] == 1
    paged = client.get(path + "?page_size=1&page=2", headers=auth.headers(world.members[G]))
    assert paged.status_code == 200 and paged.json["results"] == []


@pytest.mark.parametrize("role", ["participant", "exposant"])
def test_participants_and_exposants_do_not_see_who_came_in(
    client: FlaskClient, make: Factory, auth: AuthActions, role: str
) -> None:
    world = make.world()
    path = f"/api/rooms/{world.rooms[0]}/participants/"
    assert client.get(path, headers=auth.headers(world.members[role])).status_code == 403


# ---------------------------------------------------------------------------
# sessions


def _session_body(world: World, **extra: Any) -> dict[str, Any]:
    start = utcnow() + timedelta(hours=2)
    return {
        "event": str(world.event_id),
        "room": str(world.rooms[2]),
        "title": "Intelligence Artificielle et ML",
        "description": "Introduction aux concepts de l'IA",
        "speaker_name": "Dr. Ahmed Benali",
        "speaker_title": "Chercheur en IA",
        "start_time": iso(start),
        "end_time": iso(start + timedelta(minutes=90)),
        "theme": "IA",
        "status": "pas_encore",
        "session_type": "atelier",
        "is_paid": True,
        "price": "5000.00",
        **extra,
    }


def test_a_gestionnaire_creates_and_changes_a_session(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g = auth.headers(world.members[G])
    got = client.post(
        "/api/sessions/",
        json=_session_body(world, youtube_live_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        headers=g,
    )
    assert got.status_code == 201, got.json
    body = got.json
    assert body["price"] == "5000.00" and body["is_paid"] is True and body["is_live"] is False
    assert body["room"] == str(world.rooms[2]) and body["room_name"] == "Room 2"
    assert body["start_time"].endswith("Z")
    path = f"/api/sessions/{body['id']}/"
    moved = client.patch(
        path, json={"room": str(world.rooms[0]), "youtube_live_url": ""}, headers=g
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["room"] == str(world.rooms[0]) and moved.json["room_name"] == "Room 0"
    assert moved.json["youtube_live_url"] is None
    (update,) = _log(app, action="session.update")
    assert update.before["room_id"] == str(world.rooms[2])
    assert update.after["room_id"] == str(world.rooms[0])
    assert sorted(update.after) == sorted(update.before)
    feed = _feed(app, "session", uuid.UUID(body["id"]))
    assert feed[-1].data["room_id"] == str(world.rooms[0])
    listed = client.get(f"/api/sessions/?room_id={world.rooms[0]}&is_paid=true", headers=g)
    assert body["id"] in {s["id"] for s in listed.json["results"]}


@pytest.mark.parametrize(
    ("action", "status", "live"),
    [
        ("mark_live", "en_cours", True),
        ("start", "en_cours", True),
        ("mark_completed", "termine", False),
        ("end", "termine", False),
        ("cancel", "pas_encore", False),
    ],
)
def test_session_actions_set_the_status(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    auth: AuthActions,
    action: str,
    status: str,
    live: bool,
) -> None:
    world = make.world()
    session = make.session(
        world.event_id, world.rooms[0], status="en_cours" if action == "cancel" else "pas_encore"
    )
    got = client.post(f"/api/sessions/{session}/{action}/", headers=auth.headers(world.members[G]))
    assert got.status_code == 200
    assert got.json["status"] == status and got.json["is_live"] is live
    (entry,) = _log(app, obj_id=str(session))
    assert entry.action.startswith("session.") and entry.after == {"status": status}


@pytest.mark.parametrize("role", ROLES[1:])
def test_other_roles_cannot_write_sessions(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions, role: str
) -> None:
    world = make.world()
    headers = auth.headers(world.members[role])
    path = f"/api/sessions/{world.free_session}/"
    assert (
        client.post("/api/sessions/", json=_session_body(world), headers=headers).status_code == 403
    )
    assert client.patch(path, json={"title": "x"}, headers=headers).status_code == 403
    assert client.put(path, json=_session_body(world), headers=headers).status_code == 403
    assert client.delete(path, headers=headers).status_code == 403
    for action in ("mark_live", "start", "mark_completed", "end", "cancel"):
        assert client.post(path + action + "/", headers=headers).status_code == 403
    assert _count(app, EventSession) == 2 and _log(app) == []


def test_sessions_of_another_event_are_404(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world, other = make.world(), make.world()
    g = auth.headers(world.members[G])
    path = f"/api/sessions/{other.free_session}/"
    assert client.patch(path, json={"title": "x"}, headers=g).status_code == 404
    assert client.delete(path, headers=g).status_code == 404
    assert client.post(path + "mark_live/", headers=g).status_code == 404
    assert client.post(f"/api/sessions/{uuid.uuid4()}/end/", headers=g).status_code == 404
    got = client.post(
        "/api/sessions/", json=_session_body(world, room=str(other.rooms[0])), headers=g
    )
    assert got.status_code == 400 and "room" in got.json["fields"]
    moved = client.patch(
        f"/api/sessions/{world.free_session}/", json={"room": str(other.rooms[0])}, headers=g
    )
    assert moved.status_code == 400 and "room" in moved.json["fields"]
    theirs = client.post(
        "/api/sessions/", json=_session_body(world, event=str(other.event_id)), headers=g
    )
    assert theirs.status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"room": str(uuid.uuid4())}, "room"),
        ({"room": None}, "room"),
        ({"title": "tab\tin a title"}, "title"),
        ({"end_time": None}, "end_time"),
        ({"status": "live"}, "status"),
        ({"session_type": "party"}, "session_type"),
        ({"session_type": "conference"}, "session_type"),
        ({"price": "-1.00"}, "price"),
        ({"price": "12.345"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "1e9999"}, "price"),
        ({"price": True}, "price"),
        ({"youtube_live_url": "http://www.youtube.com/watch?v=x"}, "youtube_live_url"),
        ({"youtube_live_url": "https://evil.example/watch?v=x"}, "youtube_live_url"),
        ({"youtube_live_url": "https://youtube.com.evil.example/x"}, "youtube_live_url"),
        ({"youtube_live_url": "https://user:pw@www.youtube.com/x"}, "youtube_live_url"),
        ({"youtube_live_url": "https://www.youtube.com@evil.example/x"}, "youtube_live_url"),
        ({"youtube_live_url": "javascript:alert(1)//youtube.com"}, "youtube_live_url"),
        ({"youtube_live_url": "https://www.youtube.com:8443/x"}, "youtube_live_url"),
        ({"speaker_photo_url": "ftp://host/x.png"}, "speaker_photo_url"),
    ],
)
def test_bad_session_input_is_a_400_naming_the_field(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    auth: AuthActions,
    change: dict[str, Any],
    field: str,
) -> None:
    world = make.world()
    got = client.post(
        "/api/sessions/",
        json=_session_body(world, **change),
        headers=auth.headers(world.members[G]),
    )
    assert got.status_code == 400, got.json
    assert field in got.json["fields"]
    assert _count(app, EventSession) == 2


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "https://youtube.com/live/abc123",
        "https://m.youtube.com/watch?v=abc",
    ],
)
def test_youtube_urls_are_taken(
    client: FlaskClient, make: Factory, auth: AuthActions, url: str
) -> None:
    world = make.world()
    got = client.patch(
        f"/api/sessions/{world.free_session}/",
        json={"youtube_live_url": url},
        headers=auth.headers(world.members[G]),
    )
    assert got.status_code == 200 and got.json["youtube_live_url"] == url


def test_session_times_and_the_paid_rule_are_checked_against_the_stored_values(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g = auth.headers(world.members[G])
    free = f"/api/sessions/{world.free_session}/"
    early = iso(utcnow() - timedelta(days=1))
    got = client.patch(free, json={"end_time": early}, headers=g)
    assert got.status_code == 400 and "end_time" in got.json["fields"]
    got = client.patch(free, json={"is_paid": True}, headers=g)  # a conference
    assert got.status_code == 400 and "is_paid" in got.json["fields"]
    ok = client.patch(
        free, json={"is_paid": True, "session_type": "atelier", "price": 1500}, headers=g
    )
    assert ok.status_code == 200 and ok.json["price"] == "1500.00"
    same = client.post(
        "/api/sessions/",
        json=_session_body(world, end_time=_session_body(world)["start_time"]),
        headers=g,
    )
    assert same.status_code == 400 and "end_time" in same.json["fields"]


@pytest.mark.parametrize("what", ["payments", "scans", "kiosks"])
def test_a_session_in_use_is_not_deleted(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions, what: str
) -> None:
    world = make.world()
    session = world.paid_session
    if what == "payments":
        participant = world.members["participant"].participant_id
        assert participant is not None
        make.session_access(participant, session, status="pending")
    elif what == "scans":
        _scan(app, world, 1, session=session)
    else:
        with app.app_context():
            db.session.add(
                Kiosk(
                    event_id=world.event_id,
                    name="Door",
                    mode="door",
                    room_id=world.rooms[1],
                    pinned_session_id=session,
                )
            )
            db.session.commit()
    got = client.delete(f"/api/sessions/{session}/", headers=auth.headers(world.members[G]))
    assert got.status_code == 409 and got.json["counts"] == {what: 1}
    assert _count(app, EventSession) == 2 and _log(app) == []


def test_a_session_nobody_refers_to_is_deleted(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    got = client.delete(
        f"/api/sessions/{world.free_session}/", headers=auth.headers(world.members[G])
    )
    assert got.status_code == 204
    assert _count(app, EventSession) == 1
    (entry,) = _log(app, action="session.delete")
    assert entry.before["title"] == "Keynote" and entry.after is None
    assert _feed(app, "session", world.free_session)[-1].op == "delete"


def test_a_platform_admin_without_a_role_in_the_event_writes_no_room_or_session(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    admin = make.user()
    with app.app_context():
        row = db.session.get(type(admin), admin.id)
        assert row is not None
        row.is_admin = True
        db.session.commit()
    no_event = {"Authorization": f"Bearer {auth.tokens(admin.id, None, None)['access']}"}
    got = client.post("/api/rooms/", json={"name": "x"}, headers=no_event)
    assert got.status_code == 400 and got.json["code"] == "no_event_context"
    in_event = {"Authorization": f"Bearer {auth.tokens(admin.id, world.event_id, None)['access']}"}
    assert client.post("/api/rooms/", json={"name": "x"}, headers=in_event).status_code == 403
    path = f"/api/sessions/{world.free_session}/"
    assert client.patch(path, json={"title": "x"}, headers=in_event).status_code == 403
    assert client.post(path + "mark_live/", headers=no_event).status_code == 400
    assert _count(app, Room) == 3 and _log(app) == []
