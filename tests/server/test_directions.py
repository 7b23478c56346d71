"""Entry and exit at a door: ``direction`` in ``verify_access`` and in uploaded
scans, logged with the scan; an exit passes for a person of the event whatever
the room or the session, and only entries check people in and make attendance."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.models import RoomAccess
from tests.conftest import AuthActions, Factory, World
from tests.server.test_sync import booth_kiosk, door_kiosk, push, scan
from tests.server.test_verify import verify

CONTROLLER = "controlleur_des_badges"
GESTIONNAIRE = "gestionnaire_des_salles"


def _post(
    client: FlaskClient, auth: AuthActions, world: World, room: uuid.UUID, **body: Any
) -> Any:
    return client.post(
        f"/api/rooms/{room}/verify_access/",
        json=body,
        headers=auth.headers(world.members[CONTROLLER]),
    )


def _directions(app: Flask) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(RoomAccess.direction, RoomAccess.status, RoomAccess.reason).order_by(
                RoomAccess.access_time
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_an_exit_passes_where_entry_is_refused_and_is_logged_as_one(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    p = make.member(world.event_id, "participant", allowed_rooms=[world.rooms[0]])
    refused = _post(client, auth, world, world.rooms[1], qr_data=p.qr)
    assert refused.status_code == 403 and refused.json["reason"] == "room_not_allowed"
    assert refused.json["direction"] == "in"
    # the paid atelier's room, no payment: entry refused, exit passes
    unpaid = _post(client, auth, world, world.rooms[1], qr_data=p.qr, direction="out")
    assert unpaid.status_code == 200, unpaid.json
    assert unpaid.json["status"] == "granted" and unpaid.json["direction"] == "out"
    assert unpaid.json["participant"]["id"] == str(p.participant_id)
    # null is the seed's entry
    entry = _post(client, auth, world, world.rooms[0], qr_data=p.qr, direction=None)
    assert entry.status_code == 200 and entry.json["direction"] == "in"
    assert _directions(app) == [
        ("in", "denied", "room_not_allowed"),
        ("out", "granted", "granted"),
        ("in", "granted", "granted"),
    ]


def test_an_exit_names_someone_of_the_event_or_is_refused(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world, other = make.world(), make.world()
    stranger = other.members["participant"]
    r = _post(client, auth, world, world.rooms[0], qr_data=stranger.qr, direction="out")
    assert r.status_code == 403 and r.json["reason"] == "not_in_event"
    assert _directions(app) == [("out", "denied", "not_in_event")]


@pytest.mark.parametrize("bad", ["sideways", "IN", "", 1, True, ["in"], {"in": 1}])
def test_a_bad_direction_is_a_400_naming_it_and_logs_nothing(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions, bad: Any
) -> None:
    world = make.world()
    p = world.members["participant"]
    r = _post(client, auth, world, world.rooms[0], qr_data=p.qr, direction=bad)
    assert r.status_code == 400, r.json
    assert r.json["fields"] == {"direction": "must be in or out"}, r.json
    assert _directions(app) == []


def test_an_exit_checks_no_one_in_and_is_no_attendance(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    p = world.members["participant"]
    g = world.members[GESTIONNAIRE]
    assert (
        _post(client, auth, world, world.rooms[0], qr_data=p.qr, direction="out").status_code == 200
    )
    badge = auth.login(p.email).json["current_event"]["badge"]
    assert badge["is_checked_in"] is False
    attendance = client.get(
        f"/api/rooms/{world.rooms[0]}/attendance/", headers=auth.headers(g)
    ).json
    assert attendance["count"] == 0
    assert verify(client, auth, world.members[CONTROLLER], world.rooms[0], p.qr).status_code == 200
    assert auth.login(p.email).json["current_event"]["badge"]["is_checked_in"] is True


def test_uploaded_scans_carry_their_direction(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    p = make.member(world.event_id, "participant", allowed_rooms=[world.rooms[1]])
    kiosk = door_kiosk(client, auth, world)  # at rooms[0], where p may not enter
    out = scan(p.qr, direction="out")
    entry = scan(p.qr, status="denied", reason="room_not_allowed")  # no direction: in
    r = push(client, kiosk, [out, entry])
    assert r.status_code == 200, r.json
    with app.app_context():
        rows = {str(row.client_id): row for row in db.session.scalars(select(RoomAccess)).all()}
        assert rows[out["client_id"]].direction == "out"
        # the server judged the exit as an exit: no discrepancy
        assert rows[out["client_id"]].server_status == "granted"
        assert rows[entry["client_id"]].direction == "in"
        assert rows[entry["client_id"]].server_reason == "room_not_allowed"


@pytest.mark.parametrize("bad", ["sideways", None, 0])
def test_an_upload_with_a_bad_direction_is_refused_whole(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions, bad: Any
) -> None:
    world = make.world()
    kiosk = door_kiosk(client, auth, world)
    p = world.members["participant"]
    r = push(client, kiosk, [scan(p.qr), scan(p.qr, direction=bad)])
    assert r.status_code == 400, r.json
    assert "scans[1].direction" in r.json["fields"], r.json
    assert _directions(app) == []


def test_a_booth_visit_has_no_exit(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    kiosk = booth_kiosk(client, auth, world)
    visit = {**scan(world.members["participant"].qr, direction="out"), "kind": "booth_visit"}
    r = push(client, kiosk, [visit])
    assert r.status_code == 400 and "scans[0].direction" in r.json["fields"], r.json
