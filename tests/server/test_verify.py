"""POST /api/rooms/{id}/verify_access/: every reason, the log row, the query count."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from server.extensions import db
from server.models import Participant, RoomAccess, User, UserEventAssignment
from tests.conftest import AuthActions, Factory, Member, World

GRANTED, DENIED = "granted", "denied"


def verify(
    client: FlaskClient,
    auth: AuthActions,
    scanner: Member,
    room: uuid.UUID,
    qr: Any,
    session: uuid.UUID | str | None = None,
) -> Any:
    body: dict[str, Any] = {"qr_data": qr}
    if session is not None:
        body["session"] = str(session)
    return client.post(
        f"/api/rooms/{room}/verify_access/", json=body, headers=auth.headers(scanner)
    )


def access_rows(app: Flask) -> list[RoomAccess]:
    with app.app_context():
        rows = db.session.scalars(select(RoomAccess).order_by(RoomAccess.access_time)).all()
        db.session.expunge_all()
        return list(rows)


@pytest.fixture
def world(make: Factory) -> World:
    return make.world()


@pytest.fixture
def controller(world: World) -> Member:
    return world.members["controlleur_des_badges"]


def test_granted_participant_matches_seed_shape(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    p = world.members["participant"]
    r = verify(client, auth, controller, world.rooms[0], p.qr, world.free_session)
    assert r.status_code == 200
    body = r.json
    assert body["status"] == GRANTED and body["reason"] == "granted"
    assert body["message"] == "Access granted successfully"
    assert body["participant"]["id"] == str(p.participant_id)
    assert body["participant"]["badge_id"] == p.badge_id
    assert body["participant"]["email"] == p.email
    assert body["access"]["room_name"] == "Room 0"
    assert body["access"]["accessed_at"].endswith("Z")
    (row,) = access_rows(app)
    assert str(row.id) == body["access"]["id"]
    assert (row.status, row.reason) == (GRANTED, "granted")
    assert row.participant_id == p.participant_id
    assert row.session_id == world.free_session
    assert row.verified_by_id == controller.user_id
    assert row.user_id == p.user_id and row.badge_id == p.badge_id


def test_qr_data_may_be_the_decoded_object(
    client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    p = world.members["participant"]
    r = verify(client, auth, controller, world.rooms[0], json.loads(p.qr))
    assert r.status_code == 200, r.json


@pytest.mark.parametrize(
    "qr",
    [
        "not json",
        "",
        "{}",
        '{"user_id": 1}',
        "PARTICIPANT:abc:TECH2025-001",
        "https://example.com/badge/15",
        '{"user_id": 1, "badge_id": "USER-2-AAAAAAAA"}',
        "{" * 5000,
        "\x00\x01\x02",
        12345,
        ["a"],
    ],
)
def test_invalid_qr_is_400_and_logged(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, controller: Member, qr: Any
) -> None:
    r = verify(client, auth, controller, world.rooms[0], qr)
    assert r.status_code == 400
    assert r.json["reason"] == "invalid_badge" and r.json["status"] == DENIED
    (row,) = access_rows(app)
    assert row.reason == "invalid_badge" and row.user_id is None


def test_unknown_user_is_not_in_event(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    r = verify(
        client,
        auth,
        controller,
        world.rooms[0],
        '{"user_id": 999999, "badge_id": "USER-999999-AAAAAAAA"}',
    )
    assert r.status_code == 403 and r.json["reason"] == "not_in_event"
    (row,) = access_rows(app)
    assert row.user_id == 999999 and row.reason == "not_in_event"


def test_never_issued_badge_404(
    client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    p = world.members["participant"]
    forged = json.dumps({"user_id": p.user_id, "badge_id": f"USER-{p.user_id}-ZZZZZZZZ"})
    r = verify(client, auth, controller, world.rooms[0], forged)
    assert r.status_code == 404 and r.json["reason"] == "unknown_badge"


def test_not_in_event_403_with_user_block(
    make: Factory, client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    other = make.world()  # a participant of another event
    stranger = other.members["participant"]
    r = verify(client, auth, controller, world.rooms[0], stranger.qr)
    assert r.status_code == 403
    assert r.json["reason"] == "not_in_event"
    assert r.json["message"] == "User does not have access to this event"
    # who the stranger is in their own event is not this event's business
    assert "user" not in r.json and stranger.email not in r.text


def test_inactive_assignment_is_not_in_event(
    make: Factory, client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    m = make.member(world.event_id, "participant", active=False)
    r = verify(client, auth, controller, world.rooms[0], m.qr)
    assert r.status_code == 403 and r.json["reason"] == "not_in_event"


def test_disabled_account_403(
    make: Factory, client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    m = make.member(world.event_id, "participant", user=make.user(active=False))
    r = verify(client, auth, controller, world.rooms[0], m.qr)
    assert r.status_code == 403 and r.json["reason"] == "account_disabled"


def test_participant_without_record_404(
    make: Factory, client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    m = make.member(world.event_id, "participant", participant=False)
    r = verify(client, auth, controller, world.rooms[0], m.qr)
    assert r.status_code == 404 and r.json["reason"] == "participant_not_found"


def test_room_not_allowed_403(
    make: Factory, client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    m = make.member(world.event_id, "participant", allowed_rooms=[world.rooms[0]])
    assert verify(client, auth, controller, world.rooms[0], m.qr).status_code == 200
    r = verify(client, auth, controller, world.rooms[2], m.qr)
    assert r.status_code == 403 and r.json["reason"] == "room_not_allowed"
    assert r.json["participant"]["id"] == str(m.participant_id)


@pytest.mark.parametrize(
    ("payment", "has_access", "expected"),
    [
        (None, None, 402),
        ("pending", False, 402),
        ("refunded", False, 402),
        ("paid", False, 402),
        ("paid", True, 200),
    ],
)
def test_paid_session(
    make: Factory,
    client: FlaskClient,
    auth: AuthActions,
    world: World,
    controller: Member,
    payment: str | None,
    has_access: bool | None,
    expected: int,
) -> None:
    m = make.member(world.event_id, "participant")
    assert m.participant_id is not None
    if payment is not None:
        make.session_access(
            m.participant_id, world.paid_session, status=payment, has_access=has_access
        )
    r = verify(client, auth, controller, world.rooms[1], m.qr, world.paid_session)
    assert r.status_code == expected
    if expected == 402:
        assert r.json["reason"] == "payment_required"
        assert r.json["message"] == "Payment required for this atelier"
        assert r.json["session"] == {
            "id": str(world.paid_session),
            "title": "Atelier payant",
            "price": "5000.00",
        }
        assert r.json["participant"]["badge_id"] == m.badge_id


def test_staff_pass_paid_session(
    client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    gestionnaire = world.members["gestionnaire_des_salles"]
    r = verify(client, auth, controller, world.rooms[1], gestionnaire.qr, world.paid_session)
    assert r.status_code == 200 and r.json["role"] == "gestionnaire_des_salles"


def test_session_errors(
    make: Factory,
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    world: World,
    controller: Member,
) -> None:
    p = world.members["participant"]
    r = verify(client, auth, controller, world.rooms[0], p.qr, uuid.uuid4())
    assert r.status_code == 404 and r.json["reason"] == "session_not_found"
    other = make.world()
    r = verify(client, auth, controller, world.rooms[0], p.qr, other.free_session)
    assert r.status_code == 404 and r.json["reason"] == "session_not_found"
    r = verify(client, auth, controller, world.rooms[0], p.qr, world.paid_session)
    assert r.status_code == 400 and r.json["reason"] == "session_not_in_room"
    assert [row.reason for row in access_rows(app)] == [
        "session_not_found",
        "session_not_found",
        "session_not_in_room",
    ]


def test_revoked_badge_after_reissue(
    client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    p = world.members["participant"]
    gestionnaire = world.members["gestionnaire_des_salles"]
    r = client.post(
        "/api/qr/generate/",
        json={"user_id": p.user_id, "reissue": True},
        headers=auth.headers(gestionnaire),
    )
    assert r.status_code == 201
    new_qr = r.json["qr_code_data"]
    assert json.loads(new_qr)["badge_id"] != p.badge_id
    old = verify(client, auth, controller, world.rooms[0], p.qr)
    assert old.status_code == 403 and old.json["reason"] == "revoked_badge"
    assert verify(client, auth, controller, world.rooms[0], new_qr).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "qr_data"),
        ({"qr_data": None}, "qr_data"),
        ({"qr_data": "x", "session": "not-a-uuid"}, "session"),
        ({"qr_data": "x", "session": 12}, "session"),
    ],
)
def test_bad_request_names_field_and_writes_nothing(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    world: World,
    controller: Member,
    body: dict[str, Any],
    field: str,
) -> None:
    r = client.post(
        f"/api/rooms/{world.rooms[0]}/verify_access/", json=body, headers=auth.headers(controller)
    )
    assert r.status_code == 400
    assert field in r.json["fields"]
    assert access_rows(app) == []


def test_non_json_body_is_4xx_json(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    r = client.post(
        f"/api/rooms/{world.rooms[0]}/verify_access/",
        data=b"\xff\xfe garbage",
        headers={**auth.headers(controller), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "error" in r.json
    assert access_rows(app) == []


def test_unknown_room_404(
    client: FlaskClient, auth: AuthActions, world: World, controller: Member
) -> None:
    r = verify(client, auth, controller, uuid.uuid4(), world.members["participant"].qr)
    assert r.status_code == 404 and "error" in r.json


@contextmanager
def count_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _add_participants(app: Flask, event_id: uuid.UUID, n: int) -> None:
    with app.app_context():
        start = db.session.scalar(select(func.coalesce(func.max(User.id), 0))) or 0
        users = [
            User(
                id=start + i + 1,
                username=f"bulk{start + i}",
                email=f"bulk{start + i}@x.org",
                password_hash="x",
            )
            for i in range(n)
        ]
        db.session.add_all(users)
        db.session.flush()
        for u in users:
            db.session.add(UserEventAssignment(user_id=u.id, event_id=event_id, role="participant"))
            db.session.add(
                Participant(user_id=u.id, event_id=event_id, badge_number=f"BULK-{u.id}")
            )
        db.session.commit()


def test_query_count_is_fixed_whatever_the_event_size(
    app: Flask,
    make: Factory,
    client: FlaskClient,
    auth: AuthActions,
    world: World,
    controller: Member,
) -> None:
    """A paid-session scan (the longest path) costs the same few queries at any size."""
    m = make.member(world.event_id, "participant", allowed_rooms=[world.rooms[1]])
    assert m.participant_id is not None
    make.session_access(m.participant_id, world.paid_session)
    headers = auth.headers(controller)
    url = f"/api/rooms/{world.rooms[1]}/verify_access/"
    body = {"qr_data": m.qr, "session": str(world.paid_session)}

    def run() -> int:
        with count_queries(app) as statements:
            r = client.post(url, json=body, headers=headers)
        assert r.status_code == 200, r.json
        return len(statements)

    small = run()
    _add_participants(app, world.event_id, 300)
    large = run()
    assert small == large
    # auth, room, member (with allowed rooms), session, session access, insert
    assert large == 6
