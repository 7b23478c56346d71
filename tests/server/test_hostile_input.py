"""Hostile input: every malformed request is a JSON 4xx naming what is wrong, never a
500 and never a partial write (deep nesting, lone surrogates, non-ASCII digits,
integers past a column's range, racing registrations, oversized chunked bodies)."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.extensions import db
from server.models import ExposantScan, Kiosk, RoomAccess, User
from shared.roles import Role
from tests.conftest import TEST_PASSWORD, AuthActions, Factory, World
from tests.server.test_sync import KioskCred, booth_kiosk, door_kiosk, push, scan

GEST, CTRL, PART, EXPO = (
    r.value for r in (Role.GESTIONNAIRE, Role.CONTROLLEUR, Role.PARTICIPANT, Role.EXPOSANT)
)
JSON = {"Content-Type": "application/json"}
DEEP = "[" * 1000 + "]" * 1000  # 2 kB
SURROGATE = "\\ud800"  # as written in the JSON text: Python decodes it to an unpaired surrogate


@pytest.fixture
def world(make: Factory) -> World:
    return make.world()


@pytest.fixture
def kiosk(client: FlaskClient, auth: AuthActions, world: World) -> KioskCred:
    return door_kiosk(client, auth, world)


Headers = Callable[[], dict[str, str]]


def _routes(
    auth: AuthActions, world: World, kiosk: KioskCred
) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, headers) of every route that reads a JSON body, with a caller it admits."""

    def h(role: str) -> dict[str, str]:
        return auth.headers(world.members[role])

    room = world.rooms[0]
    return [
        ("POST", "/api/auth/register/", {}),
        ("POST", "/api/auth/login/", {}),
        ("POST", "/api/auth/select-event/", h(PART)),
        ("POST", "/api/auth/switch-event/", h(PART)),
        ("PUT", "/api/auth/profile/", h(PART)),
        ("PATCH", "/api/auth/profile/", h(PART)),
        ("PATCH", "/api/auth/me/", h(PART)),
        ("POST", "/api/auth/change-password/", h(PART)),
        ("POST", "/api/auth/logout/", h(PART)),
        ("POST", "/api/token/refresh/", {}),
        ("POST", "/api/kiosks/", h(GEST)),
        ("POST", "/api/kiosks/provision/", {}),
        ("POST", f"/api/rooms/{room}/verify_access/", h(CTRL)),
        ("POST", "/api/qr/generate/", h(GEST)),
        ("POST", "/api/exposant-scans/", h(EXPO)),
        ("POST", "/api/sync/scans", kiosk.headers),
    ]


def send(client: FlaskClient, method: str, path: str, text: str, headers: dict[str, str]) -> Any:
    return client.open(path, method=method, data=text.encode(), headers={**JSON, **headers})


def assert_400(r: Any, field: str, *words: str) -> None:
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_json()
    assert body["code"] == "validation_error", body
    assert field in body["fields"], body
    for word in words:
        assert word in body["fields"][field], body


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(m)) or 0
            for m in (User, RoomAccess, ExposantScan)
        )


# ---------------------------------------------------------------------------
# deep nesting


def test_deeply_nested_json_is_a_400_naming_body_on_every_route(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, kiosk: KioskCred
) -> None:
    before = counts(app)
    for method, path, headers in _routes(auth, world, kiosk):
        for text in (DEEP, '{"scans": ' + DEEP[:-1] + "]}", '{"a": ' * 600 + "1" + "}" * 600):
            r = send(client, method, path, text, headers)
            assert r.status_code == 400, (method, path, r.status_code)
            assert r.get_json()["fields"] == {"body": "is nested too deeply"}, (method, path)
    assert counts(app) == before


def test_a_decoded_qr_object_nested_deeply_is_refused(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    text = '{"qr_data": ' + '{"a": ' * 100 + "1" + "}" * 100 + "}"
    r = send(
        client,
        "POST",
        f"/api/rooms/{world.rooms[0]}/verify_access/",
        text,
        auth.headers(world.members[CTRL]),
    )
    assert_400(r, "body", "nested")


def test_invalid_json_is_a_400_naming_body(client: FlaskClient) -> None:
    r = send(client, "POST", "/api/auth/login/", '{"email": ', {})
    assert_400(r, "body", "JSON")


# ---------------------------------------------------------------------------
# lone surrogates


def _surrogate_cases(
    auth: AuthActions, world: World, kiosk: KioskCred, booth: KioskCred
) -> list[tuple[str, str, dict[str, str], str, str]]:
    """(method, path, headers, JSON text, field named)."""

    def h(role: str) -> dict[str, str]:
        return auth.headers(world.members[role])

    s = SURROGATE
    part = world.members[PART]
    refresh = auth.tokens(part.user_id, part.event_id, part.role)["refresh"]
    upload = scan("x", notes="ok")
    booth_scan = {**upload, "kind": "booth_visit", "notes": "PLACEHOLDER"}
    sync_body = json.dumps({"scans": [booth_scan]}).replace("PLACEHOLDER", s)
    return [
        (
            "POST",
            "/api/auth/login/",
            {},
            f'{{"email": "a{s}@example.com", "password": "x"}}',
            "email",
        ),
        (
            "POST",
            "/api/auth/login/",
            {},
            f'{{"email": "a@example.com", "password": "{s}"}}',
            "password",
        ),
        (
            "POST",
            "/api/auth/register/",
            {},
            f'{{"username": "u{s}", "email": "n@example.com", "password": "longenough"}}',
            "username",
        ),
        (
            "POST",
            "/api/auth/register/",
            {},
            '{"username": "u2", "email": "n2@example.com", "password": "longenough", '
            f'"first_name": "{s}"}}',
            "first_name",
        ),
        ("PATCH", "/api/auth/profile/", h(PART), f'{{"last_name": "X{s}"}}', "last_name"),
        (
            "PUT",
            "/api/auth/me/",
            h(PART),
            f'{{"username": "{s}", "email": "z@example.com"}}',
            "username",
        ),
        (
            "POST",
            "/api/auth/change-password/",
            h(PART),
            f'{{"old_password": "{TEST_PASSWORD}", "new_password": "new{s}password"}}',
            "new_password",
        ),
        ("POST", "/api/auth/logout/", h(PART), f'{{"refresh": "{refresh}{s}"}}', "refresh"),
        ("POST", "/api/token/refresh/", {}, f'{{"refresh": "{s}"}}', "refresh"),
        ("POST", "/api/kiosks/provision/", {}, f'{{"code": "ABCD-{s}"}}', "code"),
        (
            "POST",
            "/api/kiosks/provision/",
            {},
            f'{{"email": "{part.email}", "password": "{TEST_PASSWORD}", '
            f'"room_id": "{world.rooms[0]}", "name": "Porte {s}"}}',
            "name",
        ),
        (
            "POST",
            "/api/kiosks/",
            h(GEST),
            f'{{"name": "door {s}", "mode": "door", "room_id": "{world.rooms[0]}"}}',
            "name",
        ),
        (
            "POST",
            "/api/exposant-scans/",
            h(EXPO),
            f'{{"qr_data": {json.dumps(part.qr)}, "notes": "hello {s}"}}',
            "notes",
        ),
        ("POST", "/api/sync/scans", booth.headers, sync_body, "scans[0].notes"),
        ("POST", "/api/auth/login/", {}, f'{{"email": "a@example.com", "{s}": 1}}', "body"),
    ]


def test_a_lone_surrogate_in_any_string_is_a_400_naming_the_field(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, kiosk: KioskCred
) -> None:
    booth = booth_kiosk(client, auth, world)
    before = counts(app)
    for method, path, headers, text, field in _surrogate_cases(auth, world, kiosk, booth):
        r = send(client, method, path, text, headers)
        assert_400(r, field, "surrogate")
    assert counts(app) == before


def test_field_checks_refuse_surrogates_too() -> None:
    """The field readers refuse what the body check refuses (for bodies not read as JSON)."""
    from server.errors import APIError
    from server.schema import Schema, Text, load
    from shared.sync import SyncFormatError, parse_scan

    class Named(Schema):
        name = Text(required=True)

    with pytest.raises(APIError) as caught:
        load(Named(), {"name": "a\ud800"})
    assert caught.value.fields == {"name": "must not contain unpaired surrogates"}
    item = {**scan("x"), "kind": "booth_visit", "notes": "\udfff"}
    with pytest.raises(SyncFormatError) as failed:
        parse_scan(item, "scans[0]")
    assert failed.value.field == "scans[0].notes"
    with pytest.raises(SyncFormatError) as failed:
        parse_scan({**scan("\ud800")}, "scans[0]")
    assert failed.value.field == "scans[0].payload"


# ---------------------------------------------------------------------------
# digits and integer ranges


@pytest.mark.parametrize("cursor", ["²", "١٢", "١", "1_0", " 12", "12 ", "+1", "s.².0", "s.0.١"])
def test_a_cursor_of_non_ascii_digits_is_a_400(
    client: FlaskClient, kiosk: KioskCred, cursor: str
) -> None:
    r = client.get("/api/sync/changes", query_string={"cursor": cursor}, headers=kiosk.headers)
    assert_400(r, "cursor")


@pytest.mark.parametrize(
    "cursor",
    [str(2**63), str(2**63 - 1), "9" * 30, "s.0.3." + "9" * 30, "s.0.3.-1", f"s.{2**63}.0"],
)
def test_a_cursor_past_any_seq_never_fails(
    client: FlaskClient, kiosk: KioskCred, cursor: str
) -> None:
    r = client.get("/api/sync/changes", query_string={"cursor": cursor}, headers=kiosk.headers)
    assert r.status_code in (200, 400), (r.status_code, r.get_data(as_text=True)[:300])
    if r.status_code == 400:
        assert "cursor" in r.get_json()["fields"]


@pytest.mark.parametrize("name", ["page", "page_size"])
@pytest.mark.parametrize("raw", ["²", "١", "1_0", " 2", "+1", "-1", str(2**63), "9" * 5000])
def test_page_numbers_are_ascii_digits_within_range(
    client: FlaskClient, auth: AuthActions, world: World, name: str, raw: str
) -> None:
    r = client.get(
        "/api/rooms/", query_string={name: raw}, headers=auth.headers(world.members[GEST])
    )
    assert_400(r, name)


@pytest.mark.parametrize("raw", ["²", "١٢", str(2**63)])
def test_feed_limit_is_ascii_digits(client: FlaskClient, kiosk: KioskCred, raw: str) -> None:
    r = client.get("/api/sync/changes", query_string={"limit": raw}, headers=kiosk.headers)
    assert_400(r, "limit")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"queue_length": 2**63}, "queue_length"),
        ({"queue_length": 2**31}, "queue_length"),
        ({"clock_offset_ms": 2**63}, "clock_offset_ms"),
        ({"clock_offset_ms": -(2**63) - 1}, "clock_offset_ms"),
        ({"cursor": str(2**63)}, "cursor"),
        ({"cursor": "9" * 40}, "cursor"),
        ({"cursor": "²"}, "cursor"),
        ({"cursor": "١٢"}, "cursor"),
    ],
)
def test_upload_integers_past_their_columns_are_400(
    app: Flask, client: FlaskClient, world: World, kiosk: KioskCred, extra: Any, field: str
) -> None:
    r = push(client, kiosk, [scan(world.members[PART].qr)], **extra)
    assert_400(r, field)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RoomAccess)) == 0
        row = db.session.scalars(select(Kiosk)).one()
        assert row.queue_length is None


def test_upload_largest_values_are_stored(
    app: Flask, client: FlaskClient, world: World, kiosk: KioskCred
) -> None:
    r = push(
        client,
        kiosk,
        [],
        queue_length=2**31 - 1,
        clock_offset_ms=-(10**12),
        cursor=str(2**63 - 1),
    )
    assert r.status_code == 200, r.get_json()
    with app.app_context():
        row = db.session.scalars(select(Kiosk)).one()
        assert (row.queue_length, row.clock_offset_ms) == (2**31 - 1, -(10**12))


@pytest.mark.parametrize("user_id", [2**31, 2**63, -(2**63) - 1, 10**30])
def test_kiosk_exposant_user_id_past_range_is_400(
    client: FlaskClient, auth: AuthActions, world: World, user_id: int
) -> None:
    r = client.post(
        "/api/kiosks/",
        json={"name": "booth", "mode": "booth", "exposant_user_id": user_id},
        headers=auth.headers(world.members[GEST]),
    )
    assert_400(r, "exposant_user_id")


@pytest.mark.parametrize("user_id", [2**63, 10**30])
def test_qr_generate_user_id_past_range_is_a_4xx(
    client: FlaskClient, auth: AuthActions, world: World, user_id: int
) -> None:
    r = client.post(
        "/api/qr/generate/", json={"user_id": user_id}, headers=auth.headers(world.members[GEST])
    )
    assert r.status_code in (400, 404), r.status_code


# ---------------------------------------------------------------------------
# racing registrations and username changes


def _check_misses_once(app: Flask, username: str, email: str) -> Callable[..., None]:
    """A ``_check_unique`` whose first call misses a user committed meanwhile.

    The user is committed before the request; the first check behaves as if it
    ran just before that commit (the window between check and insert), later
    checks are the real one. On SQLite the window cannot happen for real (a
    request's transaction holds the write lock from its first statement)."""
    import server.auth.api as auth_api

    real = auth_api._check_unique
    with app.app_context():
        db.session.add(
            User(username=username, email=email, first_name="", last_name="", password_hash="x")
        )
        db.session.commit()
    calls: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            real(*args, **kwargs)

    return racing


@pytest.mark.parametrize("field", ["username", "email"])
def test_a_registration_racing_another_is_refused_naming_the_field(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    import server.auth.api as auth_api

    mine = {"username": "alice", "email": "alice@example.com", "password": "longenough1"}
    theirs = {"username": "bob", "email": "bob@example.com"}
    theirs[field] = mine[field]
    monkeypatch.setattr(
        auth_api, "_check_unique", _check_misses_once(app, theirs["username"], theirs["email"])
    )
    r = client.post("/api/auth/register/", json=mine)
    assert r.status_code in (400, 409), (r.status_code, r.get_json())
    assert field in r.get_json()["fields"], r.get_json()
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == [theirs["username"]]


def test_a_username_taken_meanwhile_is_refused_naming_the_field(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import server.auth.api as auth_api

    part = world.members[PART]
    monkeypatch.setattr(
        auth_api, "_check_unique", _check_misses_once(app, "taken", "taken@example.com")
    )
    r = client.patch("/api/auth/profile/", json={"username": "taken"}, headers=auth.headers(part))
    assert r.status_code in (400, 409), (r.status_code, r.get_json())
    assert "username" in r.get_json()["fields"]
    with app.app_context():
        user = db.session.get(User, part.user_id)
        assert user is not None and user.username != "taken"


def test_registrations_racing_in_threads_never_fail(app: Flask) -> None:
    """Real concurrent requests with the same email: one 201, the others a 400 naming it."""
    import threading

    n = 4
    barrier = threading.Barrier(n)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def register(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        r = client.post(
            "/api/auth/register/",
            json={"username": f"racer{i}", "email": "same@example.com", "password": "longenough1"},
        )
        with lock:
            answers.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=register, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == n
    assert all(code in (201, 400, 409) for code, _ in answers), answers
    assert [code for code, _ in answers].count(201) == 1, answers
    for code, body in answers:
        if code != 201:
            assert "email" in body["fields"], body


# ---------------------------------------------------------------------------
# no partial write when a request fails after its inserts


@pytest.mark.parametrize("mode", ["door", "booth"])
def test_an_upload_failing_after_its_inserts_writes_nothing(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    from server.kiosks import scan_upload

    cred = door_kiosk(client, auth, world) if mode == "door" else booth_kiosk(client, auth, world)
    kind = "room_access" if mode == "door" else "booth_visit"

    def fail(*_args: Any) -> None:
        raise RuntimeError("a failure after the inserts")

    monkeypatch.setattr(scan_upload, "_heartbeat", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    before = counts(app)
    r = push(client, cred, [scan(world.members[PART].qr, kind=kind)])
    assert r.status_code == 500
    assert r.get_json()["code"] == "server_error"
    assert counts(app) == before


def test_a_login_creating_a_profile_then_failing_writes_nothing(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ensure_profile``'s SAVEPOINT is part of the request's transaction on both databases."""
    import server.auth.api as auth_api
    from server.models import UserProfile

    user = make.user()
    with app.app_context():
        db.session.execute(db.delete(UserProfile))
        db.session.commit()

    def fail(*_args: Any, **_kwargs: Any) -> dict[str, str]:
        raise RuntimeError("token service down")

    monkeypatch.setattr(auth_api.tokens, "issue_pair", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = client.post("/api/auth/login/", json={"email": user.email, "password": TEST_PASSWORD})
    assert r.status_code == 500
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserProfile)) == 0


# ---------------------------------------------------------------------------
# bodies, methods and slashes


class _Chunks(io.RawIOBase):
    """``n`` MB of a JSON text that never ends, read as a stream."""

    def __init__(self, megabytes: int) -> None:
        self.left = megabytes
        self.part = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if not self.part and self.left:
            self.left -= 1
            self.part = b'{"email": "' + b"a" * (1024 * 1024 - 11)
        n = min(len(buf), len(self.part))
        buf[:n] = self.part[:n]
        self.part = self.part[n:]
        return n


def test_a_chunked_body_past_the_limit_is_413(client: FlaskClient) -> None:
    """No Content-Length: werkzeug cuts the stream at MAX_CONTENT_LENGTH (gunicorn
    says it terminates chunked input); the cut body must not be parsed as the body."""
    r = client.post(
        "/api/auth/login/",
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={
            "wsgi.input": io.BufferedReader(_Chunks(50)),
            "wsgi.input_terminated": True,
        },
    )
    assert r.status_code == 413, (r.status_code, r.get_data(as_text=True)[:200])
    assert r.get_json()["code"] == "payload_too_large"


def test_a_chunked_body_under_the_limit_is_read(client: FlaskClient, make: Factory) -> None:
    user = make.user()
    body = json.dumps({"email": user.email, "password": TEST_PASSWORD}).encode()
    r = client.post(
        "/api/auth/login/",
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )
    assert r.status_code == 200, r.get_json()


def test_a_405_names_the_allowed_methods(client: FlaskClient) -> None:
    r = client.delete("/api/auth/login/")
    assert r.status_code == 405
    assert r.get_json()["code"] == "method_not_allowed"
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"POST", "OPTIONS"}


@pytest.mark.parametrize("path", ["/api/auth/login", "/api//auth/login/"])
def test_a_path_without_its_trailing_slash_answers_json(client: FlaskClient, path: str) -> None:
    r = client.post(path, json={"email": "nobody@example.com", "password": "x"})
    assert r.is_json, (r.status_code, r.get_data(as_text=True)[:200])
    assert r.status_code in (401, 404), r.status_code


def test_login_without_the_slash_logs_in(client: FlaskClient, make: Factory) -> None:
    user = make.user()
    r = client.post("/api/auth/login", json={"email": user.email, "password": TEST_PASSWORD})
    assert r.status_code == 200, r.get_json()
    assert "access" in r.get_json()


def test_health_without_the_slash(client: FlaskClient) -> None:
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/sync/changes/").status_code == 401  # no slash in the route: both work


def test_every_route_still_answers_with_its_slash(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    r = client.get("/api/rooms/", headers=auth.headers(world.members[GEST]))
    assert r.status_code == 200
    assert uuid.UUID(r.get_json()["results"][0]["id"])


def test_concurrent_writers_all_succeed(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    """Uploads from several kiosks at once (each reads, then writes): every one is
    stored. On SQLite a transaction takes the write lock up front and waits for it;
    one that read first and wrote later would fail at once as another committed."""
    import threading

    kiosks = [door_kiosk(client, auth, world) for _ in range(4)]
    rounds = 5
    barrier = threading.Barrier(len(kiosks))
    codes: list[int] = []
    lock = threading.Lock()
    qr = world.members[PART].qr

    def upload(cred: KioskCred) -> None:
        own = app.test_client()
        barrier.wait()
        for _ in range(rounds):
            r = push(own, cred, [scan(qr)], queue_length=1)
            with lock:
                codes.append(r.status_code)

    threads = [threading.Thread(target=upload, args=(k,)) for k in kiosks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert codes == [200] * (len(kiosks) * rounds)
    assert counts(app)[1] == len(kiosks) * rounds
