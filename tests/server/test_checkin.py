"""Check-in (``server.access.checkin``): a badge is checked in to an event from
the first scan a door of that event let through, and every answer that shows
the badge says so: login, select-event, my-events, profile, badge generation."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert

from server.extensions import db
from server.models import RoomAccess
from shared.timefmt import iso, parse_iso, utcnow
from tests.conftest import AuthActions, Factory, Member, World
from tests.server.test_verify import verify

CONTROLLER = "controlleur_des_badges"
GESTIONNAIRE = "gestionnaire_des_salles"


def _login_badge(auth: AuthActions, m: Member) -> dict[str, Any]:
    r = auth.login(m.email)
    assert r.status_code == 200, r.json
    return r.json["current_event"]["badge"]


def _profile_badge(client: FlaskClient, auth: AuthActions, m: Member) -> dict[str, Any]:
    r = client.get("/api/auth/profile/", headers=auth.headers(m))
    assert r.status_code == 200, r.json
    return r.json["badge"]


def _generated(client: FlaskClient, auth: AuthActions, g: Member, m: Member) -> dict[str, Any]:
    r = client.post("/api/qr/generate/", json={"user_id": m.user_id}, headers=auth.headers(g))
    assert r.status_code == 200, r.json
    return r.json


def _log_scan(app: Flask, world: World, m: Member, status: str, at: Any, **extra: Any) -> None:
    """A scan row as an uploaded offline scan writes it."""
    with app.app_context():
        db.session.execute(
            insert(RoomAccess.__table__),
            {
                "id": uuid.uuid4(),
                "event_id": world.event_id,
                "room_id": world.rooms[0],
                "participant_id": m.participant_id,
                "user_id": m.user_id,
                "badge_id": m.badge_id,
                "status": status,
                "reason": "granted" if status == "granted" else "room_not_allowed",
                "access_time": at,
                "decided_offline": True,
                **extra,
            },
        )
        db.session.commit()


def test_a_badge_is_checked_in_by_its_first_granted_scan(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    controller, g = world.members[CONTROLLER], world.members[GESTIONNAIRE]
    p = make.member(world.event_id, "participant", allowed_rooms=[world.rooms[0]])

    assert _login_badge(auth, p) == {
        "badge_id": p.badge_id,
        "qr_code_data": p.qr,
        "is_checked_in": False,
        "checked_in_at": None,
    }
    assert _profile_badge(client, auth, p)["is_checked_in"] is False
    assert _generated(client, auth, g, p)["is_checked_in"] is False

    # a door that turns the badge away checks no one in
    denied = verify(client, auth, controller, world.rooms[1], p.qr)
    assert denied.status_code == 403 and denied.json["reason"] == "room_not_allowed"
    assert _login_badge(auth, p)["is_checked_in"] is False

    first = verify(client, auth, controller, world.rooms[0], p.qr)
    assert first.status_code == 200, first.json
    at = first.json["access"]["accessed_at"]
    again = verify(client, auth, controller, world.rooms[0], p.qr)
    assert again.status_code == 200

    badge = _login_badge(auth, p)
    assert badge["is_checked_in"] is True and badge["checked_in_at"] == at
    assert _profile_badge(client, auth, p)["checked_in_at"] == at
    generated = _generated(client, auth, g, p)
    assert generated["is_checked_in"] is True and generated["checked_in_at"] == at


def test_an_offline_scan_synced_later_moves_the_check_in_earlier(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    p = world.members["participant"]
    verify(client, auth, world.members[CONTROLLER], world.rooms[0], p.qr)
    online = parse_iso(_login_badge(auth, p)["checked_in_at"])
    earlier = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    # the door let them in offline; the server judged otherwise on upload: they
    # still came, and the discrepancy is reported elsewhere
    _log_scan(app, world, p, "granted", earlier, server_status="denied")
    _log_scan(app, world, p, "denied", earlier - timedelta(hours=1))
    badge = _login_badge(auth, p)
    assert badge["checked_in_at"] == iso(earlier) and parse_iso(badge["checked_in_at"]) < online


def test_check_in_is_per_event(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    """One user in two events, let in at one: my-events and the login's event
    choice show the check-in at that event only; a token of the other says no."""
    here, there = make.world(), make.world()
    user = make.user()
    a = make.member(here.event_id, "participant", user=user)
    b = make.member(there.event_id, "exposant", user=user)
    assert verify(client, auth, here.members[CONTROLLER], here.rooms[0], a.qr).status_code == 200

    r = auth.login(a.email)
    assert r.status_code == 200 and r.json["requires_event_selection"] is True
    shown = {e["id"]: e["badge"]["is_checked_in"] for e in r.json["available_events"]}
    assert shown == {str(here.event_id): True, str(there.event_id): False}

    mine = client.get("/api/auth/my-events/", headers=auth.headers(b))
    assert mine.status_code == 200
    shown = {e["id"]: e["badge"]["is_checked_in"] for e in mine.json["results"]}
    assert shown == {str(here.event_id): True, str(there.event_id): False}
    assert _profile_badge(client, auth, b)["is_checked_in"] is False
    assert _profile_badge(client, auth, a)["is_checked_in"] is True
    # a scan of another event's door never checks anyone in here
    assert _generated(client, auth, there.members[GESTIONNAIRE], b)["is_checked_in"] is False
