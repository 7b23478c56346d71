"""Kiosk sync: provisioning, revocation, the change feed (snapshot and deltas),
scan upload, and what organizers see of it (registry, discrepancies, statistics)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.badges import reissue_badge
from server.changefeed import kiosk_data, member_records
from server.extensions import db
from server.models import (
    ChangeLogEntry,
    Event,
    ExposantScan,
    Kiosk,
    Participant,
    Room,
    RoomAccess,
    RoomAssignment,
    SessionAccess,
    SyncState,
    User,
    UserEventAssignment,
    UserProfile,
)
from shared.roles import Role
from shared.timefmt import iso, utcnow
from tests.conftest import TEST_PASSWORD, AuthActions, Factory, Member, World

GEST, CTRL, PART, EXPO = (
    r.value for r in (Role.GESTIONNAIRE, Role.CONTROLLEUR, Role.PARTICIPANT, Role.EXPOSANT)
)
CODE_RE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")

Records = dict[tuple[str, str], Any]


# ---------------------------------------------------------------------------
# helpers


@contextmanager
def orm(app: Flask) -> Iterator[Session]:
    """An ORM session in an app context, committed on exit (so the change feed records it)."""
    with app.app_context():
        yield db.session
        db.session.commit()


def edit(app: Flask, model: Any, key: Any, **values: Any) -> None:
    """Change one row through the ORM, in its own transaction."""
    with orm(app) as s:
        obj = s.get(model, key)
        assert obj is not None
        for name, value in values.items():
            setattr(obj, name, value)


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


@dataclass
class KioskCred:
    id: str
    headers: dict[str, str]


def create_kiosk(client: FlaskClient, auth: AuthActions, by: Member, **body: Any) -> Any:
    return client.post("/api/kiosks/", json={"name": "k", **body}, headers=auth.headers(by))


def provision(client: FlaskClient, **body: Any) -> Any:
    return client.post("/api/kiosks/provision/", json=body)


def _cred(r: Any) -> KioskCred:
    assert r.status_code == 201, r.json
    return KioskCred(r.json["kiosk"]["id"], {"Authorization": f"Bearer {r.json['device_token']}"})


def door_kiosk(
    client: FlaskClient, auth: AuthActions, world: World, room: uuid.UUID | None = None
) -> KioskCred:
    """A provisioned door kiosk of ``world`` at ``room`` (the first room by default)."""
    made = create_kiosk(
        client, auth, world.members[GEST], mode="door", room_id=str(room or world.rooms[0])
    )
    assert made.status_code == 201, made.json
    return _cred(provision(client, code=made.json["provisioning_code"]))


def booth_kiosk(client: FlaskClient, auth: AuthActions, world: World) -> KioskCred:
    made = create_kiosk(
        client,
        auth,
        world.members[GEST],
        mode="booth",
        exposant_user_id=world.members[EXPO].user_id,
    )
    assert made.status_code == 201, made.json
    return _cred(provision(client, code=made.json["provisioning_code"]))


def pages(client: FlaskClient, kiosk: KioskCred, cursor: str = "0", limit: int = 3) -> list[Any]:
    """Every page from ``cursor`` until has_more is false."""
    out = []
    while True:
        r = client.get(
            "/api/sync/changes",
            query_string={"cursor": cursor, "limit": limit},
            headers=kiosk.headers,
        )
        assert r.status_code == 200, r.json
        out.append(r.json)
        assert len(r.json["changes"]) <= limit
        cursor = r.json["cursor"]
        if not r.json["has_more"]:
            return out
        assert len(out) < 100, "the feed never ends"


def apply(state: Records, got: list[Any]) -> Records:
    """What a kiosk does with pages: reset empties, upserts set, tombstones remove."""
    for page in got:
        if page["reset"]:
            state.clear()
        for c in page["changes"]:
            if c["op"] == "upsert":
                state[(c["entity"], c["key"])] = c["data"]
            else:
                assert c["op"] == "delete" and c["data"] is None, c
                state.pop((c["entity"], c["key"]), None)
    return state


def pull_all(
    client: FlaskClient, kiosk: KioskCred, cursor: str = "0", limit: int = 3
) -> tuple[Records, str]:
    got = pages(client, kiosk, cursor, limit)
    return apply({}, got), got[-1]["cursor"]


def scan(payload: str, status: str = "granted", reason: str = "granted", **extra: Any) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "kind": "room_access",
        "payload": payload,
        "scanned_at": iso(utcnow()),
        "status": status,
        "reason": reason,
        "decided_offline": True,
        **extra,
    }


def push(client: FlaskClient, kiosk: KioskCred, scans: Any, **extra: Any) -> Any:
    return client.post("/api/sync/scans", json={"scans": scans, **extra}, headers=kiosk.headers)


def kiosk_list(client: FlaskClient, auth: AuthActions, world: World) -> dict[str, Any]:
    r = client.get("/api/kiosks/", headers=auth.headers(world.members[GEST]))
    assert r.status_code == 200, r.json
    return {k["id"]: k for k in r.json["results"]}


def access_key(participant_id: Any, session_id: Any) -> str:
    return f"{participant_id}:{session_id}"


@dataclass
class Rich:
    """A world with every kind of kiosk record: allowed rooms, accesses, a revoked badge."""

    world: World
    p2: Member  # participant allowed in rooms 0 and 1, paid the atelier
    revoked: str  # the exposant's first badge, reissued
    exposant_badge: str  # and the new one


@pytest.fixture
def world(make: Factory) -> World:
    return make.world()


@pytest.fixture
def rich(app: Flask, make: Factory, world: World) -> Rich:
    p = world.members[PART]
    p2 = make.member(world.event_id, PART, allowed_rooms=world.rooms[:2])
    make.session_access(p.participant_id, world.paid_session)  # type: ignore[arg-type]
    make.session_access(p2.participant_id, world.paid_session)  # type: ignore[arg-type]
    expo = world.members[EXPO]
    with orm(app) as s:
        new = reissue_badge(s.get(User, expo.user_id), None).badge_id  # type: ignore[arg-type]
    return Rich(world, p2, expo.badge_id, new)


# ---------------------------------------------------------------------------
# 1. provisioning


def test_gestionnaire_creates_door_and_booth_kiosks(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    gest, expo = world.members[GEST], world.members[EXPO]
    door = create_kiosk(
        client, auth, gest, name="Porte A", mode="door", room_id=str(world.rooms[1])
    )
    assert door.status_code == 201, door.json
    assert CODE_RE.match(door.json["provisioning_code"])
    assert door.json["code_expires_at"].endswith("Z")
    k = door.json["kiosk"]
    assert {k_: k[k_] for k_ in ("name", "mode", "room_id", "room_name", "event_id")} == {
        "name": "Porte A",
        "mode": "door",
        "room_id": str(world.rooms[1]),
        "room_name": "Room 1",
        "event_id": str(world.event_id),
    }
    assert (k["provisioned"], k["revoked"], k["exposant_user_id"]) == (False, False, None)
    assert k["last_seen_at"] is None and k["cursor"] is None and k["cursor_lag"] is None

    booth = create_kiosk(client, auth, gest, mode="booth", exposant_user_id=expo.user_id)
    assert booth.status_code == 201, booth.json
    assert CODE_RE.match(booth.json["provisioning_code"])
    assert booth.json["provisioning_code"] != door.json["provisioning_code"]
    b = booth.json["kiosk"]
    assert (b["mode"], b["room_id"], b["exposant_user_id"]) == ("booth", None, expo.user_id)

    r = provision(client, code=booth.json["provisioning_code"].lower().replace("-", " "))
    assert r.status_code == 201, r.json  # typed loosely: case and separators do not matter
    assert r.json["device_token"].startswith(f"bgk1.{uuid.UUID(b['id']).hex}.")
    assert r.json["kiosk"]["provisioned"] is True
    assert r.json["event"]["id"] == str(world.event_id)
    assert set(kiosk_list(client, auth, world)) == {k["id"], b["id"]}


def test_only_gestionnaires_create_kiosks(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    for role in (CTRL, PART, EXPO):
        r = create_kiosk(
            client, auth, world.members[role], mode="door", room_id=str(world.rooms[0])
        )
        assert r.status_code == 403, (role, r.json)
    assert count(app, Kiosk) == 0


def test_bad_kiosk_requests_name_the_field_and_write_nothing(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    other = make.world()
    room = str(world.rooms[0])
    cases = [
        ({"mode": "kiosk", "room_id": room}, "mode"),
        ({"room_id": room}, "mode"),
        ({"mode": "door", "room_id": str(other.rooms[0])}, "room_id"),
        ({"mode": "door", "room_id": str(uuid.uuid4())}, "room_id"),
        ({"mode": "door"}, "room_id"),
        ({"mode": "door", "room_id": "not-a-uuid"}, "room_id"),
        ({"mode": "booth"}, "exposant_user_id"),
        ({"mode": "booth", "exposant_user_id": world.members[PART].user_id}, "exposant_user_id"),
        ({"mode": "booth", "exposant_user_id": other.members[EXPO].user_id}, "exposant_user_id"),
        (
            {"mode": "booth", "exposant_user_id": str(world.members[EXPO].user_id)},
            "exposant_user_id",
        ),
        (
            {"mode": "door", "room_id": room, "pinned_session_id": str(world.paid_session)},
            "pinned_session_id",
        ),
    ]
    for body, name in cases:
        r = create_kiosk(client, auth, world.members[GEST], **body)
        assert r.status_code == 400, (body, r.json)
        assert name in r.json["fields"], (body, r.json)
    assert count(app, Kiosk) == 0


def test_provisioning_code_works_once_and_expires(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    gest = world.members[GEST]
    made = create_kiosk(client, auth, gest, mode="door", room_id=str(world.rooms[0])).json
    assert provision(client, code=made["provisioning_code"]).status_code == 201
    again = provision(client, code=made["provisioning_code"])
    assert again.status_code == 400 and "code" in again.json["fields"]

    late = create_kiosk(client, auth, gest, mode="door", room_id=str(world.rooms[0])).json
    late_id = uuid.UUID(late["kiosk"]["id"])
    edit(app, Kiosk, late_id, code_expires_at=utcnow() - timedelta(minutes=1))
    r = provision(client, code=late["provisioning_code"])
    assert r.status_code == 400 and "code" in r.json["fields"]
    assert provision(client, code="AAAA-BBBB-CCCC").status_code == 400
    assert kiosk_list(client, auth, world)[str(late_id)]["provisioned"] is False


def test_provisioning_by_login(
    make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    ctrl, part, expo = world.members[CTRL], world.members[PART], world.members[EXPO]
    r = provision(client, email=ctrl.email, password=TEST_PASSWORD, room_id=str(world.rooms[2]))
    assert r.status_code == 201, r.json
    k = r.json["kiosk"]
    assert (k["mode"], k["room_id"], k["event_id"]) == (
        "door",
        str(world.rooms[2]),
        str(world.event_id),
    )
    door = _cred(r)
    assert client.get("/api/sync/changes?cursor=0", headers=door.headers).status_code == 200

    r = provision(client, email=part.email, password=TEST_PASSWORD, room_id=str(world.rooms[0]))
    assert r.status_code == 403, r.json
    other = make.world()
    r = provision(client, email=ctrl.email, password=TEST_PASSWORD, room_id=str(other.rooms[0]))
    assert r.status_code == 403, r.json  # a controller of another event

    r = provision(client, email=expo.email.upper(), password=TEST_PASSWORD)
    assert r.status_code == 201, r.json
    assert (r.json["kiosk"]["mode"], r.json["kiosk"]["exposant_user_id"]) == ("booth", expo.user_id)

    r = provision(client, email=ctrl.email, password="wrong", room_id=str(world.rooms[0]))
    assert r.status_code == 401, r.json
    assert provision(client, email="nobody@example.com", password="x").status_code == 401
    assert len(kiosk_list(client, auth, world)) == 2


# ---------------------------------------------------------------------------
# 2. revocation and tokens


def test_revoked_kiosk_is_refused(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world)
    other = make.world()
    url = f"/api/kiosks/{kiosk.id}/"
    assert client.delete(url, headers=auth.headers(other.members[GEST])).status_code == 404
    assert client.delete(url, headers=auth.headers(world.members[CTRL])).status_code == 403
    assert client.get("/api/sync/changes?cursor=0", headers=kiosk.headers).status_code == 200

    assert client.delete(url, headers=auth.headers(world.members[GEST])).status_code == 204
    pulled = client.get("/api/sync/changes?cursor=0", headers=kiosk.headers)
    pushed = push(client, kiosk, [scan(world.members[PART].qr)])
    for r in (pulled, pushed):
        assert r.status_code == 401 and r.json["code"] == "kiosk_revoked", r.json
    assert kiosk_list(client, auth, world)[kiosk.id]["revoked"] is True
    assert client.delete(url, headers=auth.headers(world.members[GEST])).status_code == 204
    # a deactivated event closes its kiosks too
    live = door_kiosk(client, auth, other)
    edit(app, Event, other.event_id, is_active=False)
    r = client.get("/api/sync/changes?cursor=0", headers=live.headers)
    assert r.status_code == 401 and r.json["code"] == "kiosk_revoked", r.json


def _sync_codes(client: FlaskClient, kiosk: KioskCred, payload: str) -> set[Any]:
    """What a pull and a push answer: {200} while the kiosk works, else the 401 codes."""
    pulled = client.get("/api/sync/changes?cursor=0", headers=kiosk.headers)
    pushed = push(client, kiosk, [scan(payload)])
    got = set()
    for r in (pulled, pushed):
        if r.status_code == 200:
            got.add(200)
        else:
            assert r.status_code == 401, r.json
            assert r.json["error"], r.json
            got.add(r.json["code"])
    return got


ENDED = {"provisioner_access_ended"}


def _assignment(app: Flask, member: Member) -> uuid.UUID:
    with app.app_context():
        found = db.session.scalar(
            select(UserEventAssignment.id).where(
                UserEventAssignment.user_id == member.user_id,
                UserEventAssignment.event_id == member.event_id,
            )
        )
        assert found is not None
        return found


@pytest.mark.parametrize("role", [CTRL, GEST])
def test_a_door_kiosk_of_a_login_stops_with_its_provisioners_access(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, role: str
) -> None:
    staff = world.members[role]
    payload = world.members[PART].qr
    kiosk = _cred(
        provision(client, email=staff.email, password=TEST_PASSWORD, room_id=str(world.rooms[0]))
    )
    assignment = _assignment(app, staff)
    assert _sync_codes(client, kiosk, payload) == {200}

    edit(app, UserEventAssignment, assignment, is_active=False)  # withdrawn
    assert _sync_codes(client, kiosk, payload) == ENDED
    edit(app, UserEventAssignment, assignment, is_active=True)
    assert _sync_codes(client, kiosk, payload) == {200}

    edit(app, UserEventAssignment, assignment, role=PART)  # no longer staff
    assert _sync_codes(client, kiosk, payload) == ENDED
    edit(app, UserEventAssignment, assignment, role=role)

    edit(app, User, staff.user_id, is_active=False)  # account disabled
    assert _sync_codes(client, kiosk, payload) == ENDED
    edit(app, User, staff.user_id, is_active=True)
    assert _sync_codes(client, kiosk, payload) == {200}

    with orm(app) as s:  # account deleted
        s.execute(delete(UserEventAssignment).where(UserEventAssignment.id == assignment))
        s.execute(delete(User).where(User.id == staff.user_id))
    assert _sync_codes(client, kiosk, payload) == ENDED


def test_a_booth_kiosk_of_a_login_stops_with_its_exposants_access(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    expo = world.members[EXPO]
    payload = world.members[PART].qr
    kiosk = _cred(provision(client, email=expo.email, password=TEST_PASSWORD))
    assignment = _assignment(app, expo)
    assert _sync_codes(client, kiosk, payload) == {200}
    edit(app, UserEventAssignment, assignment, is_active=False)
    assert _sync_codes(client, kiosk, payload) == ENDED
    edit(app, UserEventAssignment, assignment, is_active=True)
    assert _sync_codes(client, kiosk, payload) == {200}
    edit(app, UserEventAssignment, assignment, role=CTRL)  # a controller runs no booth
    assert _sync_codes(client, kiosk, payload) == ENDED
    edit(app, UserEventAssignment, assignment, role=EXPO)
    edit(app, User, expo.user_id, is_active=False)
    assert _sync_codes(client, kiosk, payload) == ENDED
    # the registry still lists it (not revoked: its credential lapsed)
    assert kiosk_list(client, auth, world)[kiosk.id]["revoked"] is False


def test_a_kiosk_of_a_provisioning_code_lives_until_revoked(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    gest = world.members[GEST]
    payload = world.members[PART].qr
    door, booth = door_kiosk(client, auth, world), booth_kiosk(client, auth, world)
    edit(app, UserEventAssignment, _assignment(app, gest), is_active=False)
    edit(app, User, gest.user_id, is_active=False)
    edit(app, UserEventAssignment, _assignment(app, world.members[EXPO]), is_active=False)
    for kiosk in (door, booth):
        assert _sync_codes(client, kiosk, payload) == {200}


def test_a_kiosk_is_checked_in_one_query(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    from server.kiosks.auth import authenticate_kiosk
    from tests.server.test_verify import count_queries

    ctrl = world.members[CTRL]
    r = provision(client, email=ctrl.email, password=TEST_PASSWORD, room_id=str(world.rooms[0]))
    by_login = _cred(r)
    by_code = door_kiosk(client, auth, world)
    for kiosk in (by_login, by_code):
        token = kiosk.headers["Authorization"].removeprefix("Bearer ")
        with app.test_request_context(), count_queries(app) as statements:
            assert str(authenticate_kiosk(token).id) == kiosk.id
        assert len(statements) == 1, statements


def test_only_device_tokens_open_the_sync_endpoints(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world)
    token = kiosk.headers["Authorization"].removeprefix("Bearer ")
    _prefix, hexid, secret = token.split(".")
    jwt = auth.headers(world.members[GEST])
    r = client.get("/api/sync/changes?cursor=0", headers=jwt)
    assert r.status_code == 401 and r.json["code"] == "not_a_kiosk", r.json
    for header in (
        None,
        "Bearer",
        "Basic " + token,
        "Bearer garbage",
        "Bearer bgk1.zz.yy",
        "Bearer bgk1..",
        f"Bearer bgk1.{hexid}.{secret}x",
        f"Bearer bgk1.{uuid.uuid4().hex}.{secret}",
        f"Bearer bgk2.{hexid}.{secret}",
        f"Bearer {token}.extra",
    ):
        headers = {"Authorization": header} if header else {}
        for r in (
            client.get("/api/sync/changes?cursor=0", headers=headers),
            client.post("/api/sync/scans", json={"scans": []}, headers=headers),
        ):
            assert r.status_code == 401, (header, r.json)
    # and the device token is not a user token
    assert client.get("/api/kiosks/", headers=kiosk.headers).status_code == 401
    assert client.get("/api/sync/changes?cursor=0", headers=kiosk.headers).status_code == 200


# ---------------------------------------------------------------------------
# 3. snapshot


def expected_keys(rich: Rich) -> set[tuple[str, str]]:
    w = rich.world
    members = [*w.members.values(), rich.p2]
    return (
        {("event", str(w.event_id))}
        | {("room", str(r)) for r in w.rooms}
        | {("session", str(s)) for s in (w.free_session, w.paid_session)}
        | {("member", str(m.user_id)) for m in members}
        | {("revoked_badge", rich.revoked)}
        | {
            ("session_access", access_key(p.participant_id, w.paid_session))
            for p in (w.members[PART], rich.p2)
        }
    )


def test_snapshot_pages_hold_exactly_the_event(
    make: Factory, client: FlaskClient, auth: AuthActions, rich: Rich
) -> None:
    w = rich.world
    other = make.world()
    make.session_access(other.members[PART].participant_id, other.paid_session)  # type: ignore[arg-type]
    door = door_kiosk(client, auth, w)
    door_kiosk(client, auth, other)

    got = pages(client, door, "0", limit=3)
    assert len(got) >= 5
    assert [p["reset"] for p in got] == [True] + [False] * (len(got) - 1)
    assert all(p["snapshot"] for p in got)
    assert [p["has_more"] for p in got] == [True] * (len(got) - 1) + [False]
    assert all(c["op"] == "upsert" and c["data"] is not None for p in got for c in p["changes"])
    final = got[-1]["cursor"]
    assert final.isdigit() and int(final) >= got[-1]["latest_seq"] > 0
    state = apply({}, got)
    assert set(state) == expected_keys(rich)
    assert sum(len(p["changes"]) for p in got) == len(state)  # nothing sent twice

    ev = state[("event", str(w.event_id))]
    assert ev["id"] == str(w.event_id) and ev["is_active"] is True
    assert state[("room", str(w.rooms[0]))] == {
        "id": str(w.rooms[0]),
        "name": "Room 0",
        "is_active": True,
    }
    paid = state[("session", str(w.paid_session))]
    assert (paid["room_id"], paid["is_paid"], paid["price"], paid["title"]) == (
        str(w.rooms[1]),
        True,
        "5000.00",
        "Atelier payant",
    )
    p2 = state[("member", str(rich.p2.user_id))]
    assert p2 == {
        **p2,
        "user_id": rich.p2.user_id,
        "is_active": True,
        "role": PART,
        "participant_id": str(rich.p2.participant_id),
        "allowed_room_ids": sorted(str(r) for r in w.rooms[:2]),
    }
    ctrl = state[("member", str(w.members[CTRL].user_id))]
    assert (ctrl["role"], ctrl["participant_id"], ctrl["allowed_room_ids"]) == (CTRL, None, [])
    expo = state[("member", str(w.members[EXPO].user_id))]
    assert expo["role"] == EXPO
    # no kiosk gets a badge id (a badge's secret) or an email
    for (entity, _k), v in state.items():
        if entity == "member":
            assert "badge_id" not in v and "email" not in v, v
    assert state[("revoked_badge", rich.revoked)] == {
        "badge_id": rich.revoked,
        "user_id": w.members[EXPO].user_id,
    }
    key = access_key(rich.p2.participant_id, w.paid_session)
    assert state[("session_access", key)] == {
        "participant_id": str(rich.p2.participant_id),
        "session_id": str(w.paid_session),
        "payment_status": "paid",
        "has_access": True,
    }

    # a booth kiosk gets exactly the same records: no one's email in advance
    booth_state, _ = pull_all(client, booth_kiosk(client, auth, w), limit=4)
    assert booth_state == state


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_member_pages_cover_each_member_once_when_memberships_interleave(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World, limit: int
) -> None:
    # staff with only an assignment and participants with only a participant
    # record, ids alternating: a page's id range holds more members than the
    # limit of either table alone, and must be cut to the limit
    staff = [make.member(world.event_id, CTRL) for _ in range(4)]
    solo = []
    for _ in range(4):
        m = make.member(world.event_id, PART)
        with orm(app) as s:
            s.execute(delete(UserEventAssignment).where(UserEventAssignment.user_id == m.user_id))
            s.commit()
        solo.append(m)
        staff.append(make.member(world.event_id, CTRL))
    got = pages(client, door_kiosk(client, auth, world), "0", limit=limit)
    keys = [c["key"] for p in got for c in p["changes"] if c["entity"] == "member"]
    expected = {str(m.user_id) for m in [*world.members.values(), *staff, *solo]}
    assert sorted(keys, key=int) == keys and set(keys) == expected and len(keys) == len(expected)
    members = {c["key"]: c["data"] for p in got for c in p["changes"] if c["entity"] == "member"}
    assert all(members[str(m.user_id)]["role"] is None for m in solo)
    assert all(members[str(m.user_id)]["participant_id"] == str(m.participant_id) for m in solo)


def test_member_records_are_the_same_asked_one_by_one_or_many_at_once(
    app: Flask, make: Factory, world: World
) -> None:
    # past a few ids PostgreSQL binds them as one array: same records either way
    people = [
        make.member(world.event_id, PART, allowed_rooms=world.rooms[: i % 3]) for i in range(18)
    ]
    stranger = make.user()  # not a member of this event: absent either way
    asked = [m.user_id for m in [*world.members.values(), *people]] + [stranger.id, 0, -5]
    with app.app_context():
        together = member_records(db.session, world.event_id, asked)
        alone = [r for uid in asked for r in member_records(db.session, world.event_id, [uid])]
    assert len(asked) - 3 >= 16
    assert sorted(together, key=lambda r: r["user_id"]) == sorted(alone, key=lambda r: r["user_id"])
    assert {r["user_id"] for r in together} == set(asked) - {stranger.id, 0, -5}
    rooms = {r["user_id"]: r["allowed_room_ids"] for r in together}
    assert rooms[people[2].user_id] == sorted(str(r) for r in world.rooms[:2])


@pytest.mark.parametrize("limit", [1, 3, 1000])
def test_snapshot_member_records_are_the_servers_without_their_secrets(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World, limit: int
) -> None:
    """Snapshot pages read members their own way (narrow range scans merged in
    Python): every record is what the server's member query gives, minus the
    badge id and email, also where the event's members are sparse among the
    users (another event's people in between) and for odd members."""
    other = make.world()
    people = [
        make.member(world.event_id, PART, allowed_rooms=world.rooms[: i % 3]) for i in range(4)
    ]
    strangers = [make.member(other.event_id, PART) for _ in range(30)]  # ids between
    people += [make.member(world.event_id, CTRL, active=False)]  # assignment off: no role
    nameless = make.user(first_name="", last_name="")  # the username stands in
    people += [make.member(world.event_id, EXPO, user=nameless, allowed_rooms=world.rooms[1:])]
    people += [make.member(world.event_id, PART, user=make.user(active=False))]
    both = make.user()  # a member of both events
    make.member(other.event_id, PART, user=both)
    people += [make.member(world.event_id, CTRL, user=both)]
    got = pages(client, door_kiosk(client, auth, world), "0", limit=limit)
    snap = [c["data"] for p in got for c in p["changes"] if c["entity"] == "member"]
    ids = [m.user_id for m in [*world.members.values(), *people]]
    with app.app_context():
        server = member_records(db.session, world.event_id, ids + [s.user_id for s in strangers])
    assert snap == sorted((kiosk_data("member", r) for r in server), key=lambda r: r["user_id"])
    assert sorted(r["user_id"] for r in snap) == sorted(ids)
    by_id = {r["user_id"]: r for r in snap}
    assert by_id[nameless.id]["name"] == nameless.username
    assert by_id[people[4].user_id]["role"] is None
    assert by_id[people[1].user_id]["allowed_room_ids"] == [str(world.rooms[0])]


# ---------------------------------------------------------------------------
# 4. deltas


class Replica:
    """A kiosk's copy: a snapshot, then deltas applied page by page."""

    def __init__(self, client: FlaskClient, kiosk: KioskCred) -> None:
        self.client, self.kiosk = client, kiosk
        self.state, self.cursor = pull_all(client, kiosk)
        self.seen: list[int] = []

    def pull(self, limit: int = 1) -> list[dict[str, Any]]:
        got = pages(self.client, self.kiosk, self.cursor, limit)
        assert not any(p["reset"] or p["snapshot"] for p in got)
        changes = [c for p in got for c in p["changes"]]
        seqs = [c["seq"] for c in changes]
        assert seqs == sorted(set(seqs)), "in seq order, each once"
        assert all(s > int(self.cursor) for s in seqs)
        assert not set(seqs) & set(self.seen)
        self.seen += seqs
        apply(self.state, got)
        self.cursor = got[-1]["cursor"]
        assert self.cursor.isdigit()
        return changes


def ops(changes: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((c["entity"], c["key"], c["op"]) for c in changes)


def test_deltas_bring_every_change_once_and_replay_to_the_snapshot(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, rich: Rich
) -> None:
    w = rich.world
    other = make.world()
    kiosk = Replica(client, door_kiosk(client, auth, w))
    start = kiosk.cursor
    assert kiosk.pull() == [] and kiosk.cursor == start  # nothing changed: the cursor stays

    # (a) a refund
    p = w.members[PART]
    with orm(app) as s:
        sa = s.scalars(
            select(SessionAccess).where(
                SessionAccess.participant_id == p.participant_id,
                SessionAccess.session_id == w.paid_session,
            )
        ).one()
        sa.payment_status, sa.has_access = "refunded", False
    key = access_key(p.participant_id, w.paid_session)
    (change,) = kiosk.pull()
    assert (change["entity"], change["key"], change["op"]) == ("session_access", key, "upsert")
    assert (change["data"]["payment_status"], change["data"]["has_access"]) == ("refunded", False)

    # (b) a lost badge reissued through the API
    r = client.post(
        "/api/qr/generate/",
        json={"user_id": rich.p2.user_id, "reissue": True},
        headers=auth.headers(w.members[GEST]),
    )
    assert r.status_code == 201, r.json
    new_badge = r.json["badge_id"]
    changes = kiosk.pull()
    assert ops(changes) == [
        ("member", str(rich.p2.user_id), "upsert"),
        ("revoked_badge", rich.p2.badge_id, "upsert"),
    ]
    member = next(c["data"] for c in changes if c["entity"] == "member")
    assert new_badge != rich.p2.badge_id
    assert "badge_id" not in member and "email" not in member
    revoked = next(c["data"] for c in changes if c["entity"] == "revoked_badge")
    assert revoked == {"badge_id": rich.p2.badge_id, "user_id": rich.p2.user_id}

    # (c) a room taken out of a participant's allowed rooms
    with orm(app) as s:
        part = s.get(Participant, rich.p2.participant_id)
        assert part is not None
        part.allowed_rooms = [room for room in part.allowed_rooms if room.id != w.rooms[1]]
    (change,) = kiosk.pull()
    assert (change["entity"], change["key"], change["op"]) == (
        "member",
        str(rich.p2.user_id),
        "upsert",
    )
    assert change["data"]["allowed_room_ids"] == [str(w.rooms[0])]

    # (d) a session access deleted: a tombstone
    with orm(app) as s:
        s.delete(
            s.scalars(
                select(SessionAccess).where(SessionAccess.participant_id == rich.p2.participant_id)
            ).one()
        )
    (change,) = kiosk.pull()
    assert change == {
        "seq": change["seq"],
        "entity": "session_access",
        "key": access_key(rich.p2.participant_id, w.paid_session),
        "op": "delete",
        "data": None,
    }

    # (e) an assignment deactivated: still a member, without a role
    ctrl = w.members[CTRL]
    with orm(app) as s:
        s.scalars(
            select(UserEventAssignment).where(
                UserEventAssignment.user_id == ctrl.user_id,
                UserEventAssignment.event_id == w.event_id,
            )
        ).one().is_active = False
    (change,) = kiosk.pull()
    assert (change["entity"], change["key"], change["op"]) == (
        "member",
        str(ctrl.user_id),
        "upsert",
    )
    assert change["data"]["role"] is None

    # (f) changes in another event never reach this kiosk
    before = kiosk.cursor
    with orm(app) as s:
        s.get(Room, other.rooms[0]).name = "Elsewhere"  # type: ignore[union-attr]
        stranger = s.get(Participant, other.members[PART].participant_id)
        stranger.allowed_rooms = [s.get(Room, other.rooms[1])]  # type: ignore[union-attr,list-item]
        reissue_badge(s.get(User, other.members[PART].user_id), None)  # type: ignore[arg-type]
    assert kiosk.pull() == [] and kiosk.cursor == before

    # several changes at once, paged one by one
    with orm(app) as s:
        for room, values in ((w.rooms[2], {"name": "Renamed"}), (w.rooms[0], {"is_active": False})):
            for name, value in values.items():
                setattr(s.get(Room, room), name, value)
    assert ops(kiosk.pull(limit=1)) == sorted(
        [("room", str(w.rooms[2]), "upsert"), ("room", str(w.rooms[0]), "upsert")]
    )

    fresh, _ = pull_all(client, door_kiosk(client, auth, w, w.rooms[2]), limit=4)
    assert kiosk.state == fresh
    assert kiosk.state[("room", str(w.rooms[2]))]["name"] == "Renamed"


def test_a_change_during_a_snapshot_is_not_lost(
    app: Flask, client: FlaskClient, auth: AuthActions, rich: Rich
) -> None:
    w = rich.world
    kiosk = door_kiosk(client, auth, w)
    first = [client.get("/api/sync/changes?cursor=0&limit=3", headers=kiosk.headers).json]
    first.append(
        client.get(
            "/api/sync/changes",
            query_string={"cursor": first[0]["cursor"], "limit": 3},
            headers=kiosk.headers,
        ).json
    )
    assert first[1]["cursor"].startswith("s.")  # still in the snapshot, the rooms are behind us
    edit(app, Room, w.rooms[0], name="Renamed mid-snapshot")
    with orm(app) as s:
        s.delete(
            s.scalars(
                select(SessionAccess).where(SessionAccess.participant_id == rich.p2.participant_id)
            ).one()
        )
    rest = pages(client, kiosk, first[1]["cursor"], limit=3)
    assert rest[-1]["snapshot"] is False  # the change came as a delta after the snapshot
    state = apply({}, first + rest)
    fresh, _ = pull_all(client, door_kiosk(client, auth, w), limit=50)
    assert state == fresh
    assert state[("room", str(w.rooms[0]))]["name"] == "Renamed mid-snapshot"


def test_bad_cursors_are_400(client: FlaskClient, auth: AuthActions, world: World) -> None:
    kiosk = door_kiosk(client, auth, world)
    for cursor in (
        "abc",
        "s.x",
        "s",
        "-1",
        "1.5",
        "s.1.9",
        "s.1.1.not-a-uuid",
        "s.1.3.abc",
        "9" * 30,
    ):
        r = client.get("/api/sync/changes", query_string={"cursor": cursor}, headers=kiosk.headers)
        assert r.status_code == 400, (cursor, r.json)
        assert "cursor" in r.json["fields"], (cursor, r.json)
    for limit in ("0", "x", "100000"):
        r = client.get(f"/api/sync/changes?cursor=0&limit={limit}", headers=kiosk.headers)
        assert r.status_code == 400 and "limit" in r.json["fields"], (limit, r.json)


def test_a_cursor_below_the_pruned_watermark_gets_a_new_snapshot(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world)
    state, cursor = pull_all(client, kiosk)
    edit(app, Room, world.rooms[1], name="Changed")
    with orm(app) as s:
        s.merge(SyncState(id=1, pruned_through_seq=int(cursor) + 1))
    got = pages(client, kiosk, cursor, limit=100)
    assert got[0]["reset"] is True and got[0]["snapshot"] is True
    again = apply(dict(state), got)
    assert set(again) == set(state)
    assert again[("room", str(world.rooms[1]))]["name"] == "Changed"
    # a cursor at or past the watermark still gets deltas
    r = client.get(f"/api/sync/changes?cursor={got[-1]['cursor']}", headers=kiosk.headers).json
    assert (r["reset"], r["snapshot"], r["changes"]) == (False, False, [])


def replay_differences(kiosk: Replica, fresh: Records) -> dict[tuple[str, str], Any]:
    keys = set(kiosk.state) | set(fresh)
    return {
        k: (kiosk.state.get(k), fresh.get(k)) for k in keys if kiosk.state.get(k) != fresh.get(k)
    }


def test_deleting_a_room_reaches_the_kiosks(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, rich: Rich
) -> None:
    w = rich.world
    only_b = make.member(w.event_id, PART, allowed_rooms=[w.rooms[1]])
    kiosk = Replica(client, door_kiosk(client, auth, w))
    with orm(app) as s:
        s.delete(s.get(Room, w.rooms[1]))  # holds the paid session
    kiosk.pull()
    fresh, _ = pull_all(client, door_kiosk(client, auth, w, w.rooms[2]), limit=4)
    # on the server only_b may now enter every room; the replica still holds [room 1]
    assert fresh[("member", str(only_b.user_id))]["allowed_room_ids"] == []
    assert replay_differences(kiosk, fresh) == {}


def test_joining_or_leaving_an_event_carries_the_revoked_badges(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, rich: Rich
) -> None:
    w = rich.world
    newcomer = make.user()
    with orm(app) as s:
        old_badge = s.scalars(
            select(UserProfile.badge_id).where(UserProfile.user_id == newcomer.id)
        ).one()
        reissue_badge(s.get(User, newcomer.id), None)  # type: ignore[arg-type]
    kiosk = Replica(client, door_kiosk(client, auth, w))
    make.member(w.event_id, PART, user=newcomer)  # joins, with a badge reissued before
    expo = w.members[EXPO]  # leaves, with the badge revoked in the fixture
    with orm(app) as s:
        s.delete(s.get(Participant, expo.participant_id))
        s.delete(
            s.scalars(
                select(UserEventAssignment).where(UserEventAssignment.user_id == expo.user_id)
            ).one()
        )
    kiosk.pull()
    fresh, _ = pull_all(client, door_kiosk(client, auth, w, w.rooms[2]), limit=4)
    assert ("revoked_badge", old_badge) in fresh
    assert ("revoked_badge", rich.revoked) not in fresh
    assert replay_differences(kiosk, fresh) == {}


def test_a_cursor_ahead_of_the_server_is_not_kept(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world)
    _state, cursor = pull_all(client, kiosk)
    ahead = str(int(cursor) + 1000)
    r = client.get(f"/api/sync/changes?cursor={ahead}", headers=kiosk.headers)
    refused = r.status_code == 400 and "cursor" in r.json["fields"]
    assert refused or (r.status_code == 200 and r.json["reset"] is True), r.json


# ---------------------------------------------------------------------------
# 5. scan upload


def rows(app: Flask, model: Any) -> dict[str, Any]:
    with app.app_context():
        found = db.session.scalars(select(model)).all()
        db.session.expunge_all()
        return {str(r.client_id): r for r in found}


def test_door_batch_is_stored_once_with_both_verdicts(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world)
    stranger = make.world().members[PART]
    p = world.members[PART]
    batch = [
        scan(p.qr, room_id=str(world.rooms[0])),
        scan(stranger.qr, "denied", "not_in_event"),
        scan("garbage", "denied", "invalid_badge", decided_offline=False),
    ]
    r = push(client, kiosk, batch)
    assert r.status_code == 200, r.json
    assert (r.json["accepted"], r.json["duplicate"], r.json["rejected"]) == (3, 0, 0)
    results = r.json["results"]
    assert [x["client_id"] for x in results] == [s["client_id"] for s in batch]
    assert [x["result"] for x in results] == ["accepted"] * 3
    assert [x["server_status"] for x in results] == ["granted", "denied", "denied"]
    assert (results[0]["server_reason"], results[2]["server_reason"]) == (
        "granted",
        "invalid_badge",
    )

    stored = rows(app, RoomAccess)
    assert set(stored) == {s["client_id"] for s in batch}
    for sent, got in zip(batch, results, strict=True):
        row = stored[sent["client_id"]]
        assert str(row.kiosk_id) == kiosk.id and row.received_at is not None
        assert row.room_id == world.rooms[0] and row.event_id == world.event_id
        assert row.decided_offline is sent["decided_offline"]
        assert iso(row.access_time) == sent["scanned_at"]
        assert (row.status, row.reason) == (sent["status"], sent["reason"])
        assert (row.server_status, row.server_reason) == (
            got["server_status"],
            got["server_reason"],
        )
    first = stored[batch[0]["client_id"]]
    assert (first.user_id, first.badge_id, first.participant_id) == (
        p.user_id,
        p.badge_id,
        p.participant_id,
    )

    again = push(client, kiosk, batch)
    assert again.status_code == 200
    assert [x["result"] for x in again.json["results"]] == ["duplicate"] * 3
    assert [x["server_reason"] for x in again.json["results"]] == [
        x["server_reason"] for x in results
    ]
    assert count(app, RoomAccess) == 3


def test_uploaded_badge_of_another_event_is_not_in_event(
    make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world)
    stranger = make.world().members[PART]
    online = client.post(
        f"/api/rooms/{world.rooms[0]}/verify_access/",
        json={"qr_data": stranger.qr},
        headers=auth.headers(world.members[CTRL]),
    )
    assert online.json["reason"] == "not_in_event"
    (result,) = push(client, kiosk, [scan(stranger.qr, "denied", "not_in_event")]).json["results"]
    assert (result["server_status"], result["server_reason"]) == ("denied", "not_in_event")


def test_scans_outside_the_kiosk_scope_are_rejected(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world)
    qr = world.members[PART].qr
    batch = [
        scan(qr, kind="booth_visit"),
        scan(qr, room_id=str(world.rooms[1])),
        scan(qr, room_id=str(world.rooms[0])),
    ]
    r = push(client, kiosk, batch)
    assert r.status_code == 200, r.json
    assert [x["result"] for x in r.json["results"]] == ["rejected", "rejected", "accepted"]
    assert all(x["reason"] for x in r.json["results"][:2])
    assert set(rows(app, RoomAccess)) == {batch[2]["client_id"]}
    # rejected scans stay rejected when resent
    assert [x["result"] for x in push(client, kiosk, batch[:2]).json["results"]] == ["rejected"] * 2


def test_a_malformed_batch_names_the_item_and_writes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world)
    qr = world.members[PART].qr

    def batch_with(**bad: Any) -> dict[str, Any]:
        return {"scans": [scan(qr), {**scan(qr), **bad}], "queue_length": 5}

    ok = scan(qr)
    cases: list[tuple[Any, str]] = [
        (batch_with(client_id="not-a-uuid"), "scans[1].client_id"),
        (batch_with(client_id=None), "scans[1].client_id"),
        (batch_with(scanned_at="2025-06-01T10:00:00"), "scans[1].scanned_at"),
        (batch_with(status="maybe"), "scans[1].status"),
        (batch_with(kind="teleport"), "scans[1].kind"),
        (batch_with(decided_offline="yes"), "scans[1].decided_offline"),
        (batch_with(room_id="room-a"), "scans[1].room_id"),
        ({"scans": [ok, dict(ok)], "queue_length": 5}, "scans[1].client_id"),
        ({"scans": [scan(qr) for _ in range(1001)], "queue_length": 5}, "scans"),
        ({"scans": "nope", "queue_length": 5}, "scans"),
        ({"scans": {"0": ok}, "queue_length": 5}, "scans"),
        ({"scans": [ok], "queue_length": -1}, "queue_length"),
    ]
    for body, name in cases:
        r = client.post("/api/sync/scans", json=body, headers=kiosk.headers)
        assert r.status_code == 400, (name, r.json)
        assert name in r.json["fields"], (name, r.json)
    r = client.post("/api/sync/scans", json=[ok], headers=kiosk.headers)
    assert r.status_code == 400 and "body" in r.json["fields"]
    assert count(app, RoomAccess) == 0
    assert kiosk_list(client, auth, world)[kiosk.id]["queue_length"] is None


def test_booth_visits_become_exposant_scans_with_notes(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = booth_kiosk(client, auth, world)
    p = world.members[PART]
    visit = scan(p.qr, kind="booth_visit", notes="wants a demo")
    r = push(client, kiosk, [visit, scan(p.qr)])
    assert r.status_code == 200, r.json
    (ok, door) = r.json["results"]
    assert (ok["result"], ok["server_status"], ok["server_reason"]) == (
        "accepted",
        "granted",
        "granted",
    )
    assert door["result"] == "rejected" and door["reason"]
    (row,) = rows(app, ExposantScan).values()
    assert str(row.client_id) == visit["client_id"] and str(row.kiosk_id) == kiosk.id
    assert row.exposant_id == world.members[EXPO].participant_id
    assert row.scanned_participant_id == p.participant_id and row.event_id == world.event_id
    assert row.notes == "wants a demo" and row.decided_offline is True
    assert count(app, RoomAccess) == 0

    edited = push(client, kiosk, [{**visit, "notes": "call back Monday"}])
    assert edited.json["results"][0]["result"] == "duplicate"
    assert edited.json["results"][0]["server_status"] == "granted"
    assert (
        push(client, kiosk, [{**visit, "notes": None}]).json["results"][0]["result"] == "duplicate"
    )
    (row,) = rows(app, ExposantScan).values()
    assert row.notes == "call back Monday"


def test_a_kiosk_cannot_edit_another_kiosks_scan(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    mine = booth_kiosk(client, auth, world)
    visit = scan(world.members[PART].qr, kind="booth_visit", notes="mine")
    assert push(client, mine, [visit]).json["results"][0]["result"] == "accepted"
    intruder = booth_kiosk(client, auth, make.world())
    r = push(client, intruder, [{**visit, "notes": "overwritten"}])
    assert r.status_code == 200
    (row,) = rows(app, ExposantScan).values()
    assert row.notes == "mine"
    # not "duplicate" either: that would echo another event's verdict, and the intruder
    # would drop from its outbox a scan the server never stored
    assert r.json["results"][0]["result"] == "rejected"


# ---------------------------------------------------------------------------
# 6. what organizers see


def test_kiosk_registry_shows_heartbeat_and_cursor_lag(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    other = make.world()
    kiosk = door_kiosk(client, auth, world)
    door_kiosk(client, auth, other)
    _state, cursor = pull_all(client, kiosk)
    (k,) = kiosk_list(client, auth, world).values()
    assert k["id"] == kiosk.id and k["provisioned"] is True
    assert (k["cursor"], k["cursor_lag"]) == (int(cursor), 0)
    assert k["last_seen_at"] is not None and k["queue_length"] is None
    seen = k["last_seen_at"]

    r = push(client, kiosk, [scan(world.members[PART].qr)], queue_length=4, clock_offset_ms=-1234)
    assert r.status_code == 200, r.json
    k = kiosk_list(client, auth, world)[kiosk.id]
    assert (k["queue_length"], k["clock_offset_ms"]) == (4, -1234)
    assert k["last_seen_at"] >= seen
    push(client, kiosk, [], queue_length=0)
    k = kiosk_list(client, auth, world)[kiosk.id]
    assert (k["queue_length"], k["clock_offset_ms"]) == (0, -1234)

    edit(app, Room, other.rooms[0], name="Elsewhere")
    assert kiosk_list(client, auth, world)[kiosk.id]["cursor_lag"] == 0
    edit(app, Room, world.rooms[0], name="Here")
    assert kiosk_list(client, auth, world)[kiosk.id]["cursor_lag"] > 0
    pull_all(client, kiosk, cursor)
    assert kiosk_list(client, auth, world)[kiosk.id]["cursor_lag"] == 0


def test_a_kiosk_pulling_page_after_page_writes_its_heartbeat_once_a_second(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    client: FlaskClient,
    auth: AuthActions,
    world: World,
) -> None:
    import server.kiosks.sync as sync_api

    kiosk = door_kiosk(client, auth, world)
    t0 = utcnow()
    monkeypatch.setattr(sync_api, "utcnow", lambda: t0)
    _state, cursor = pull_all(client, kiosk, limit=2)  # several pages: one write
    (k,) = kiosk_list(client, auth, world).values()
    assert k["last_seen_at"] == iso(t0) and k["cursor"] == int(cursor)

    monkeypatch.setattr(sync_api, "utcnow", lambda: t0 + timedelta(milliseconds=900))
    pages(client, kiosk, cursor)
    assert kiosk_list(client, auth, world)[kiosk.id]["last_seen_at"] == iso(t0)
    # a new cursor is written at once, with the time
    edit(app, Room, world.rooms[0], name="Renamed")
    _state, later = pull_all(client, kiosk)
    k = kiosk_list(client, auth, world)[kiosk.id]
    assert int(later) > int(cursor) and k["cursor"] == int(later)
    assert k["last_seen_at"] == iso(t0 + timedelta(milliseconds=900))

    monkeypatch.setattr(sync_api, "utcnow", lambda: t0 + timedelta(seconds=2))
    pages(client, kiosk, later)
    assert kiosk_list(client, auth, world)[kiosk.id]["last_seen_at"] == iso(
        t0 + timedelta(seconds=2)
    )


def test_organizers_see_discrepancies_and_count_each_scan_once(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    other = make.world()
    kiosk = door_kiosk(client, auth, world)
    gest, ctrl, p = world.members[GEST], world.members[CTRL], world.members[PART]
    with orm(app) as s:  # reissued while the kiosk is offline
        new_badge = reissue_badge(s.get(User, p.user_id), None).badge_id  # type: ignore[arg-type]
    new_qr = f'{{"user_id": {p.user_id}, "badge_id": "{new_badge}"}}'
    batch = [
        scan(p.qr),  # the kiosk let the old badge in: the server says revoked
        scan(ctrl.qr),
        scan("garbage", "denied", "invalid_badge", decided_offline=False),
        scan(new_qr, "denied", "unknown_badge"),  # the kiosk did not know the new badge
    ]
    assert push(client, kiosk, batch).json["accepted"] == 4
    assert push(client, kiosk, batch).json["duplicate"] == 4
    online = client.post(
        f"/api/rooms/{world.rooms[0]}/verify_access/",
        json={"qr_data": new_qr},
        headers=auth.headers(ctrl),
    )
    assert online.status_code == 200

    r = client.get(f"/api/events/{world.event_id}/discrepancies/", headers=auth.headers(gest))
    assert r.status_code == 200, r.json
    assert r.json["count"] == 2
    got = {d["client_id"]: d for d in r.json["results"]}
    assert set(got) == {batch[0]["client_id"], batch[3]["client_id"]}
    old = got[batch[0]["client_id"]]
    assert old["kiosk"] == {"status": "granted", "reason": "granted"}
    assert old["server"] == {"status": "denied", "reason": "revoked_badge"}
    assert (old["kind"], old["kiosk_id"], old["room_id"]) == (
        "room_access",
        kiosk.id,
        str(world.rooms[0]),
    )
    assert (old["decided_offline"], old["user_id"]) == (True, p.user_id)
    assert got[batch[3]["client_id"]]["server"] == {"status": "granted", "reason": "granted"}
    for event_id in (other.event_id, uuid.uuid4()):
        r = client.get(f"/api/events/{event_id}/discrepancies/", headers=auth.headers(gest))
        assert r.status_code == 404, r.json
    r = client.get(f"/api/events/{world.event_id}/discrepancies/", headers=auth.headers(ctrl))
    assert r.status_code == 403

    r = client.get(f"/api/rooms/{world.rooms[0]}/statistics/", headers=auth.headers(gest))
    assert r.status_code == 200, r.json
    stats = r.json["statistics"]
    assert (stats["total_scans"], stats["today_scans"]) == (5, 5)
    assert (stats["granted"], stats["denied"], stats["unique_participants"]) == (3, 2, 1)
    assert sorted(s["offline"] for s in r.json["recent_scans"]) == [False, False, True, True, True]

    url = "/api/my-room/statistics/"
    assert client.get(url, headers=auth.headers(ctrl)).status_code == 404
    now = utcnow()
    with orm(app) as s:
        for room, start in (
            (world.rooms[1], now - timedelta(hours=3)),
            (world.rooms[0], now - timedelta(hours=1)),
        ):
            s.add(
                RoomAssignment(
                    user_id=ctrl.user_id,
                    room_id=room,
                    event_id=world.event_id,
                    role=CTRL,
                    start_time=start,
                    end_time=start + timedelta(hours=2),
                )
            )
    r = client.get(url, headers=auth.headers(ctrl))
    assert r.status_code == 200, r.json
    assert r.json["room"]["id"] == str(world.rooms[0])
    assert r.json["statistics"]["total_scans"] == 5


def test_snapshot_of_an_event_with_no_logged_change_does_not_restart(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    """Data loaded without the ORM (a bulk import) has no log entries: the snapshot
    still ends on a cursor that means "done", not "0" (which would start over)."""
    kiosk = door_kiosk(client, auth, world)
    with app.app_context():
        db.session.execute(delete(ChangeLogEntry))
        db.session.commit()
    records, cursor = pull_all(client, kiosk)
    assert ("room", str(world.rooms[0])) in records
    assert cursor != "0"
    again = client.get(f"/api/sync/changes?cursor={cursor}", headers=kiosk.headers).json
    assert again["reset"] is False and again["changes"] == [] and again["has_more"] is False
    room = make.room(world.event_id, "Added later")
    later = client.get(f"/api/sync/changes?cursor={cursor}", headers=kiosk.headers).json
    assert [(c["entity"], c["key"]) for c in later["changes"]] == [("room", str(room))]


@pytest.mark.parametrize(
    ("field", "value"),
    [("notes", "a\x00b"), ("reason", "granted\x00"), ("reason", "DROP TABLE")],
)
def test_nul_or_junk_in_a_scan_is_a_400_not_a_500(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, field: str, value: str
) -> None:
    kiosk = door_kiosk(client, auth, world)
    bad = {**scan(world.members[PART].qr), field: value}
    r = push(client, kiosk, [bad])
    assert r.status_code == 400 and f"scans[0].{field}" in r.json["fields"]
    assert count(app, RoomAccess) == 0
