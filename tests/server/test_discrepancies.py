"""Uploaded scans are judged on the server's data as it was when they were made:
a discrepancy means the kiosk decided on stale data, nothing else."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.models import EventSession, RoomAccess, UserEventAssignment
from shared.roles import Role
from shared.timefmt import iso, utcnow
from tests.conftest import AuthActions, Factory, World
from tests.server.test_sync import door_kiosk, orm, push, scan

GEST, CTRL, PART = Role.GESTIONNAIRE.value, Role.CONTROLLEUR.value, Role.PARTICIPANT.value


@pytest.fixture
def world(make: Factory) -> World:
    return make.world()


def discrepancies(client: FlaskClient, auth: AuthActions, world: World) -> dict[str, Any]:
    r = client.get(
        f"/api/events/{world.event_id}/discrepancies/", headers=auth.headers(world.members[GEST])
    )
    assert r.status_code == 200, r.json
    return {d["client_id"]: d for d in r.json["results"]}


def _tick() -> None:
    time.sleep(0.01)  # commit times are microseconds: keep the order unambiguous


def test_a_scan_right_when_made_is_not_listed_after_a_later_change(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world, world.rooms[2])  # nothing runs there
    p = world.members[PART]
    before = scan(p.qr)  # the kiosk let them in, rightly
    _tick()
    with orm(app) as s:  # then their role is withdrawn
        assignment = s.scalars(
            select(UserEventAssignment).where(UserEventAssignment.user_id == p.user_id)
        ).one()
        assignment.is_active = False
    _tick()
    after = scan(p.qr)  # a stale kiosk lets them in again: that one is a discrepancy
    r = push(client, kiosk, [before, after])
    assert r.status_code == 200, r.json
    verdicts = {x["client_id"]: x["server_reason"] for x in r.json["results"]}
    assert verdicts == {before["client_id"]: "granted", after["client_id"]: "not_in_event"}
    listed = discrepancies(client, auth, world)
    assert set(listed) == {after["client_id"]}
    assert listed[after["client_id"]]["server"] == {"status": "denied", "reason": "not_in_event"}


def test_a_schedule_change_the_kiosk_missed_is_reported(
    app: Flask, client: FlaskClient, auth: AuthActions, make: Factory, world: World
) -> None:
    """The kiosk named no session (its schedule had none running); the server picks
    the session held in the room at the scan's time from its own schedule."""
    kiosk = door_kiosk(client, auth, world, world.rooms[2])
    p = world.members[PART]  # has not paid the atelier
    with orm(app) as s:  # the paid atelier moves into this room, the kiosk does not know
        atelier = s.get(EventSession, world.paid_session)
        assert atelier is not None
        atelier.room_id = world.rooms[2]
        atelier.start_time = utcnow() - timedelta(minutes=5)
    _tick()
    missed = scan(p.qr)  # no session_id: the kiosk saw nothing running
    r = push(client, kiosk, [missed])
    assert r.json["results"][0]["server_reason"] == "payment_required", r.json
    listed = discrepancies(client, auth, world)
    assert listed[missed["client_id"]]["server"]["reason"] == "payment_required"
    with app.app_context():
        row = db.session.scalars(select(RoomAccess)).one()
        assert row.session_id == world.paid_session  # the session held then, recorded


def test_a_session_of_another_room_named_by_a_kiosk_is_judged_on_the_schedule(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world, world.rooms[2])
    claimed = scan(world.members[PART].qr, session_id=str(world.paid_session))  # room 1's
    r = push(client, kiosk, [claimed])
    assert r.status_code == 200, r.json
    assert r.json["results"][0]["server_reason"] == "granted"  # nothing runs in room 2


def test_scans_far_from_the_servers_clock_are_rejected(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world)
    qr = world.members[PART].qr
    future = scan(qr, scanned_at=iso(utcnow() + timedelta(hours=2)))
    ancient = scan(qr, scanned_at=iso(utcnow() - timedelta(days=400)))
    fine = scan(qr, scanned_at=iso(utcnow() - timedelta(days=3)))  # an offline weekend
    r = push(client, kiosk, [future, ancient, fine])
    assert r.status_code == 200, r.json
    got = {x["client_id"]: (x["result"], x["reason"]) for x in r.json["results"]}
    assert got == {
        future["client_id"]: ("rejected", "scanned_at is ahead of the server's clock"),
        ancient["client_id"]: ("rejected", "scanned_at is too old"),
        fine["client_id"]: ("accepted", None),
    }


def test_room_statistics_count_the_servers_verdict(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    kiosk = door_kiosk(client, auth, world)
    claims = [
        scan("garbage", "granted", "granted"),  # a kiosk that lies
        scan(f'{{"user_id": {world.members[PART].user_id}, "badge_id": "USER-1-ZZZZZZZZ"}}'),
        scan(world.members[CTRL].qr),
    ]
    assert push(client, kiosk, claims).json["accepted"] == 3
    r = client.get(
        f"/api/rooms/{world.rooms[0]}/statistics/", headers=auth.headers(world.members[GEST])
    )
    stats = r.json["statistics"]
    assert (stats["total_scans"], stats["granted"], stats["denied"]) == (3, 1, 2)
    recent = {s["reason"] for s in r.json["recent_scans"]}
    assert recent == {"invalid_badge", "granted"}
    assert all(s["kiosk"]["status"] == "granted" for s in r.json["recent_scans"])


def test_pinned_kiosks_are_judged_on_their_pinned_session(
    app: Flask, client: FlaskClient, auth: AuthActions, make: Factory, world: World
) -> None:
    paid_later = make.session(
        world.event_id, world.rooms[2], paid=True, start=utcnow() + timedelta(hours=3)
    )
    made = client.post(
        "/api/kiosks/",
        json={
            "name": "pinned",
            "mode": "door",
            "room_id": str(world.rooms[2]),
            "pinned_session_id": str(paid_later),
        },
        headers=auth.headers(world.members[GEST]),
    )
    assert made.status_code == 201, made.json
    cred = client.post("/api/kiosks/provision/", json={"code": made.json["provisioning_code"]})
    headers = {"Authorization": f"Bearer {cred.json['device_token']}"}
    s = scan(world.members[PART].qr, session_id=str(paid_later))
    r = client.post("/api/sync/scans", json={"scans": [s]}, headers=headers)
    assert r.json["results"][0]["server_reason"] == "payment_required", r.json
