"""Attendance: a session's attendees (who entered its room while it ran), a
room's entries, their workbooks; who may read them; and the queries they run."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import event as sa_event
from sqlalchemy import update

from server.extensions import db
from server.models import Participant, Room, RoomAccess, RoomAssignment, User, UserEventAssignment
from shared.leads import MIMETYPE
from shared.timefmt import iso, utcnow
from tests.conftest import AuthActions, Factory, Member, World
from tests.server.content_helpers import ORG, C, Cast, E, G, P, cast
from tests.server.test_sync import door_kiosk, push, scan

HOSTILE = '=HYPERLINK("http://evil.example","clic")'


@pytest.fixture
def c(app: Flask, make: Factory, auth: AuthActions) -> Cast:
    return cast(app, make, auth)


@dataclass
class Held:
    """A session of ``c.world`` in its first room, three hours ago, for an hour."""

    id: uuid.UUID
    start: datetime
    end: datetime

    @property
    def url(self) -> str:
        return f"/api/sessions/{self.id}/attendance/"


@pytest.fixture
def held(make: Factory, c: Cast) -> Held:
    start = utcnow().replace(microsecond=0) - timedelta(hours=3)
    sid = make.session(c.event_id, c.world.rooms[0], start=start, title="Atelier IA")
    return Held(sid, start, start + timedelta(hours=1))


def add_scan(
    app: Flask,
    world: World,
    who: Member,
    at: datetime,
    *,
    room: int = 0,
    status: str = "granted",
    server_status: str | None = None,
    offline: bool = False,
    session: uuid.UUID | None = None,
) -> uuid.UUID:
    with app.app_context():
        row = RoomAccess(
            event_id=world.event_id,
            room_id=world.rooms[room],
            session_id=session,
            participant_id=who.participant_id,
            user_id=who.user_id,
            status=status,
            reason="granted" if status == "granted" else "room_not_allowed",
            server_status=server_status,
            server_reason=None if server_status is None else server_status,
            access_time=at,
            decided_offline=offline,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def person(app: Flask, make: Factory, c: Cast, **names: str) -> Member:
    user = make.user(**names)
    member = make.member(c.event_id, P, user=user)
    with app.app_context():
        db.session.execute(
            update(Participant)
            .where(Participant.id == member.participant_id)
            .values(organisation=f"Org {user.id}")
        )
        db.session.commit()
    return member


def badge_number(app: Flask, member: Member) -> str:
    with app.app_context():
        found = db.session.get(Participant, member.participant_id)
        assert found is not None
        return found.badge_number


def post(app: Flask, who: Member, room: uuid.UUID, *, hours: tuple[float, float] = (-1, 1)) -> None:
    """``who`` posted to ``room`` from ``hours[0]`` to ``hours[1]`` hours from now."""
    now = utcnow()
    with app.app_context():
        db.session.add(
            RoomAssignment(
                user_id=who.user_id,
                room_id=room,
                event_id=who.event_id,
                role=C,
                start_time=now + timedelta(hours=hours[0]),
                end_time=now + timedelta(hours=hours[1]),
            )
        )
        db.session.commit()


# ---------------------------------------------------------------------------
# who counts


def test_the_attendees_are_the_granted_entries_in_the_room_while_it_ran(
    app: Flask, client: FlaskClient, make: Factory, c: Cast, held: Held
) -> None:
    w, t0 = c.world, held.start
    twice, late, denied, early, after, elsewhere, overturned, upheld, at_start = (
        person(app, make, c) for _ in range(9)
    )
    add_scan(app, w, twice, t0 + timedelta(minutes=20))
    add_scan(app, w, twice, t0 + timedelta(minutes=5))  # the first entry, stored second
    add_scan(app, w, late, t0 + timedelta(minutes=59, seconds=59))
    add_scan(app, w, at_start, t0)
    add_scan(app, w, denied, t0 + timedelta(minutes=10), status="denied")
    add_scan(app, w, early, t0 - timedelta(seconds=1))
    add_scan(app, w, after, held.end)  # the end is not in the session
    add_scan(app, w, elsewhere, t0 + timedelta(minutes=10), room=1)
    # the kiosk let them in, the server's verdict says it should not have: they
    # came in all the same (a discrepancy to follow up)
    add_scan(app, w, overturned, t0 + timedelta(minutes=10), server_status="denied")
    # the kiosk refused, the server's verdict would have granted: turned away
    add_scan(app, w, upheld, t0 + timedelta(minutes=30), status="denied", server_status="granted")
    # a denied scan of someone let in does not add to their scans
    add_scan(app, w, twice, t0 + timedelta(minutes=25), status="denied")

    r = client.get(held.url, headers=c.headers[G])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    order = [row["participant_id"] for row in body["results"]]
    assert order == [str(m.participant_id) for m in (at_start, twice, overturned, late)]
    assert body["count"] == body["attendees"] == 4
    first = body["results"][1]
    assert first["first_entry"] == iso(t0 + timedelta(minutes=5))
    assert first["scans"] == 2
    assert [row["scans"] for row in body["results"]] == [1, 2, 1, 1]
    with app.app_context():
        user = db.session.get(User, twice.user_id)
        assert user is not None
        name = user.full_name
    assert first == {
        "participant_id": str(twice.participant_id),
        "user_id": twice.user_id,
        "name": name,
        "email": twice.email,
        "badge_number": badge_number(app, twice),
        "organisation": f"Org {twice.user_id}",
        "first_entry": iso(t0 + timedelta(minutes=5)),
        "scans": 2,
    }
    with app.app_context():
        room = db.session.get(Room, w.rooms[0])
        assert room is not None
        room.capacity = 120
        db.session.commit()
    again = client.get(held.url, headers=c.headers[ORG]).get_json()
    assert again["session"] == {
        "id": str(held.id),
        "title": "Atelier IA",
        "start_time": iso(held.start),
        "end_time": iso(held.end),
        "room": {"id": str(w.rooms[0]), "name": "Room 0", "capacity": 120},
    }
    assert again["capacity"] == 120 and again["attendees"] == 4


def test_an_offline_scan_uploaded_later_counts(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions, c: Cast
) -> None:
    now = utcnow()
    running = make.session(c.event_id, c.world.rooms[0], start=now - timedelta(minutes=30))
    kiosk = door_kiosk(client, auth, c.world)
    visitor = c.members[P]
    # decided by the kiosk while offline, sent when it is back (its time is when it was made)
    pushed = push(client, kiosk, [scan(visitor.qr)])
    assert pushed.status_code == 200, pushed.get_json()
    assert pushed.get_json()["results"][0]["server_status"] == "granted", pushed.get_json()
    body = client.get(f"/api/sessions/{running}/attendance/", headers=c.headers[G]).get_json()
    assert [row["participant_id"] for row in body["results"]] == [str(visitor.participant_id)]
    entries = client.get(f"/api/rooms/{c.world.rooms[0]}/attendance/", headers=c.headers[G])
    assert entries.get_json()["results"][0]["decided_offline"] is True


def test_an_empty_session_has_no_attendees(client: FlaskClient, c: Cast, held: Held) -> None:
    body = client.get(held.url, headers=c.headers[G]).get_json()
    assert (body["count"], body["attendees"], body["results"]) == (0, 0, [])
    assert body["next"] is None and body["previous"] is None


def test_attendees_come_in_pages(
    app: Flask, client: FlaskClient, make: Factory, c: Cast, held: Held
) -> None:
    people = [person(app, make, c) for _ in range(5)]
    for i, who in enumerate(people):
        add_scan(app, c.world, who, held.start + timedelta(minutes=i))
    url = held.url + "?page_size=2"
    pages = [client.get(f"{url}&page={n}", headers=c.headers[G]).get_json() for n in (1, 2, 3)]
    assert [p["count"] for p in pages] == [5, 5, 5]
    assert [p["attendees"] for p in pages] == [5, 5, 5]
    got = [row["participant_id"] for p in pages for row in p["results"]]
    assert got == [str(m.participant_id) for m in people]
    assert pages[0]["previous"] is None and "page=2" in pages[0]["next"]
    assert pages[2]["next"] is None and "page=2" in pages[2]["previous"]
    past = client.get(f"{url}&page=4", headers=c.headers[G]).get_json()
    assert past["results"] == [] and past["count"] == 5


# ---------------------------------------------------------------------------
# a room's entries


def test_a_rooms_entries_are_every_granted_entry_oldest_first(
    app: Flask, client: FlaskClient, make: Factory, c: Cast, held: Held
) -> None:
    w = c.world
    a, b = person(app, make, c), person(app, make, c)
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(seconds=1)
    one = add_scan(app, w, a, today + timedelta(seconds=5), session=held.id)
    two = add_scan(app, w, a, today + timedelta(seconds=9))
    old = add_scan(app, w, b, yesterday, offline=True)
    add_scan(app, w, b, today + timedelta(seconds=7), status="denied")
    # let in by the door, judged otherwise by the server: an entry all the same
    judged = add_scan(app, w, b, today + timedelta(seconds=8), server_status="denied")
    add_scan(app, w, b, today + timedelta(seconds=8), room=1)
    url = f"/api/rooms/{w.rooms[0]}/attendance/"
    body = client.get(url, headers=c.headers[G]).get_json()
    assert [row["id"] for row in body["results"]] == [str(old), str(one), str(judged), str(two)]
    assert body["count"] == 4 and body["date"] is None
    assert body["room"] == {"id": str(w.rooms[0]), "name": "Room 0", "capacity": 0}
    first, second, _third, _fourth = body["results"]
    assert first["decided_offline"] is True and first["session"] is None
    assert second["session"] == {"id": str(held.id), "title": "Atelier IA"}
    assert second["accessed_at"] == iso(today + timedelta(seconds=5))
    assert second["participant_id"] == str(a.participant_id) and second["email"] == a.email
    day = client.get(f"{url}?date={today:%Y-%m-%d}", headers=c.headers[G]).get_json()
    assert [row["id"] for row in day["results"]] == [str(one), str(judged), str(two)]
    assert day["date"] == f"{today:%Y-%m-%d}"
    before = client.get(f"{url}?date={yesterday:%Y-%m-%d}&page_size=1", headers=c.headers[G])
    assert [row["id"] for row in before.get_json()["results"]] == [str(old)]
    paged = client.get(f"{url}?page_size=2&page=2", headers=c.headers[G]).get_json()
    assert [row["id"] for row in paged["results"]] == [str(judged), str(two)]
    assert paged["count"] == 4


@pytest.mark.parametrize(
    "bad", ["2025-13-01", "2025-02-30", "yesterday", "20250101", "2025-01-01T00:00:00Z", "9" * 40]
)
def test_a_bad_date_is_a_400_naming_it(client: FlaskClient, c: Cast, bad: str) -> None:
    for tail in ("attendance/", "attendance/export_excel/"):
        r = client.get(
            f"/api/rooms/{c.world.rooms[0]}/{tail}",
            query_string={"date": bad},
            headers=c.headers[G],
        )
        assert r.status_code == 400, (tail, bad, r.data[:200])
        body = r.get_json()
        assert set(body) == {"error", "code", "fields"} and "date" in body["fields"], body


def test_the_last_day_of_the_calendar_is_not_a_500(client: FlaskClient, c: Cast) -> None:
    for day in ("9999-12-31", "0001-01-01"):
        url = f"/api/rooms/{c.world.rooms[0]}/attendance/?date={day}"
        r = client.get(url, headers=c.headers[G])
        assert r.status_code in (200, 400), (day, r.data[:200])


# ---------------------------------------------------------------------------
# who may read it


def _urls(c: Cast, session_id: uuid.UUID, room: uuid.UUID) -> list[str]:
    return [
        f"/api/sessions/{session_id}/attendance/",
        f"/api/sessions/{session_id}/attendance/export_excel/",
        f"/api/rooms/{room}/attendance/",
        f"/api/rooms/{room}/attendance/export_excel/",
    ]


def test_gestionnaires_read_it_participants_and_exposants_do_not(
    client: FlaskClient, c: Cast, held: Held
) -> None:
    for url in _urls(c, held.id, c.world.rooms[0]):
        got = {who: client.get(url, headers=c.headers[who]).status_code for who in c.headers}
        assert got == {
            G: 200,
            ORG: 200,
            C: 403,  # posted to no room
            P: 403,
            E: 403,
            "admin": 403,  # a platform admin has the role they hold here: participant
            "outsider": 404,  # another event's
        }, url
        assert client.get(url).status_code == 401


def test_a_controller_reads_the_room_they_are_posted_to(
    app: Flask, client: FlaskClient, make: Factory, c: Cast, held: Held
) -> None:
    w = c.world
    other_room = make.session(c.event_id, w.rooms[1], start=held.start)
    post(app, c.members[C], w.rooms[0])
    for url in _urls(c, held.id, w.rooms[0]):
        assert client.get(url, headers=c.headers[C]).status_code == 200, url
    for url in _urls(c, other_room, w.rooms[1]):
        assert client.get(url, headers=c.headers[C]).status_code == 403, url


def test_a_controllers_room_comes_from_their_role_when_no_slot_covers_now(
    app: Flask, client: FlaskClient, make: Factory, c: Cast, held: Held
) -> None:
    w = c.world
    post(app, c.members[C], w.rooms[1], hours=(-5, -4))  # over: not their room now
    with app.app_context():
        db.session.execute(
            update(UserEventAssignment)
            .where(
                UserEventAssignment.user_id == c.members[C].user_id,
                UserEventAssignment.event_id == c.event_id,
            )
            .values(meta={"assigned_room_id": str(w.rooms[0])})
        )
        db.session.commit()
    assert client.get(held.url, headers=c.headers[C]).status_code == 200
    url = f"/api/rooms/{w.rooms[1]}/attendance/"
    assert client.get(url, headers=c.headers[C]).status_code == 403


def test_unknown_and_malformed_ids_are_404(client: FlaskClient, c: Cast) -> None:
    other_session = c.other.free_session
    for url in [
        *_urls(c, uuid.uuid4(), uuid.uuid4()),
        *_urls(c, other_session, c.other.rooms[0]),
        "/api/sessions/not-a-uuid/attendance/",
        "/api/sessions/not-a-uuid/attendance/export_excel/",
        "/api/rooms/123/attendance/",
        "/api/rooms/123/attendance/export_excel/",
    ]:
        r = client.get(url, headers=c.headers[G])
        assert r.status_code == 404, url
        assert r.is_json and isinstance(r.get_json()["error"], str)


# ---------------------------------------------------------------------------
# workbooks


def _cells(data: bytes) -> dict[str, list[list[Any]]]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: [[cell for cell in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def test_the_sessions_workbook(
    app: Flask, client: FlaskClient, make: Factory, c: Cast, held: Held
) -> None:
    w = c.world
    hostile = person(app, make, c, first_name=HOSTILE, last_name="")
    plain = person(app, make, c, first_name="Amina", last_name="Benali")
    add_scan(app, w, hostile, held.start + timedelta(minutes=2))
    add_scan(app, w, hostile, held.start + timedelta(minutes=40))
    add_scan(app, w, plain, held.start + timedelta(minutes=1, microseconds=5))
    add_scan(app, w, plain, held.start - timedelta(minutes=1))  # before: not in it
    r = client.get(held.url + "export_excel/", headers=c.headers[G])
    assert r.status_code == 200, r.data[:300]
    assert r.mimetype == MIMETYPE
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "Presence_Session_Atelier_IA_" in disposition
    assert r.headers["X-Filename"].endswith(".xlsx") and r.headers["Cache-Control"] == "no-store"
    sheets = _cells(r.data)
    assert list(sheets) == ["Résumé", "Atelier IA"]
    summary = [[cell.value for cell in row] for row in sheets["Résumé"]]
    naive = held.start.replace(tzinfo=None)
    assert summary == [
        ["Session", "Salle", "Début (UTC)", "Fin (UTC)", "Capacité", "Présents"],
        ["Atelier IA", "Room 0", naive, naive + timedelta(hours=1), 0, 2],
    ]
    rows = sheets["Atelier IA"]
    assert [cell.value for cell in rows[0]] == [
        "Première entrée (UTC)",
        "Nom",
        "Email",
        "Badge",
        "Organisation",
        "Entrées",
    ]
    assert [[cell.value for cell in row] for row in rows[1:]] == [
        [
            naive + timedelta(minutes=1),
            "Amina Benali",
            plain.email,
            badge_number(app, plain),
            f"Org {plain.user_id}",
            1,
        ],
        [
            naive + timedelta(minutes=2),
            HOSTILE,
            hostile.email,
            badge_number(app, hostile),
            f"Org {hostile.user_id}",
            2,
        ],
    ]
    name_cell = rows[2][1]
    assert name_cell.value == HOSTILE and name_cell.data_type == "s"
    assert all(cell.data_type == "s" for row in rows[1:] for cell in row[1:5])


def test_the_rooms_workbook_of_a_day(
    app: Flask, client: FlaskClient, make: Factory, c: Cast, held: Held
) -> None:
    w = c.world
    hostile = person(app, make, c, first_name="@SUM(A1:A9)", last_name="-2+3")
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    add_scan(app, w, hostile, today + timedelta(seconds=3), session=held.id, offline=True)
    add_scan(app, w, hostile, today - timedelta(hours=2))  # yesterday
    url = f"/api/rooms/{w.rooms[0]}/attendance/export_excel/?date={today:%Y-%m-%d}"
    r = client.get(url, headers=c.headers[G])
    assert r.status_code == 200, r.data[:300]
    assert r.mimetype == MIMETYPE
    assert f"Presence_Salle_Room_0_{today:%Y%m%d}_" in r.headers["Content-Disposition"]
    sheets = _cells(r.data)
    assert list(sheets) == ["Room 0"]
    rows = [[cell.value for cell in row] for row in sheets["Room 0"]]
    assert rows == [
        [
            "Date/Heure (UTC)",
            "Nom",
            "Email",
            "Badge",
            "Organisation",
            "Session",
            "Hors ligne",
        ],
        [
            (today + timedelta(seconds=3)).replace(tzinfo=None),
            "@SUM(A1:A9) -2+3",
            hostile.email,
            badge_number(app, hostile),
            f"Org {hostile.user_id}",
            "Atelier IA",
            "oui",
        ],
    ]
    assert sheets["Room 0"][1][1].data_type == "s"
    every_day = client.get(url.split("?")[0], headers=c.headers[G])
    assert len(_cells(every_day.data)["Room 0"]) == 3


# ---------------------------------------------------------------------------
# the document, and the queries


def test_the_document_lists_the_attendance_operations(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    session = paths["/api/sessions/{session_id}/attendance/"]["get"]
    room = paths["/api/rooms/{room_id}/attendance/"]["get"]
    for op in (session, room):
        assert {"200", "400", "401", "403", "404"} <= set(op["responses"])
        assert op["security"] == [{"bearerAuth": []}]
    ref = session["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    props = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert {"session", "attendees", "capacity", "count", "next", "previous", "results"} <= set(
        props
    )
    assert "date" in {p["name"] for p in room["parameters"] if p["in"] == "query"}
    for path in (
        "/api/sessions/{session_id}/attendance/export_excel/",
        "/api/rooms/{room_id}/attendance/export_excel/",
    ):
        op = paths[path]["get"]
        assert MIMETYPE in op["responses"]["200"]["content"], path
        assert {"401", "403", "404"} <= set(op["responses"])


@pytest.fixture
def statements(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run while the test runs, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa_event.remove(engine, "before_cursor_execute", record)


def _scans_read(seen: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(sql, params) for sql, params in seen if "room_accesses" in sql]


def test_one_query_for_the_page_and_one_for_the_count(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    c: Cast,
    held: Held,
    statements: list[tuple[str, Any]],
) -> None:
    counts = []
    for n in (1, 6):
        for _ in range(n):
            add_scan(app, c.world, person(app, make, c), held.start + timedelta(minutes=1))
        for url in (held.url, f"/api/rooms/{c.world.rooms[0]}/attendance/"):
            statements.clear()
            r = client.get(url, headers=c.headers[G])
            assert r.status_code == 200
            counts.append((len(statements), len(_scans_read(statements))))
    assert counts[0] == counts[2] and counts[1] == counts[3], counts
    assert counts[0][1] == 2 and counts[1][1] == 2, counts


def test_the_queries_read_room_accesses_through_an_index(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    c: Cast,
    held: Held,
    backend: str,
    statements: list[tuple[str, Any]],
) -> None:
    if backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    add_scan(app, c.world, person(app, make, c), held.start + timedelta(minutes=1))
    today = utcnow().date().isoformat()
    room = c.world.rooms[0]
    for url in (
        held.url,
        held.url + "export_excel/",
        f"/api/rooms/{room}/attendance/",
        f"/api/rooms/{room}/attendance/?date={today}",
        f"/api/rooms/{room}/attendance/export_excel/?date={today}",
    ):
        statements.clear()
        assert client.get(url, headers=c.headers[G]).status_code == 200
        read = _scans_read(statements)
        assert read, url
        with app.app_context():
            conn = db.session.connection().connection.driver_connection
            for sql, params in read:
                plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
                on_scans = [step for step in plan if "room_accesses" in step]
                assert on_scans, (url, plan)
                for step in on_scans:
                    assert "USING" in step and "INDEX" in step, (url, plan)
                    assert step.startswith("SEARCH"), (url, plan)
                    if url.startswith(held.url):
                        # a session's attendees from the index alone, entries included
                        assert "COVERING INDEX" in step, (url, plan)
