"""The permission matrix of the read and QR endpoints, role by role and event by event.

Every test builds event A (``make.world()``) and, where it matters, event B (a
second world). Callers are A's four roles plus two members of B, whose tokens
name B: B's gestionnaire passes every role gate, so anything refused to him is
refused because of the event; B's controller is the scanner at the wrong door.

Besides the status code, each answer is checked for leaks: lists only ever hold
rows of the caller's event, and a refusal carries no id, email or badge of A.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from kiosk.decoders import make_decoder
from server.extensions import db
from server.models import RoomAccess
from shared.roles import Role
from tests.conftest import AuthActions, Factory, Member, World, signed_badge_fields

G = Role.GESTIONNAIRE.value
C = Role.CONTROLLEUR.value
P = Role.PARTICIPANT.value
E = Role.EXPOSANT.value
OTHER_G = "other_event:" + G
OTHER_C = "other_event:" + C
CALLERS = (G, C, P, E, OTHER_G, OTHER_C)

# ---------------------------------------------------------------------------
# the matrix (seed, "Permission Matrix": Rooms/Sessions list+view for everyone,
# QR Verify for gestionnaire + controller, QR Generate for gestionnaire only;
# objects of another event do not exist for the caller: 404, not 403)

# fmt: off
MATRIX: dict[str, tuple[int, int, int, int, int, int]] = {
    #                   gest  ctrl  part  expo  B:gest  B:ctrl
    "rooms.list":      (200,  200,  200,  200,  200,    200),
    "rooms.detail":    (200,  200,  200,  200,  404,    404),
    "sessions.list":   (200,  200,  200,  200,  200,    200),
    "sessions.detail": (200,  200,  200,  200,  404,    404),
    "qr.verify":       (200,  200,  403,  403,  404,    404),
    "qr.generate":     (200,  403,  403,  403,  404,    403),
}
# fmt: on


@dataclass(frozen=True)
class Endpoint:
    method: str
    url: Callable[[World], str]
    body: Callable[[World], dict[str, Any]] | None = None


ENDPOINTS: dict[str, Endpoint] = {
    "rooms.list": Endpoint("GET", lambda w: "/api/rooms/"),
    "rooms.detail": Endpoint("GET", lambda w: f"/api/rooms/{w.rooms[0]}/"),
    "sessions.list": Endpoint("GET", lambda w: "/api/sessions/"),
    "sessions.detail": Endpoint("GET", lambda w: f"/api/sessions/{w.paid_session}/"),
    "qr.verify": Endpoint(
        "POST",
        lambda w: f"/api/rooms/{w.rooms[0]}/verify_access/",
        lambda w: {"qr_data": w.members[P].qr},
    ),
    "qr.generate": Endpoint(
        "POST", lambda w: "/api/qr/generate/", lambda w: {"user_id": w.members[P].user_id}
    ),
}

# ---------------------------------------------------------------------------
# helpers


@dataclass
class Two:
    a: World
    b: World

    def caller(self, key: str) -> Member:
        if key.startswith("other_event:"):
            return self.b.members[key.split(":", 1)[1]]
        return self.a.members[key]

    def world_of(self, member: Member) -> World:
        return self.a if member.event_id == self.a.event_id else self.b


@pytest.fixture
def two(make: Factory) -> Two:
    return Two(make.world("Event A"), make.world("Event B"))


def call(client: FlaskClient, ep: Endpoint, world: World, headers: dict[str, str]) -> TestResponse:
    body = ep.body(world) if ep.body else None
    return client.open(ep.url(world), method=ep.method, json=body, headers=headers)


def room_accesses(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(RoomAccess)) or 0


def secrets_of(world: World) -> list[str]:
    """Strings that must never reach a caller outside ``world``'s event."""
    out = [str(world.event_id), str(world.free_session), str(world.paid_session)]
    out += [str(r) for r in world.rooms]
    for m in world.members.values():
        out += [m.email, m.badge_id]
    return out


def assert_error_body(r: TestResponse, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.is_json, r.get_data(as_text=True)
    body = r.get_json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]
    assert set(body) <= {"error", "code", "fields"}
    return body


def assert_field_error(r: TestResponse, field: str) -> None:
    body = assert_error_body(r, 400)
    assert field in body.get("fields", {}), body


def listing(client: FlaskClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    r = client.get(url, headers=headers)
    assert r.status_code == 200, (url, r.status_code, r.get_json())
    body = r.get_json()
    assert set(body) == {"count", "next", "previous", "results"}
    return body  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------
# the matrix, cell by cell


def check_cell(
    app: Flask, client: FlaskClient, auth: AuthActions, two: Two, endpoint: str, caller_key: str
) -> tuple[int, list[str]]:
    """Call one endpoint as one caller: the status, and what is wrong with the answer."""
    a = two.a
    caller = two.caller(caller_key)
    mine = two.world_of(caller)
    before = room_accesses(app)
    r = call(client, ENDPOINTS[endpoint], a, auth.headers(caller))
    text = r.get_data(as_text=True)
    problems: list[str] = []

    def expect(ok: bool, what: str) -> None:
        if not ok:
            problems.append(f"{endpoint}: {what}: {text[:300]}")

    expect(r.is_json, "not JSON")
    if r.status_code != 200:
        body = r.get_json(silent=True) or {}
        expect(bool(body.get("error")) and set(body) <= {"error", "code", "fields"}, "error body")
        if mine is not a:
            expect(not [s for s in secrets_of(a) if s in text], "A's data in a refusal to B")
        expect(room_accesses(app) == before, "a refused caller wrote a RoomAccess row")
        return r.status_code, problems

    body = r.get_json()
    if endpoint.endswith(".list"):
        expect({x["event"] for x in body["results"]} == {str(mine.event_id)}, "foreign rows")
        wanted = (
            {str(x) for x in mine.rooms}
            if endpoint == "rooms.list"
            else {str(mine.free_session), str(mine.paid_session)}
        )
        expect({x["id"] for x in body["results"]} == wanted, "wrong rows")
        expect(body["count"] == len(wanted), "wrong count")
        other = two.b if mine is a else a
        expect(not [s for s in secrets_of(other) if s in text], "the other event's data")
    elif endpoint == "rooms.detail":
        expect(body["id"] == str(a.rooms[0]) and body["event"] == str(a.event_id), "room")
    elif endpoint == "sessions.detail":
        expect(body["id"] == str(a.paid_session) and body["event"] == str(a.event_id), "session")
    elif endpoint == "qr.verify":
        expect(body["status"] == "granted" and body["reason"] == "granted", "not granted")
        expect(body["participant"]["user_id"] == a.members[P].user_id, "wrong participant")
        expect(body["access"]["room_name"] == "Room 0", "wrong room")
        expect(room_accesses(app) == before + 1, "scan not logged once")
    elif endpoint == "qr.generate":
        expect(body["user_id"] == a.members[P].user_id, "wrong user")
        expect(body["badge_id"] == a.members[P].badge_id, "wrong badge")
    return r.status_code, problems


@pytest.mark.parametrize("caller_key", CALLERS)
def test_matrix(
    app: Flask, client: FlaskClient, auth: AuthActions, two: Two, caller_key: str
) -> None:
    """One column of MATRIX: every endpoint called by one caller against event A."""
    column = CALLERS.index(caller_key)
    problems: list[str] = []
    for endpoint, row in MATRIX.items():
        status, wrong = check_cell(app, client, auth, two, endpoint, caller_key)
        if status != row[column]:
            problems.append(f"{endpoint}: expected {row[column]}, got {status}")
        problems += wrong
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------
# the event_id filter: only the caller's own event may be named


@pytest.mark.parametrize("caller_key", CALLERS)
def test_event_id_of_another_event_is_refused(
    client: FlaskClient, auth: AuthActions, two: Two, caller_key: str
) -> None:
    caller = two.caller(caller_key)
    mine = two.world_of(caller)
    theirs = two.b if mine is two.a else two.a
    headers = auth.headers(caller)
    for path in ("/api/rooms/", "/api/sessions/"):
        r = client.get(f"{path}?event_id={theirs.event_id}", headers=headers)
        body = assert_error_body(r, 403)
        assert "event_id" in body.get("fields", {}), (path, body)
        leaked = [s for s in secrets_of(theirs) if s in r.get_data(as_text=True)]
        assert not leaked, (path, leaked)

        # naming one's own event is the same as naming none
        own = listing(client, f"{path}?event_id={mine.event_id}", headers)
        assert own == listing(client, path, headers), path
        assert {x["event"] for x in own["results"]} == {str(mine.event_id)}, path


def test_a_token_naming_an_event_without_a_role_there_is_refused(
    client: FlaskClient, auth: AuthActions, two: Two
) -> None:
    """B's gestionnaire with a token naming A: a role in B grants nothing in A."""
    intruder = two.b.members[G]
    pair = auth.tokens(intruder.user_id, two.a.event_id, G)
    headers = {"Authorization": f"Bearer {pair['access']}"}
    for name, ep in ENDPOINTS.items():
        r = call(client, ep, two.a, headers)
        assert_error_body(r, 403)
        leaked = [s for s in secrets_of(two.a) if s in r.get_data(as_text=True)]
        assert not leaked, (name, leaked)


# ---------------------------------------------------------------------------
# sessions: filters and fields


@pytest.fixture
def live_session(make: Factory, two: Two) -> uuid.UUID:
    return make.session(two.a.event_id, two.a.rooms[2], status="en_cours", title="Live talk")


def test_session_filters_filter(
    client: FlaskClient, auth: AuthActions, two: Two, live_session: uuid.UUID
) -> None:
    a, b = two.a, two.b
    ids = {"free": a.free_session, "paid": a.paid_session, "live": live_session}
    table: list[tuple[str, set[str]]] = [
        ("", {"free", "paid", "live"}),
        (f"event_id={a.event_id}", {"free", "paid", "live"}),
        (f"room_id={a.rooms[0]}", {"free"}),
        (f"room_id={a.rooms[1]}", {"paid"}),
        (f"room_id={b.rooms[0]}", set()),  # B's room: nothing of B comes back
        ("status=pas_encore", {"free", "paid"}),
        ("status=en_cours", {"live"}),
        ("status=termine", set()),
        ("session_type=conference", {"free", "live"}),
        ("session_type=atelier", {"paid"}),
        ("is_paid=true", {"paid"}),
        ("is_paid=false", {"free", "live"}),
        ("is_paid=1", {"paid"}),
        ("status=pas_encore&is_paid=false", {"free"}),
        (f"room_id={a.rooms[2]}&status=en_cours&session_type=conference", {"live"}),
    ]
    for role in (G, P):
        headers = auth.headers(a.members[role])
        for query, expected in table:
            body = listing(client, f"/api/sessions/?{query}", headers)
            got = {x["id"] for x in body["results"]}
            assert got == {str(ids[k]) for k in expected}, (role, query)
            assert body["count"] == len(expected), (role, query)
            assert all(x["event"] == str(a.event_id) for x in body["results"])


# (path, query, the parameter the 400 must name)
BAD_QUERIES = [
    ("/api/sessions/", "status=foo", "status"),
    ("/api/sessions/", "status=EN_COURS", "status"),
    ("/api/sessions/", "session_type=keynote", "session_type"),
    ("/api/sessions/", "is_paid=maybe", "is_paid"),
    ("/api/sessions/", "room_id=not-a-uuid", "room_id"),
    ("/api/sessions/", "event_id=not-a-uuid", "event_id"),
    ("/api/rooms/", "event_id=not-a-uuid", "event_id"),
    ("/api/rooms/", "is_active=maybe", "is_active"),
] + [
    (path, query, query.split("=")[0])
    for path in ("/api/rooms/", "/api/sessions/")
    for query in (
        "page_size=0",
        "page_size=-1",
        "page_size=10000",
        "page_size=abc",
        "page=abc",
        "page=0",
        "page=-2",
        "page=1.5",
    )
]


def test_invalid_query_parameters_are_400_naming_the_parameter(
    client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    headers = auth.headers(make.member(make.event(), P))
    for path, query, field in BAD_QUERIES:
        r = client.get(f"{path}?{query}", headers=headers)
        assert r.status_code == 400, (path, query, r.status_code)
        assert_field_error(r, field)


def test_session_fields(
    client: FlaskClient, auth: AuthActions, two: Two, live_session: uuid.UUID
) -> None:
    a = two.a
    headers = auth.headers(a.members[E])

    paid = client.get(f"/api/sessions/{a.paid_session}/", headers=headers).get_json()
    assert paid["price"] == "5000.00"
    assert paid["is_paid"] is True and paid["session_type"] == "atelier"
    assert paid["is_live"] is False and paid["status"] == "pas_encore"
    assert paid["room"] == str(a.rooms[1]) and paid["room_name"] == "Room 1"
    assert paid["title"] == "Atelier payant"
    for key in ("start_time", "end_time", "created_at"):
        assert isinstance(paid[key], str) and paid[key].endswith("Z"), (key, paid[key])
        assert "+00:00" not in paid[key]
    assert paid["start_time"] < paid["end_time"]

    free = client.get(f"/api/sessions/{a.free_session}/", headers=headers).get_json()
    assert free["price"] == "0.00" and free["is_paid"] is False
    assert free["room_name"] == "Room 0"

    live = client.get(f"/api/sessions/{live_session}/", headers=headers).get_json()
    assert live["is_live"] is True and live["status"] == "en_cours"

    # the list shows each session exactly as its detail does
    listed = {x["id"]: x for x in listing(client, "/api/sessions/", headers)["results"]}
    assert listed[str(a.paid_session)] == paid
    assert listed[str(live_session)] == live


def test_unknown_or_malformed_ids_are_404(
    client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    headers = auth.headers(make.member(make.event(), G))
    for kind in ("rooms", "sessions"):
        assert_error_body(client.get(f"/api/{kind}/{uuid.uuid4()}/", headers=headers), 404)
        assert_error_body(client.get(f"/api/{kind}/not-a-uuid/", headers=headers), 404)


# ---------------------------------------------------------------------------
# verify_access: refused callers write nothing


def test_verify_refusals_write_no_access_row(
    app: Flask, client: FlaskClient, auth: AuthActions, two: Two
) -> None:
    """Even with a payload that would be granted, or one that is garbage."""
    a = two.a
    payloads = (a.members[P].qr, "garbage", {"user_id": 1, "badge_id": "USER-1-AAAAAAAA"})
    for caller_key, expected in ((P, 403), (E, 403), (OTHER_G, 404), (OTHER_C, 404)):
        headers = auth.headers(two.caller(caller_key))
        for payload in payloads:
            r = client.post(
                f"/api/rooms/{a.rooms[0]}/verify_access/",
                json={"qr_data": payload},
                headers=headers,
            )
            assert r.status_code == expected, (caller_key, payload, r.status_code)
            assert_error_body(r, expected)
    assert room_accesses(app) == 0


def test_verify_with_another_events_session_does_not_leak_it(
    app: Flask, client: FlaskClient, auth: AuthActions, two: Two
) -> None:
    a, b = two.a, two.b
    r = client.post(
        f"/api/rooms/{a.rooms[1]}/verify_access/",
        json={"qr_data": a.members[P].qr, "session": str(b.paid_session)},
        headers=auth.headers(a.members[C]),
    )
    text = r.get_data(as_text=True)
    assert "session" not in (r.get_json() or {}), text
    leaked = [s for s in secrets_of(b) if s in text]
    assert not leaked, leaked


# ---------------------------------------------------------------------------
# QR generate


def test_generate_returns_the_badge(client: FlaskClient, auth: AuthActions, make: Factory) -> None:
    w = make.world()
    headers = auth.headers(w.members[G])
    for role in (P, E, C, G):  # any member of the event, the gestionnaire included
        target = w.members[role]
        r = client.post("/api/qr/generate/", json={"user_id": target.user_id}, headers=headers)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert body["user_id"] == target.user_id
        assert body["badge_id"] == target.badge_id
        assert body["reissued"] is False
        assert signed_badge_fields(body["qr_code_data"]) == {
            "user_id": target.user_id,
            "badge_id": target.badge_id,
        }
        prefix = "data:image/png;base64,"
        assert body["qr_code_image"].startswith(prefix)
        png = base64.b64decode(body["qr_code_image"][len(prefix) :], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        # the image holds exactly the signed payload, as the kiosk's decoder reads it
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
        decoded = make_decoder("zxing-cpp")[0].decode(image)
        assert [d.data for d in decoded] == [body["qr_code_data"].encode()]
    again = client.post(
        "/api/qr/generate/", json={"user_id": w.members[P].user_id}, headers=headers
    )
    assert again.get_json()["badge_id"] == w.members[P].badge_id  # stable without reissue


def test_generate_for_someone_outside_the_event_is_404(
    client: FlaskClient, auth: AuthActions, make: Factory, two: Two
) -> None:
    headers = auth.headers(two.a.members[G])
    loner = make.user()  # a user in no event at all
    for user_id in (two.b.members[P].user_id, two.b.members[G].user_id, loner.id, 2**31, 2**62):
        r = client.post("/api/qr/generate/", json={"user_id": user_id}, headers=headers)
        assert_error_body(r, 404)
        for s in secrets_of(two.b):
            assert s not in r.get_data(as_text=True)


def test_reissue_revokes_the_old_badge(
    app: Flask, client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    w = make.world()
    p = w.members[P]
    door = f"/api/rooms/{w.rooms[0]}/verify_access/"
    scanner = auth.headers(w.members[C])

    r = client.post(
        "/api/qr/generate/",
        json={"user_id": p.user_id, "reissue": True},
        headers=auth.headers(w.members[G]),
    )
    assert r.status_code == 201, r.get_json()
    new = r.get_json()
    assert new["reissued"] is True
    assert new["badge_id"] != p.badge_id and new["badge_id"].startswith(f"USER-{p.user_id}-")
    assert signed_badge_fields(new["qr_code_data"]) == {
        "user_id": p.user_id,
        "badge_id": new["badge_id"],
    }
    assert new["qr_code_image"].startswith("data:image/png;base64,")

    old = client.post(door, json={"qr_data": p.qr}, headers=scanner)
    assert old.status_code == 403, old.get_json()
    assert old.get_json()["reason"] == "revoked_badge"

    granted = client.post(door, json={"qr_data": new["qr_code_data"]}, headers=scanner)
    assert granted.status_code == 200, granted.get_json()
    assert granted.get_json()["reason"] == "granted"
    assert room_accesses(app) == 2  # both scans logged, the denied one included

    # a plain generate now hands out the new badge
    r = client.post(
        "/api/qr/generate/", json={"user_id": p.user_id}, headers=auth.headers(w.members[G])
    )
    assert r.status_code == 200 and r.get_json()["badge_id"] == new["badge_id"]


def test_only_the_gestionnaire_may_reissue(
    client: FlaskClient, auth: AuthActions, two: Two
) -> None:
    a = two.a
    for caller_key, expected in ((C, 403), (P, 403), (E, 403), (OTHER_G, 404), (OTHER_C, 403)):
        r = client.post(
            "/api/qr/generate/",
            json={"user_id": a.members[P].user_id, "reissue": True},
            headers=auth.headers(two.caller(caller_key)),
        )
        assert r.status_code == expected, (caller_key, r.status_code)
        assert_error_body(r, expected)
    # the badge was not replaced: it still opens the door
    ok = client.post(
        f"/api/rooms/{a.rooms[0]}/verify_access/",
        json={"qr_data": a.members[P].qr},
        headers=auth.headers(a.members[C]),
    )
    assert ok.status_code == 200, ok.get_json()


def test_generate_bad_input_is_400_naming_the_field(
    client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    w = make.world()
    headers = auth.headers(w.members[G])
    uid = w.members[P].user_id
    for bad in ({}, {"user_id": None}, {"user_id": str(uid)}, {"user_id": float(uid)},
                {"user_id": True}, {"user_id": 0}, {"user_id": -uid}, {"user_id": [uid]},
                {"user_id": {"id": uid}}, {"user_id": "abc"}):  # fmt: skip
        r = client.post("/api/qr/generate/", json=bad, headers=headers)
        assert_field_error(r, "user_id")
    for bad_reissue in ("yes", 1, None, "true"):
        r = client.post(
            "/api/qr/generate/", json={"user_id": uid, "reissue": bad_reissue}, headers=headers
        )
        assert_field_error(r, "reissue")


# ---------------------------------------------------------------------------
# pagination


def test_pagination(client: FlaskClient, auth: AuthActions, make: Factory) -> None:
    event = make.event("Paged")
    rooms = {str(make.room(event, f"P{i}")) for i in range(7)}
    make.world()  # another event's rooms must not be counted
    headers = auth.headers(make.member(event, P))

    first = listing(client, "/api/rooms/?page_size=3", headers)
    assert first["count"] == 7 and len(first["results"]) == 3
    assert first["next"] and first["previous"] is None
    assert "page=2" in first["next"] and "page_size=3" in first["next"]

    second = listing(client, first["next"], headers)  # follow the link as a client would
    assert second["count"] == 7 and len(second["results"]) == 3
    assert second["next"] and second["previous"]
    assert "page=1" in second["previous"]

    third = listing(client, "/api/rooms/?page_size=3&page=3", headers)
    assert third["count"] == 7 and len(third["results"]) == 1
    assert third["next"] is None and third["previous"]
    assert "page=2" in third["previous"]

    seen = [x["id"] for page in (first, second, third) for x in page["results"]]
    assert sorted(seen) == sorted(rooms)  # every room once, none of the other event
    assert [x["name"] for x in first["results"]] == ["P0", "P1", "P2"]

    whole = listing(client, "/api/rooms/", headers)
    assert whole["count"] == 7 and whole["next"] is None and whole["previous"] is None


def test_a_page_beyond_the_end_is_empty(
    client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    headers = auth.headers(make.world().members[P])
    for page in ("99", str(2**40)):
        body = listing(client, f"/api/rooms/?page={page}", headers)
        assert body["count"] == 3 and body["results"] == [] and body["next"] is None


def test_a_page_number_too_large_for_the_database_is_400(
    client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    headers = auth.headers(make.world().members[P])
    for path in ("/api/rooms/", "/api/sessions/"):
        r = client.get(f"{path}?page={10**20}", headers=headers)
        assert_field_error(r, "page")


# ---------------------------------------------------------------------------
# authentication and routing


def test_no_or_bad_token_is_401(app: Flask, client: FlaskClient, make: Factory) -> None:
    w = make.world()
    for endpoint, ep in ENDPOINTS.items():
        for headers in (
            {},
            {"Authorization": ""},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer not-a-jwt"},
            {"Authorization": "Basic dXNlcjpwYXNz"},
        ):
            r = call(client, ep, w, headers)
            assert r.status_code == 401, (endpoint, headers, r.status_code)
            assert_error_body(r, 401)
            leaked = [s for s in secrets_of(w) if s in r.get_data(as_text=True)]
            assert not leaked, (endpoint, headers, leaked)
    assert room_accesses(app) == 0


def test_index_and_health_need_no_token(client: FlaskClient) -> None:
    health = client.get("/api/health/")
    assert health.status_code == 200 and health.is_json
    body = health.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["time"].endswith("Z")

    index = client.get("/api/")
    assert index.status_code == 200 and index.is_json
    assert index.get_json()["name"] == "BadgeGate" and index.get_json()["version"]


def test_unknown_path_and_wrong_method_answer_json(client: FlaskClient) -> None:
    for path in ("/api/nope/", "/nope", "/api/rooms/x/y/z/"):
        assert assert_error_body(client.get(path), 404)["code"] == "not_found", path
    for method, path in (
        ("DELETE", "/api/health/"),
        ("POST", "/api/"),
        ("GET", "/api/qr/generate/"),
        ("GET", f"/api/rooms/{uuid.UUID(int=1)}/verify_access/"),
    ):
        r = client.open(path, method=method)
        assert r.status_code == 405, (method, path, r.status_code)
        assert assert_error_body(r, 405)["code"] == "method_not_allowed"


def test_generate_refuses_a_withdrawn_member(
    client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    w = make.world()
    withdrawn = make.member(w.event_id, "participant", active=False)
    r = client.post(
        "/api/qr/generate/",
        json={"user_id": withdrawn.user_id},
        headers=auth.headers(w.members["gestionnaire_des_salles"]),
    )
    assert r.status_code == 404
