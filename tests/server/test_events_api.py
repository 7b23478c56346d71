"""The events organizer API: list, read, create, change, delete, statistics and
the action log, per role of the seed's permission matrix and across events."""

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
    Event,
    EventSession,
    Kiosk,
    RoomAccess,
    User,
    UserEventAssignment,
)
from shared.timefmt import iso, utcnow
from tests.conftest import AuthActions, Factory, Member, World

ROLES = ("gestionnaire_des_salles", "controlleur_des_badges", "participant", "exposant")
G = "gestionnaire_des_salles"


def _h(auth: AuthActions, member: Member) -> dict[str, str]:
    return auth.headers(member)


def _admin(make: Factory, auth: AuthActions, event_id: uuid.UUID | None = None) -> dict[str, str]:
    user = make.user()
    with make.app.app_context():
        row = db.session.get(User, user.id)
        assert row is not None
        row.is_admin = True
        db.session.commit()
    pair = auth.tokens(user.id, event_id, None)
    return {"Authorization": f"Bearer {pair['access']}"}


def _body(**extra: Any) -> dict[str, Any]:
    start = utcnow() + timedelta(days=10)
    return {
        "name": "Tech Summit 2026",
        "description": "Annual technology conference",
        "location": "Alger Centre des Congrès",
        "start_date": iso(start),
        "end_date": iso(start + timedelta(days=2)),
        "organizer_name": "Amina B.",
        "organizer_email": "Amina@Example.com",
        "organizer_phone": "+213 21 00 00 00",
        **extra,
    }


def _log(app: Flask, **where: Any) -> list[ActionLogEntry]:
    with app.app_context():
        stmt = select(ActionLogEntry).order_by(ActionLogEntry.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(ActionLogEntry, key) == value)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


# ---------------------------------------------------------------------------
# list and read


def test_list_shows_the_callers_events_and_an_admin_sees_all(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    one, other = make.world("One"), make.world("Other")
    member = one.members["participant"]
    make.member(other.event_id, "exposant", user=_user_of(make, member))
    third = make.event("Third")
    got = client.get("/api/events/", headers=_h(auth, member))
    assert got.status_code == 200
    names = sorted(e["name"] for e in got.json["results"])
    assert names == ["One", "Other"]
    assert got.json["count"] == 2
    everything = client.get("/api/events/", headers=_admin(make, auth))
    assert everything.json["count"] == 3
    assert str(third) in {e["id"] for e in everything.json["results"]}
    first = got.json["results"][0]
    assert first["status"] == "ongoing"
    assert first["start_date"].endswith("Z")
    assert set(first) >= {
        "id",
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
        "president",
        "created_by",
        "created_at",
        "updated_at",
        "organizer_name",
        "organizer_email",
        "organizer_phone",
        "status",
    }


def _user_of(make: Factory, member: Member) -> User:
    with make.app.app_context():
        user = db.session.get(User, member.user_id)
        assert user is not None
        db.session.expunge(user)
        return user


def test_list_filters_on_is_active(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    make.world("Live")
    closed = make.event("Closed")
    with make.app.app_context():
        row = db.session.get(Event, closed)
        assert row is not None
        row.is_active = False
        db.session.commit()
    admin = _admin(make, auth)
    assert client.get("/api/events/?is_active=false", headers=admin).json["count"] == 1
    assert client.get("/api/events/?is_active=true", headers=admin).json["count"] == 1
    bad = client.get("/api/events/?is_active=maybe", headers=admin)
    assert bad.status_code == 400 and "is_active" in bad.json["fields"]


@pytest.mark.parametrize("role", ROLES)
def test_every_member_reads_their_event_and_its_statistics(
    client: FlaskClient, make: Factory, auth: AuthActions, role: str
) -> None:
    world = make.world()
    headers = _h(auth, world.members[role])
    got = client.get(f"/api/events/{world.event_id}/", headers=headers)
    assert got.status_code == 200 and got.json["id"] == str(world.event_id)
    stats = client.get(f"/api/events/{world.event_id}/statistics/", headers=headers)
    assert stats.status_code == 200
    assert stats.json == {
        "total_participants": 2,
        "total_sessions": 2,
        "live_sessions": 0,
        "completed_sessions": 0,
        "total_rooms": 3,
    }


def test_statistics_count_live_and_completed_sessions(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    make.session(world.event_id, world.rooms[2], status="en_cours")
    make.session(world.event_id, world.rooms[2], status="termine")
    make.session(world.event_id, world.rooms[2], status="termine")
    got = client.get(
        f"/api/events/{world.event_id}/statistics/", headers=_h(auth, world.members[G])
    )
    assert got.json["total_sessions"] == 5
    assert got.json["live_sessions"] == 1
    assert got.json["completed_sessions"] == 2


def test_another_events_event_is_404_except_for_an_admin(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    mine, theirs = make.world(), make.world()
    headers = _h(auth, mine.members[G])
    for path in ("", "statistics/"):
        assert (
            client.get(f"/api/events/{theirs.event_id}/{path}", headers=headers).status_code == 404
        )
    assert client.get(f"/api/events/{uuid.uuid4()}/", headers=headers).status_code == 404
    admin = _admin(make, auth)
    assert client.get(f"/api/events/{theirs.event_id}/", headers=admin).status_code == 200
    assert (
        client.get(f"/api/events/{theirs.event_id}/statistics/", headers=admin).status_code == 200
    )


def test_reading_needs_a_token(client: FlaskClient, make: Factory) -> None:
    world = make.world()
    assert client.get("/api/events/").status_code == 401
    assert client.get(f"/api/events/{world.event_id}/").status_code == 401


# ---------------------------------------------------------------------------
# create


def test_a_gestionnaire_creates_an_event_and_becomes_its_gestionnaire(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g = world.members[G]
    got = client.post("/api/events/", json=_body(), headers=_h(auth, g))
    assert got.status_code == 201, got.json
    body = got.json
    assert body["name"] == "Tech Summit 2026"
    assert body["organizer_email"] == "amina@example.com"
    assert body["status"] == "upcoming"
    assert body["created_by"] == g.user_id
    assert body["is_active"] is True
    assert body["programme_file"] is None
    new_id = uuid.UUID(body["id"])
    with app.app_context():
        assignment = db.session.scalars(
            select(UserEventAssignment).where(UserEventAssignment.event_id == new_id)
        ).one()
        assert (assignment.user_id, assignment.role) == (g.user_id, G)
    (entry,) = _log(app, action="event.create")
    assert entry.event_id == new_id and entry.actor_id == g.user_id
    assert entry.before is None and entry.after["name"] == "Tech Summit 2026"
    # the creator now lists it, and reads it with a token for it
    listed = client.get("/api/events/", headers=_h(auth, g))
    assert str(new_id) in {e["id"] for e in listed.json["results"]}
    there = Member(g.user_id, g.email, new_id, G, g.badge_id)
    assert client.get(f"/api/events/{new_id}/", headers=_h(auth, there)).status_code == 200


def test_an_organisateur_and_an_admin_create_events(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    organisateur = make.member(world.event_id, "organisateur")
    assert (
        client.post("/api/events/", json=_body(), headers=_h(auth, organisateur)).status_code == 201
    )
    admin = _admin(make, auth)  # no event in the token
    assert client.post("/api/events/", json=_body(), headers=admin).status_code == 201


@pytest.mark.parametrize("role", ROLES[1:])
def test_other_roles_cannot_create_events(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions, role: str
) -> None:
    world = make.world()
    got = client.post("/api/events/", json=_body(), headers=_h(auth, world.members[role]))
    assert got.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 1
    assert _log(app) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "a\x07b"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "\ud800"}, "name"),
        ({"description": "ok\x00"}, "description"),
        ({"start_date": "2025-12-01T09:00:00"}, "start_date"),
        ({"start_date": "tomorrow"}, "start_date"),
        ({"end_date": "0001-01-01T00:00:00Z"}, "end_date"),
        ({"president": 2**70}, "president"),
        ({"president": True}, "president"),
        ({"president": 999_999}, "president"),
        ({"is_active": "maybe"}, "is_active"),
        ({"organizer_email": "not an email"}, "organizer_email"),
        ({"organizer_phone": "call me"}, "organizer_phone"),
        ({"logo": "http://elsewhere/logo.png"}, "logo"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    auth: AuthActions,
    change: dict[str, Any],
    field: str,
) -> None:
    world = make.world()
    got = client.post("/api/events/", json=_body(**change), headers=_h(auth, world.members[G]))
    assert got.status_code == 400, got.json
    assert field in got.json["fields"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 1


def test_end_before_start_is_refused(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    body = _body()
    body["start_date"], body["end_date"] = body["end_date"], body["start_date"]
    got = client.post("/api/events/", json=body, headers=_h(auth, world.members[G]))
    assert got.status_code == 400 and "end_date" in got.json["fields"]
    missing = client.post("/api/events/", json={"name": "x"}, headers=_h(auth, world.members[G]))
    assert missing.status_code == 400
    assert {"start_date", "end_date"} <= set(missing.json["fields"])


def test_hostile_bodies_never_give_a_500(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    headers = {**_h(auth, world.members[G]), "Content-Type": "application/json"}
    for raw in ("[" * 5000 + "]" * 5000, '{"name": 1e999999}', "[]", "nope", '{"name": "\\ud800"}'):
        got = client.post("/api/events/", data=raw, headers=headers)
        assert got.status_code == 400, raw[:20]
    got = client.post("/api/events/", data="name=x", headers=_h(auth, world.members[G]))
    assert got.status_code in (400, 415)


# ---------------------------------------------------------------------------
# update


def test_a_gestionnaire_updates_their_event_with_patch_and_put(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g = world.members[G]
    path = f"/api/events/{world.event_id}/"
    got = client.patch(path, json={"location": "Oran", "president": g.user_id}, headers=_h(auth, g))
    assert got.status_code == 200, got.json
    assert got.json["location"] == "Oran" and got.json["president"] == g.user_id
    (entry,) = _log(app, action="event.update")
    assert entry.before["location"] == "Alger" and entry.after["location"] == "Oran"
    assert entry.actor_id == g.user_id and entry.obj_id == str(world.event_id)
    incomplete = client.put(path, json={"location": "Oran"}, headers=_h(auth, g))
    assert incomplete.status_code == 400 and "name" in incomplete.json["fields"]
    whole = client.put(path, json=_body(name="Renamed"), headers=_h(auth, g))
    assert whole.status_code == 200 and whole.json["name"] == "Renamed"
    # end before the stored start, in a PATCH
    early = iso(utcnow() - timedelta(days=30))
    refused = client.patch(path, json={"end_date": early}, headers=_h(auth, g))
    assert refused.status_code == 400 and "end_date" in refused.json["fields"]
    assert len(_log(app, action="event.update")) == 2


def test_a_patch_changing_nothing_writes_no_log_entry(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    path = f"/api/events/{world.event_id}/"
    got = client.patch(path, json={"location": "Alger"}, headers=_h(auth, world.members[G]))
    assert got.status_code == 200
    assert _log(app) == []


@pytest.mark.parametrize("role", ROLES[1:])
def test_other_roles_cannot_change_or_delete_the_event(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions, role: str
) -> None:
    world = make.world()
    headers = _h(auth, world.members[role])
    path = f"/api/events/{world.event_id}/"
    assert client.patch(path, json={"name": "Mine"}, headers=headers).status_code == 403
    assert client.put(path, json=_body(), headers=headers).status_code == 403
    assert client.delete(path, headers=headers).status_code == 403
    with app.app_context():
        event = db.session.get(Event, world.event_id)
        assert event is not None and event.name != "Mine"


def test_another_events_gestionnaire_and_an_admin_cannot_change_it(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world, other = make.world(), make.world()
    path = f"/api/events/{world.event_id}/"
    headers = _h(auth, other.members[G])
    assert client.patch(path, json={"name": "x"}, headers=headers).status_code == 404
    assert client.delete(path, headers=headers).status_code == 404
    admin = _admin(make, auth)
    assert client.patch(path, json={"name": "x"}, headers=admin).status_code == 403


# ---------------------------------------------------------------------------
# delete


def test_an_event_without_scans_kiosks_or_payments_is_deleted(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g = world.members[G]
    got = client.delete(f"/api/events/{world.event_id}/", headers=_h(auth, g))
    assert got.status_code == 204
    with app.app_context():
        assert db.session.get(Event, world.event_id) is None
        assert db.session.scalar(select(func.count()).select_from(EventSession)) == 0
    (entry,) = _log(app, action="event.delete")
    assert entry.event_id is None and entry.obj_id == str(world.event_id)
    assert entry.before is not None and entry.after is None


def _scan(app: Flask, world: World) -> None:
    with app.app_context():
        db.session.add(
            RoomAccess(
                event_id=world.event_id,
                room_id=world.rooms[0],
                session_id=world.free_session,
                participant_id=world.members["participant"].participant_id,
                status="granted",
                reason="granted",
                access_time=utcnow(),
            )
        )
        db.session.commit()


def _kiosk(app: Flask, world: World, room: int = 0) -> None:
    with app.app_context():
        db.session.add(
            Kiosk(event_id=world.event_id, name="Door", mode="door", room_id=world.rooms[room])
        )
        db.session.commit()


@pytest.mark.parametrize("what", ["scans", "kiosks", "payments"])
def test_an_event_in_use_is_not_deleted(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions, what: str
) -> None:
    world = make.world()
    if what == "scans":
        _scan(app, world)
    elif what == "kiosks":
        _kiosk(app, world)
    else:
        participant = world.members["participant"].participant_id
        assert participant is not None
        make.session_access(participant, world.paid_session)
    got = client.delete(f"/api/events/{world.event_id}/", headers=_h(auth, world.members[G]))
    assert got.status_code == 409
    assert got.json["counts"] == {what: 1}
    assert "is_active" in got.json["error"]
    with app.app_context():
        assert db.session.get(Event, world.event_id) is not None
    assert _log(app) == []


# ---------------------------------------------------------------------------
# the action log


def test_the_log_lists_the_events_entries_with_filters(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world, other = make.world(), make.world()
    g = _h(auth, world.members[G])
    second = make.member(world.event_id, "organisateur")
    client.patch(f"/api/events/{world.event_id}/", json={"location": "Oran"}, headers=g)
    room = client.post("/api/rooms/", json={"name": "Salle B"}, headers=_h(auth, second))
    assert room.status_code == 201
    client.patch(
        f"/api/events/{other.event_id}/", json={"location": "x"}, headers=_h(auth, other.members[G])
    )
    path = f"/api/events/{world.event_id}/log/"
    got = client.get(path, headers=g)
    assert got.status_code == 200
    assert got.json["count"] == 2
    assert [e["action"] for e in got.json["results"]] == ["room.create", "event.update"]
    assert got.json["results"][1]["changed"] == ["location"]
    by_type = client.get(path + "?obj_type=room", headers=g).json
    assert [e["object_id"] for e in by_type["results"]] == [room.json["id"]]
    by_id = client.get(path + f"?obj_id={world.event_id}", headers=g).json
    assert [e["action"] for e in by_id["results"]] == ["event.update"]
    by_actor = client.get(path + f"?actor={second.user_id}", headers=g).json
    assert [e["action"] for e in by_actor["results"]] == ["room.create"]
    paged = client.get(path + "?page_size=1&page=2", headers=g).json
    assert paged["count"] == 2 and len(paged["results"]) == 1 and paged["next"] is None
    assert client.get(path + "?actor=-1", headers=g).status_code == 400


@pytest.mark.parametrize("role", ROLES[1:])
def test_only_gestionnaires_read_the_log(
    client: FlaskClient, make: Factory, auth: AuthActions, role: str
) -> None:
    world = make.world()
    path = f"/api/events/{world.event_id}/log/"
    assert client.get(path, headers=_h(auth, world.members[role])).status_code == 403


def test_another_events_log_is_404(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world, other = make.world(), make.world()
    path = f"/api/events/{other.event_id}/log/"
    assert client.get(path, headers=_h(auth, world.members[G])).status_code == 404
