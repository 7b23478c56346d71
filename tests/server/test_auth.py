"""Authentication endpoints (seed: login scenarios 1 and 2, select-event, tokens, profile)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash

from server.auth import tokens
from server.extensions import db
from server.models import Event, User, UserEventAssignment
from shared.timefmt import utcnow
from tests.conftest import TEST_PASSWORD, signed_badge_fields

ME = "/api/auth/me/"
ROOMS = "/api/rooms/"
REFRESH = "/api/token/refresh/"
NEW_PASSWORD = "battery staple 42"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(app, token: str) -> dict[str, Any]:
    return jwt.decode(token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"])


def assert_error(resp, status: int, field: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert isinstance(body, dict)
    assert isinstance(body.get("error"), str) and body["error"]
    assert isinstance(body.get("code"), str) and body["code"]
    if field is not None:
        assert field in body.get("fields", {}), body
    return body


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def qr_json(user_id: int, badge_id: str) -> dict[str, Any]:
    return {"user_id": user_id, "badge_id": badge_id}


def assert_badge(badge: dict[str, Any], user_id: int, badge_id: str) -> None:
    assert badge["badge_id"] == badge_id
    assert isinstance(badge["qr_code_data"], str)
    assert signed_badge_fields(badge["qr_code_data"]) == qr_json(user_id, badge_id)
    assert badge["is_checked_in"] is False


# ---------------------------------------------------------------------------
# register


def register_body(**over: Any) -> dict[str, Any]:
    body = {
        "username": "ahmed.benali",
        "email": "ahmed@example.com",
        "password": "password123",
        "first_name": "Ahmed",
        "last_name": "Benali",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not ...}


def test_register_creates_user_with_hashed_password(app, client):
    resp = client.post("/api/auth/register/", json=register_body())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert isinstance(body["id"], int) and not isinstance(body["id"], bool)
    assert {k: body[k] for k in ("username", "email", "first_name", "last_name")} == {
        "username": "ahmed.benali",
        "email": "ahmed@example.com",
        "first_name": "Ahmed",
        "last_name": "Benali",
    }
    assert "password" not in body and "password_hash" not in body
    with app.app_context():
        user = db.session.get(User, body["id"])
        assert user is not None
        assert "password123" not in user.password_hash
        assert check_password_hash(user.password_hash, "password123")
    login = client.post(
        "/api/auth/login/", json={"email": "ahmed@example.com", "password": "password123"}
    )
    assert login.status_code == 200
    assert login.get_json()["user"]["id"] == body["id"]


DUPLICATES = [
    ({"username": "someone.else"}, "email"),
    ({"username": "someone.else", "email": "AHMED@Example.com"}, "email"),
    ({"email": "other@example.com"}, "username"),
    ({"email": "other@example.com", "username": "Ahmed.Benali"}, "username"),
    ({"email": "other@example.com", "username": "  ahmed.benali "}, "username"),
]


def test_a_username_differing_only_in_case_cannot_be_committed_twice(app):
    """The check before the insert can race (two registrations at once); the
    database itself refuses the second account."""
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        db.session.add(User(username="Ahmed.Benali", email="a@example.com", password_hash="x"))
        db.session.commit()
        db.session.add(User(username="ahmed.BENALI", email="b@example.com", password_hash="x"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_register_racing_on_a_username_in_another_case_is_a_clean_refusal(app, client, monkeypatch):
    """The other request committed between this one's check and its insert."""
    import server.auth.api as auth_api

    assert client.post("/api/auth/register/", json=register_body()).status_code == 201
    checks = iter([None])  # the first check misses the other row, as in a race

    real = auth_api._check_unique

    def racing(*args: Any, **kwargs: Any) -> None:
        if next(checks, "real") == "real":
            real(*args, **kwargs)

    monkeypatch.setattr(auth_api, "_check_unique", racing)
    resp = client.post(
        "/api/auth/register/",
        json=register_body(email="other@example.com", username="AHMED.benali"),
    )
    assert_error(resp, 400, "username")
    assert user_count(app) == 1


def test_register_duplicate_is_refused(app, client, subtests):
    assert client.post("/api/auth/register/", json=register_body()).status_code == 201
    for over, field in DUPLICATES:
        with subtests.test(over=over):
            resp = client.post("/api/auth/register/", json=register_body(**over))
            assert_error(resp, 400, field)
            assert user_count(app) == 1


INVALID_REGISTRATIONS = [
    ({"username": ...}, "username"),
    ({"username": None}, "username"),
    ({"username": "   "}, "username"),
    ({"username": 123}, "username"),
    ({"username": "u" * 151}, "username"),
    ({"username": "nul\x00byte"}, "username"),
    ({"email": ...}, "email"),
    ({"email": ""}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": ["a@example.com"]}, "email"),
    ({"password": ...}, "password"),
    ({"password": ""}, "password"),
    ({"password": "short"}, "password"),
    ({"password": 12345678}, "password"),
    ({"password": "x" * 500}, "password"),
    ({"first_name": 5}, "first_name"),
]


def test_register_invalid_field(app, client, subtests):
    for over, field in INVALID_REGISTRATIONS:
        with subtests.test(over=repr(over)[:60]):
            resp = client.post("/api/auth/register/", json=register_body(**over))
            assert_error(resp, 400, field)
            assert user_count(app) == 0


NON_JSON = {
    "form": {"data": {"username": "a", "email": "a@example.com", "password": "password123"}},
    "malformed-json": {"data": "{not json", "content_type": "application/json"},
    "json-array": {"json": ["username", "email"]},
    "empty": {},
}


def test_register_non_json_body(app, client, subtests):
    for case, kwargs in NON_JSON.items():
        with subtests.test(case=case):
            resp = client.post("/api/auth/register/", **kwargs)
            assert 400 <= resp.status_code < 500
            assert_error(resp, resp.status_code)
            assert user_count(app) == 0


# ---------------------------------------------------------------------------
# login


def test_login_single_event(app, client, auth, make):
    event_id = make.event("StartupWeek Oran")
    m = make.member(event_id, "participant")
    resp = auth.login(m.email.upper())  # email is case-insensitive
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["requires_event_selection"] is False
    assert body["user"]["id"] == m.user_id and body["user"]["email"] == m.email
    current = body["current_event"]
    assert current["id"] == str(event_id)
    assert current["name"] == "StartupWeek Oran"
    assert current["role"] == "participant"
    assert current["status"] == "ongoing"
    assert current["location"] == "Alger"
    for key in ("start_date", "end_date"):
        assert current[key].endswith("Z")
    assert current["start_date"] < current["end_date"]
    assert_badge(current["badge"], m.user_id, m.badge_id)
    assert current["badge"]["qr_code_data"] == m.qr

    access = claims_of(app, body["access"])
    assert access["sub"] == str(m.user_id)
    assert access["event_id"] == str(event_id)
    assert access["role"] == "participant"
    assert access["type"] == "access"
    assert access["jti"] and access["exp"] > time.time()
    refresh = claims_of(app, body["refresh"])
    assert refresh["type"] == "refresh" and refresh["jti"] != access["jti"]
    assert client.get(ROOMS, headers=bearer(body["access"])).status_code == 200


def test_login_ignores_inactive_assignments_and_events(app, auth, make):
    live, dropped, closed = make.event(), make.event(), make.event()
    user = make.user()
    m = make.member(live, "participant", user=user)
    make.member(dropped, "exposant", user=user, active=False)
    make.member(closed, "exposant", user=user)
    with app.app_context():
        db.session.get(Event, closed).is_active = False
        db.session.commit()
    body = auth.login(m.email).get_json()
    assert body["requires_event_selection"] is False
    assert body["current_event"]["id"] == str(live)


@pytest.fixture
def multi(make):
    """A user who is participant in A, exposant in B, controller in C (in date order)."""
    events = [make.event(f"Event {c}", days=d) for c, d in (("A", 0), ("B", 10), ("C", 20))]
    user = make.user()
    first = make.member(events[0], "participant", user=user)
    make.member(events[1], "exposant", user=user)
    make.member(events[2], "controlleur_des_badges", user=user)
    return first, events


def test_login_multi_event_requires_selection(app, client, auth, make, multi):
    m, (a, b, c) = multi
    other = make.event("Not mine")
    body = auth.login(m.email).get_json()
    assert body["requires_event_selection"] is True
    assert "access" not in body and "refresh" not in body
    assert body["user"]["id"] == m.user_id
    events = body["available_events"]
    assert [(e["id"], e["role"]) for e in events] == [
        (str(a), "participant"),
        (str(b), "exposant"),
        (str(c), "controlleur_des_badges"),
    ]
    assert [e["status"] for e in events] == ["ongoing", "upcoming", "upcoming"]
    for e in events[:2]:
        assert_badge(e["badge"], m.user_id, m.badge_id)
    assert events[0]["badge"] == events[1]["badge"]
    assert events[2]["badge"] is None
    temp = body["temp_token"]
    temp_claims = claims_of(app, temp)
    assert temp_claims["type"] == "temp" and temp_claims["event_id"] is None

    # the temp token is no access token
    assert_error(client.get(ROOMS, headers=bearer(temp)), 401)
    assert_error(client.get(ME, headers=bearer(temp)), 401)
    assert_error(client.post(REFRESH, json={"refresh": temp}), 401)

    refused = client.post(
        "/api/auth/select-event/", json={"event_id": str(other)}, headers=bearer(temp)
    )
    assert_error(refused, 403)
    assert_error(
        client.post("/api/auth/select-event/", json={"event_id": "nope"}, headers=bearer(temp)),
        400,
        "event_id",
    )

    resp = client.post("/api/auth/select-event/", json={"event_id": str(b)}, headers=bearer(temp))
    assert resp.status_code == 200, resp.get_json()
    chosen = resp.get_json()
    current = chosen["current_event"]
    assert current["id"] == str(b) and current["role"] == "exposant"
    assert current["permissions"] == ["view_sessions", "scan_visitors", "export_visits"]
    assert_badge(current["badge"], m.user_id, m.badge_id)
    assert current["badge"]["checked_in_at"] is None
    assert chosen["user"]["id"] == m.user_id
    access = claims_of(app, chosen["access"])
    assert access["event_id"] == str(b) and access["role"] == "exposant"
    assert claims_of(app, chosen["refresh"])["type"] == "refresh"
    assert client.get(ROOMS, headers=bearer(chosen["access"])).status_code == 200


def test_login_with_event_id_picks_it(app, auth, make, multi, subtests):
    m, events = multi
    for index, role in ((0, "participant"), (2, "controlleur_des_badges")):
        with subtests.test(role=role):
            resp = auth.login(m.email, event_id=str(events[index]))
            assert resp.status_code == 200, resp.get_json()
            body = resp.get_json()
            assert body["requires_event_selection"] is False
            assert body["current_event"]["id"] == str(events[index])
            assert body["current_event"]["role"] == role
            assert (body["current_event"]["badge"] is None) == (role == "controlleur_des_badges")
            assert claims_of(app, body["access"])["event_id"] == str(events[index])
    for value, status in ((str(make.event()), 403), ("not-a-uuid", 400), (12, 400)):
        with subtests.test(event_id=value):
            body = assert_error(auth.login(m.email, event_id=value), status)
            assert "access" not in body


def test_login_without_events(app, client, auth, make):
    user = make.user()
    body = auth.login(user.email).get_json()
    assert body["requires_event_selection"] is False
    assert body["current_event"] is None
    assert body["user"]["id"] == user.id
    assert signed_badge_fields(body["badge"]["qr_code_data"]) == qr_json(
        user.id, body["badge"]["badge_id"]
    )
    access = claims_of(app, body["access"])
    assert access["event_id"] is None and access["role"] is None
    resp = client.get(ROOMS, headers=bearer(body["access"]))
    assert (
        assert_error(resp, 400)["error"] == "No event context found. Please select an event first."
    )
    assert client.get(ME, headers=bearer(body["access"])).status_code == 200


def test_login_failures_look_alike(auth, make, subtests):
    active, inactive = make.user(), make.user(active=False)
    cases = {
        "wrong-password": (active.email, "wrong password"),
        "unknown-email": ("nobody@example.com", TEST_PASSWORD),
        "inactive-user": (inactive.email, TEST_PASSWORD),
    }
    for case, (email, password) in cases.items():
        with subtests.test(case=case):
            body = assert_error(auth.login(email, password), 401)
            assert body == {"error": "Invalid email or password", "code": "invalid_credentials"}


BAD_LOGINS = [
    ({"password": TEST_PASSWORD}, "email"),
    ({"email": "x@example.com"}, "password"),
    ({"email": 7, "password": TEST_PASSWORD}, "email"),
    ({"email": "x@example.com", "password": None}, "password"),
    ({"email": "x@example.com", "password": ["a"]}, "password"),
]


@pytest.fixture
def hash_checks(app, monkeypatch) -> list[str]:
    """The password hashes computed from now on (checks, and hashes made)."""
    import werkzeug.security

    from server.auth.api import _dummy_hash

    with app.app_context():
        _dummy_hash()  # made once per app, before counting
    seen: list[str] = []
    real = werkzeug.security._hash_internal

    def counting(method: str, salt: str, password: str) -> tuple[str, str]:
        seen.append(method)
        return real(method, salt, password)

    monkeypatch.setattr(werkzeug.security, "_hash_internal", counting)
    return seen


def test_every_refused_login_checks_one_hash(app, client, make, hash_checks, subtests):
    """Unknown, inactive or wrong: one hash check each (the time tells nothing)."""
    world = make.world()
    ctrl = world.members["controlleur_des_badges"]
    gone = make.member(world.event_id, "controlleur_des_badges", user=make.user(active=False))
    room = str(world.rooms[0])
    cases = {
        "unknown email": {"email": "nobody@example.com", "password": TEST_PASSWORD},
        "wrong password": {"email": ctrl.email, "password": "wrong"},
        "inactive account": {"email": gone.email, "password": TEST_PASSWORD},
    }
    for url in ("/api/auth/login/", "/api/kiosks/provision/"):
        for name, body in cases.items():
            with subtests.test(url=url, case=name):
                hash_checks.clear()
                resp = client.post(url, json={**body, "room_id": room})
                assert_error(resp, 401)
                assert len(hash_checks) == 1, hash_checks


def test_login_missing_fields(client, subtests):
    for body, field in BAD_LOGINS:
        with subtests.test(body=body):
            assert_error(client.post("/api/auth/login/", json=body), 400, field)
    assert_error(client.post("/api/auth/login/", data="email=x"), 415)


def test_an_ended_event_is_finished_in_the_login_as_in_the_events_api(client, auth, make):
    """The login, my-events and the events API say one word for an ended event:
    ``finished`` (``Event.status``), not a word of their own."""
    ended, running = make.event("Ended", days=-5), make.event("Running")
    user = make.user()
    m = make.member(ended, "participant", user=user)
    make.member(running, "participant", user=user)
    body = auth.login(m.email).get_json()
    statuses = {e["id"]: e["status"] for e in body["available_events"]}
    assert statuses == {str(ended): "finished", str(running): "ongoing"}
    chosen = auth.login(m.email, event_id=str(ended)).get_json()
    assert chosen["current_event"]["status"] == "finished"
    headers = bearer(chosen["access"])
    mine = client.get("/api/auth/my-events/", headers=headers).get_json()
    assert [e["status"] for e in mine["results"]] == ["finished", "ongoing"]
    event = client.get(f"/api/events/{ended}/", headers=headers).get_json()
    assert event["status"] == "finished"


# ---------------------------------------------------------------------------
# switch-event, my-events


def test_switch_event_and_my_events(app, client, auth, make, multi):
    m, (a, b, c) = multi
    first = auth.login(m.email, event_id=str(a)).get_json()
    headers = bearer(first["access"])

    mine = client.get("/api/auth/my-events/", headers=headers).get_json()
    assert mine["count"] == 3
    assert mine["current_event_id"] == str(a)
    assert [e["id"] for e in mine["results"]] == [str(a), str(b), str(c)]
    assert [e["badge"] and e["badge"]["badge_id"] for e in mine["results"]] == [
        m.badge_id,
        m.badge_id,
        None,
    ]

    resp = client.post("/api/auth/switch-event/", json={"event_id": str(c)}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    switched = resp.get_json()
    assert switched["current_event"]["role"] == "controlleur_des_badges"
    assert switched["current_event"]["permissions"] == ["verify_qr", "view_room_statistics"]
    access = claims_of(app, switched["access"])
    assert (access["event_id"], access["role"]) == (str(c), "controlleur_des_badges")
    me = client.get(ME, headers=bearer(switched["access"])).get_json()
    assert (me["current_event_id"], me["role"]) == (str(c), "controlleur_des_badges")

    other = make.event()
    assert_error(
        client.post("/api/auth/switch-event/", json={"event_id": str(other)}, headers=headers), 403
    )
    assert_error(client.post("/api/auth/switch-event/", json={}, headers=headers), 400, "event_id")
    temp = auth.login(m.email).get_json()["temp_token"]
    assert_error(
        client.post("/api/auth/switch-event/", json={"event_id": str(b)}, headers=bearer(temp)),
        401,
    )


# ---------------------------------------------------------------------------
# profile


@pytest.fixture
def member(make):
    return make.member(make.event(), "participant")


@pytest.fixture
def headers(auth, member):
    return auth.headers(member)


def test_profile_get_on_both_paths(client, member, headers):
    me = client.get(ME, headers=headers)
    profile = client.get("/api/auth/profile/", headers=headers)
    assert me.status_code == profile.status_code == 200
    assert me.get_json() == profile.get_json()
    body = me.get_json()
    assert body["id"] == member.user_id and body["email"] == member.email
    assert body["current_event_id"] == str(member.event_id)
    assert body["role"] == "participant"
    assert body["is_active"] is True
    assert_badge(body["badge"], member.user_id, member.badge_id)
    assert "password" not in body and "password_hash" not in body


def test_profile_put_replaces(client, headers):
    for n, path in enumerate((ME, "/api/auth/profile/")):
        new = {
            "username": f"new.name{n}",
            "email": f"New{n}@Example.com",
            "first_name": f"N{n}",
            "last_name": "M",
        }
        resp = client.put(path, json=new, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        body = client.get(ME, headers=headers).get_json()
        assert resp.get_json() == body
        got = (body["username"], body["email"], body["first_name"], body["last_name"])
        assert got == (f"new.name{n}", f"new{n}@example.com", f"N{n}", "M")


def test_profile_put_requires_all_fields(client, member, headers, subtests):
    for missing in ("username", "email"):
        with subtests.test(missing=missing):
            new = {"username": "new.name", "email": "new@example.com", "first_name": "N"}
            del new[missing]
            assert_error(client.put(ME, json=new, headers=headers), 400, missing)
            assert client.get(ME, headers=headers).get_json()["email"] == member.email


def test_profile_patch_is_partial(client, member, headers):
    before = client.get(ME, headers=headers).get_json()
    resp = client.patch(ME, json={"first_name": "Karim"}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    after = client.get(ME, headers=headers).get_json()
    assert after == {**before, "first_name": "Karim"}


PROFILE_REFUSALS = [
    ("patch", {"email": "TAKEN@example.com"}, "email"),
    ("patch", {"username": "taken"}, "username"),
    ("patch", {"username": "Taken"}, "username"),
    ("put", {"username": "fresh", "email": "taken@example.com"}, "email"),
    ("patch", {"password": "whatever123"}, "password"),
    ("patch", {"id": 999}, "id"),
    ("patch", {"is_staff": True}, "is_staff"),
    ("put", {"username": "fresh", "email": "fresh@example.com", "is_active": False}, "is_active"),
    ("patch", {"email": "bad"}, "email"),
    ("patch", {"username": ""}, "username"),
    ("patch", {"first_name": 3}, "first_name"),
]


def test_profile_update_refused(client, make, member, headers, subtests):
    make.user("taken@example.com")
    before = client.get(ME, headers=headers).get_json()
    for method, body, field in PROFILE_REFUSALS:
        with subtests.test(method=method, body=body):
            assert_error(getattr(client, method)(ME, json=body, headers=headers), 400, field)
            assert client.get(ME, headers=headers).get_json() == before


PASSWORD_REFUSALS = [
    ("wrong password", NEW_PASSWORD, "old_password"),
    (TEST_PASSWORD, "short", "new_password"),
    (TEST_PASSWORD, TEST_PASSWORD, "new_password"),
    (None, NEW_PASSWORD, "old_password"),
    (TEST_PASSWORD, None, "new_password"),
]


def test_change_password_refused(client, auth, member, headers, subtests):
    for old, new, field in PASSWORD_REFUSALS:
        with subtests.test(old=old, new=new):
            pairs = (("old_password", old), ("new_password", new))
            body = {k: v for k, v in pairs if v is not None}
            resp = client.post("/api/auth/change-password/", json=body, headers=headers)
            assert_error(resp, 400, field)
            assert auth.login(member.email).status_code == 200


def test_change_password(client, auth, member, headers):
    body = {"old_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}
    resp = client.post("/api/auth/change-password/", json=body, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    assert_error(auth.login(member.email), 401)
    assert auth.login(member.email, NEW_PASSWORD).status_code == 200


def test_change_password_ends_every_other_session(app, client, auth, make, member, monkeypatch):
    # sessions opened before the change (an earlier second: token times are whole seconds)
    past = utcnow() - timedelta(seconds=5)
    monkeypatch.setattr(tokens, "utcnow", lambda: past)
    phone = auth.login(member.email).get_json()
    laptop = auth.login(member.email).get_json()
    someone = make.member(member.event_id, "participant")
    theirs = auth.login(someone.email).get_json()
    monkeypatch.undo()

    body = {"old_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}
    resp = client.post("/api/auth/change-password/", json=body, headers=bearer(laptop["access"]))
    assert resp.status_code == 200, resp.get_json()
    fresh = resp.get_json()
    for old in (phone, laptop):  # the caller's own tokens too: it got a new pair
        assert_error(client.get(ME, headers=bearer(old["access"])), 401)
        assert_error(client.post(REFRESH, json={"refresh": old["refresh"]}), 401)
    assert client.get(ME, headers=bearer(fresh["access"])).status_code == 200
    assert client.get(ROOMS, headers=bearer(fresh["access"])).status_code == 200  # same event
    assert client.post(REFRESH, json={"refresh": fresh["refresh"]}).status_code == 200
    assert client.get(ME, headers=bearer(theirs["access"])).status_code == 200  # not theirs
    assert auth.login(member.email, NEW_PASSWORD).status_code == 200


def test_change_password_ends_sessions_of_the_same_second(app, client, auth, member, monkeypatch):
    import server.auth.api as auth_api

    second = utcnow().replace(microsecond=0) - timedelta(seconds=2)
    clock = {"now": second + timedelta(milliseconds=100)}
    monkeypatch.setattr(tokens, "utcnow", lambda: clock["now"])
    monkeypatch.setattr(auth_api, "utcnow", lambda: clock["now"])
    before = auth.login(member.email).get_json()
    assert client.get(ME, headers=bearer(before["access"])).status_code == 200
    clock["now"] = second + timedelta(milliseconds=500)  # the change, in the same second
    body = {"old_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}
    resp = client.post("/api/auth/change-password/", json=body, headers=bearer(before["access"]))
    assert resp.status_code == 200, resp.get_json()
    fresh = resp.get_json()
    clock["now"] = second + timedelta(milliseconds=600)
    assert_error(client.get(ME, headers=bearer(before["access"])), 401)
    assert_error(client.post(REFRESH, json={"refresh": before["refresh"]}), 401)
    assert client.get(ME, headers=bearer(fresh["access"])).status_code == 200
    assert client.post(REFRESH, json={"refresh": fresh["refresh"]}).status_code == 200


def test_whole_second_tokens_still_work(app, client, member):
    now = int(time.time())
    key = app.config["JWT_SECRET_KEY"]
    claims = {"sub": str(member.user_id), "event_id": str(member.event_id),
              "role": member.role, "type": "access", "jti": uuid.uuid4().hex,
              "iat": now - 1, "exp": now + 600}  # fmt: skip
    token = jwt.encode(claims, key, algorithm="HS256")
    assert client.get(ME, headers=bearer(token)).status_code == 200


# ---------------------------------------------------------------------------
# refresh and logout


def test_refresh(app, client, auth, member):
    pair = auth.login(member.email).get_json()
    resp = client.post(REFRESH, json={"refresh": pair["refresh"]})
    assert resp.status_code == 200, resp.get_json()
    access = resp.get_json()["access"]
    claims = claims_of(app, access)
    assert claims["type"] == "access" and claims["event_id"] == str(member.event_id)
    assert claims["jti"] != claims_of(app, pair["access"])["jti"]
    assert client.get(ROOMS, headers=bearer(access)).status_code == 200


def test_refresh_refused(app, client, auth, member, subtests):
    pair = auth.login(member.email).get_json()
    now = int(time.time())
    expired = jwt.encode(
        make_claims(member.user_id, type="refresh", iat=now - 7200, exp=now - 3600),
        app.config["JWT_SECRET_KEY"],
        algorithm="HS256",
    )
    cases = {
        "access-as-refresh": ({"refresh": pair["access"]}, 401),
        "expired": ({"refresh": expired}, 401),
        "tampered": ({"refresh": tampered(pair["refresh"])}, 401),
        "garbage": ({"refresh": "garbage"}, 401),
        "three-parts": ({"refresh": "a.b.c"}, 401),
        "missing": ({}, 400),
        "not-a-string": ({"refresh": 12}, 400),
    }
    for case, (body, status) in cases.items():
        with subtests.test(case=case):
            assert_error(client.post(REFRESH, json=body), status)


def test_logout_revokes_both_tokens(client, auth, member):
    pair = auth.login(member.email).get_json()
    other = auth.login(member.email).get_json()  # another session of the same user
    resp = client.post(
        "/api/auth/logout/", json={"refresh": pair["refresh"]}, headers=bearer(pair["access"])
    )
    assert resp.status_code == 200, resp.get_json()
    assert_error(client.post(REFRESH, json={"refresh": pair["refresh"]}), 401)
    assert_error(client.get(ME, headers=bearer(pair["access"])), 401)
    assert_error(client.get(ROOMS, headers=bearer(pair["access"])), 401)
    # the other session is untouched
    assert client.get(ME, headers=bearer(other["access"])).status_code == 200
    assert client.post(REFRESH, json={"refresh": other["refresh"]}).status_code == 200


def test_logout_refused(client, auth, make, member, subtests):
    mine = auth.login(member.email).get_json()
    theirs = auth.login(make.user().email).get_json()
    cases = {
        "someone-else": {"refresh": theirs["refresh"]},
        "own-access": {"refresh": mine["access"]},
        "garbage": {"refresh": "garbage"},
        "missing": {},
    }
    for case, body in cases.items():
        with subtests.test(case=case):
            resp = client.post("/api/auth/logout/", json=body, headers=bearer(mine["access"]))
            assert_error(resp, 400, "refresh")
            assert client.post(REFRESH, json={"refresh": theirs["refresh"]}).status_code == 200
            assert client.post(REFRESH, json={"refresh": mine["refresh"]}).status_code == 200
            assert client.get(ME, headers=bearer(mine["access"])).status_code == 200


# ---------------------------------------------------------------------------
# bad tokens


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_claims(user_id: int, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "event_id": None,
        "role": None,
        "type": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not ...}


def tampered(token: str) -> str:
    header, payload, sig = token.split(".")
    i = len(payload) // 2
    flipped = "B" if payload[i] != "B" else "C"
    return ".".join((header, payload[:i] + flipped + payload[i + 1 :], sig))


def bad_header(app, user_id: int, good: str, case: str) -> dict[str, str]:
    key = app.config["JWT_SECRET_KEY"]
    now = int(time.time())
    if case == "no-header":
        return {}
    if case == "token-scheme":
        return {"Authorization": f"Token {good}"}
    if case == "empty-bearer":
        return {"Authorization": "Bearer "}
    tokens = {
        "tampered": lambda: tampered(good),
        "truncated": lambda: good.rsplit(".", 1)[0],
        "wrong-key": lambda: jwt.encode(make_claims(user_id), "another-key" * 4, algorithm="HS256"),
        "expired": lambda: jwt.encode(
            make_claims(user_id, iat=now - 7200, exp=now - 3600), key, algorithm="HS256"
        ),
        "alg-none": lambda: ".".join(
            (
                b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode()),
                b64url(json.dumps(make_claims(user_id)).encode()),
                "",
            )
        ),
        "hs512": lambda: jwt.encode(make_claims(user_id), key, algorithm="HS512"),
        "no-jti": lambda: jwt.encode(make_claims(user_id, jti=...), key, algorithm="HS256"),
        "no-type": lambda: jwt.encode(make_claims(user_id, type=...), key, algorithm="HS256"),
        "no-sub": lambda: jwt.encode(make_claims(user_id, sub=...), key, algorithm="HS256"),
        "bad-sub": lambda: jwt.encode(make_claims(user_id, sub="abc"), key, algorithm="HS256"),
        "huge-sub": lambda: jwt.encode(
            make_claims(user_id, sub="1" + "0" * 20), key, algorithm="HS256"
        ),
        "unknown-user": lambda: jwt.encode(make_claims(user_id + 1000), key, algorithm="HS256"),
        "refresh-type": lambda: jwt.encode(
            make_claims(user_id, type="refresh"), key, algorithm="HS256"
        ),
        "temp-type": lambda: jwt.encode(make_claims(user_id, type="temp"), key, algorithm="HS256"),
        "bad-event": lambda: jwt.encode(
            make_claims(user_id, event_id="not-a-uuid"), key, algorithm="HS256"
        ),
        "bad-role": lambda: jwt.encode(make_claims(user_id, role=["x"]), key, algorithm="HS256"),
    }
    return bearer(tokens[case]())


BAD_TOKEN_CASES = [
    "no-header",
    "token-scheme",
    "empty-bearer",
    "tampered",
    "truncated",
    "wrong-key",
    "expired",
    "alg-none",
    "hs512",
    "no-jti",
    "no-type",
    "no-sub",
    "bad-sub",
    "huge-sub",
    "unknown-user",
    "refresh-type",
    "temp-type",
    "bad-event",
    "bad-role",
]


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_bad_tokens_are_refused(app, client, auth, make, subtests):
    user = make.user()
    good = auth.tokens(user.id, None, None)["access"]
    assert client.get(ME, headers=bearer(good)).status_code == 200
    for case in BAD_TOKEN_CASES:
        with subtests.test(case=case):
            header = bad_header(app, user.id, good, case)
            if case in ("wrong-key", "expired", "alg-none", "hs512"):
                # well-formed tokens: refused for their signature/expiry only
                raw = header["Authorization"].removeprefix("Bearer ")
                unverified = jwt.decode(raw, options={"verify_signature": False})
                assert unverified["sub"] == str(user.id) and unverified["type"] == "access"
            assert_error(client.get(ME, headers=header), 401)
    # control: the builder itself makes tokens the server accepts
    ok = jwt.encode(make_claims(user.id), app.config["JWT_SECRET_KEY"], algorithm="HS256")
    assert client.get(ME, headers=bearer(ok)).status_code == 200


@pytest.mark.parametrize("withdrawn", ["assignment", "user", "event"])
def test_withdrawn_access_takes_effect_at_once(app, client, make, member, headers, withdrawn):
    room = f"{ROOMS}{make.room(member.event_id)}/"
    assert client.get(ROOMS, headers=headers).status_code == 200
    assert client.get(room, headers=headers).status_code == 200
    with app.app_context():
        if withdrawn == "assignment":
            db.session.execute(
                update(UserEventAssignment)
                .where(UserEventAssignment.user_id == member.user_id)
                .values(is_active=False)
            )
        elif withdrawn == "event":
            db.session.execute(
                update(Event).where(Event.id == member.event_id).values(is_active=False)
            )
        else:
            db.session.execute(
                update(User).where(User.id == member.user_id).values(is_active=False)
            )
        db.session.commit()
    status = 401 if withdrawn == "user" else 403
    assert_error(client.get(ROOMS, headers=headers), status)
    assert_error(client.get(room, headers=headers), status)
