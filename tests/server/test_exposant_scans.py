"""Booth visits (seed: Exposant Scan Endpoints): recording, reading, statistics, export.

Permission matrix, "Exposant Scans": view for gestionnaires (all of their event)
and exposants (their own); create and my_scans for exposants only. Another
event's scans do not exist for the caller (404). Scans are decided by the
shared core in booth mode; refused badges are logged with the verdict's code.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from server.badges import reissue_badge
from server.extensions import db
from server.models import ExposantScan, User, UserEventAssignment
from shared.leads import (
    MIMETYPE,
    SUMMARY_HEADERS,
    SUMMARY_SHEET,
    TOTAL_LABEL,
    VISIT_HEADERS,
)
from shared.roles import Role
from shared.timefmt import utcnow
from tests.conftest import AuthActions, Factory, Member, World

G, C, P, E = (
    r.value for r in (Role.GESTIONNAIRE, Role.CONTROLLEUR, Role.PARTICIPANT, Role.EXPOSANT)
)
URL = "/api/exposant-scans/"
FILENAME_RE = re.compile(r"^Statistiques_Visiteurs_[A-Za-z0-9._-]+_\d{8}_\d{6}\.xlsx$")


def post(client: FlaskClient, auth: AuthActions, who: Member, **body: Any) -> Any:
    return client.post(URL, json=body, headers=auth.headers(who))


def get(client: FlaskClient, auth: AuthActions, who: Member, url: str = URL, **query: Any) -> Any:
    return client.get(url, query_string=query, headers=auth.headers(who))


def count_scans(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ExposantScan)) or 0


def add_scan(
    app: Flask,
    exposant: Member,
    visitor: Member,
    *,
    at: datetime,
    status: str = "granted",
    notes: str | None = None,
) -> uuid.UUID:
    """A scan row written directly (e.g. at another time than now)."""
    with app.app_context():
        scan = ExposantScan(
            id=uuid.uuid4(),
            exposant_id=exposant.participant_id,
            scanned_participant_id=visitor.participant_id,
            event_id=exposant.event_id,
            scanned_at=at,
            notes=notes,
            user_id=visitor.user_id,
            badge_id=visitor.badge_id,
            status=status,
            reason="granted" if status == "granted" else "not_in_event",
        )
        db.session.add(scan)
        db.session.commit()
        return scan.id


@pytest.fixture
def world(make: Factory) -> World:
    return make.world("Salon Alger")


@pytest.fixture
def other(make: Factory) -> World:
    return make.world("Salon Oran")


# ---------------------------------------------------------------------------
# recording: the decision core in booth mode


def test_an_exposant_records_a_visit(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    expo, visitor = world.members[E], world.members[P]
    r = post(client, auth, expo, qr_data=visitor.qr, notes="Intéressé par le produit X")
    assert r.status_code == 201, r.json
    body = r.json
    assert (body["status"], body["reason"]) == ("granted", "granted")
    assert (body["server_status"], body["server_reason"]) == ("granted", "granted")
    assert body["exposant"] == str(expo.participant_id)
    assert body["exposant_user_id"] == expo.user_id
    assert body["scanned_participant"] == str(visitor.participant_id)
    assert body["event"] == str(world.event_id)
    assert body["notes"] == "Intéressé par le produit X"
    assert body["scanned_at"].endswith("Z")
    assert body["visitor"]["user_id"] == visitor.user_id
    assert body["visitor"]["email"] == visitor.email
    assert body["visitor"]["badge_id"] == f"USER-{visitor.user_id}"  # not the secret part
    assert body["decided_offline"] is False and body["client_id"] is None
    # the same visitor, by participant id; the QR may also come as the decoded object
    r = post(client, auth, expo, scanned_participant=str(visitor.participant_id))
    assert r.status_code == 201, r.json
    assert r.json["notes"] is None and r.json["visitor"]["badge_id"] == f"USER-{visitor.user_id}"
    obj = {"user_id": visitor.user_id, "badge_id": visitor.badge_id}
    assert post(client, auth, expo, qr_data=obj).status_code == 201
    assert count_scans(app) == 3


def test_refused_badges_are_logged_with_the_verdicts_code(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, other: World
) -> None:
    expo, visitor = world.members[E], world.members[P]
    with app.app_context():
        user = db.session.get(User, visitor.user_id)
        assert user is not None
        reissue_badge(user, None)
        db.session.commit()
    outcomes = [
        (other.members[P].qr, 403, "not_in_event"),  # a person of another event
        ("garbage", 400, "invalid_badge"),
        ('{"user_id": 1}', 400, "invalid_badge"),
        (visitor.qr, 403, "revoked_badge"),  # the badge was reissued
        (
            f'{{"user_id": {visitor.user_id}, "badge_id": "USER-{visitor.user_id}-ZZZZZZZZ"}}',
            404,
            "unknown_badge",
        ),
    ]
    for qr, code, reason in outcomes:
        r = post(client, auth, expo, qr_data=qr, notes="n")
        assert r.status_code == code, (qr, r.json)
        assert (r.json["status"], r.json["reason"], r.json["code"]) == ("denied", reason, reason)
        assert r.json["id"] and r.json["error"]
        if reason == "invalid_badge":
            assert "qr_data" in r.json["fields"]
    assert count_scans(app) == len(outcomes)  # every one of them logged
    listed = get(client, auth, expo, status="denied", page_size=50).json
    assert listed["count"] == len(outcomes)
    assert {s["reason"] for s in listed["results"]} == {o[2] for o in outcomes}
    stats = get(client, auth, expo, URL + "my_scans/").json
    assert (stats["total_visits"], stats["today_visits"], stats["scans"]) == (0, 0, [])


def test_bad_input_is_a_400_naming_the_field(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, other: World
) -> None:
    expo, visitor = world.members[E], world.members[P]
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "qr_data"),
        ({"notes": "x"}, "qr_data"),
        ({"qr_data": 12}, "qr_data"),
        ({"qr_data": ["a"]}, "qr_data"),
        (
            {"qr_data": visitor.qr, "scanned_participant": str(visitor.participant_id)},
            "scanned_participant",
        ),
        ({"scanned_participant": "nope"}, "scanned_participant"),
        ({"scanned_participant": 5}, "scanned_participant"),
        ({"scanned_participant": str(uuid.uuid4())}, "scanned_participant"),
        ({"scanned_participant": str(other.members[P].participant_id)}, "scanned_participant"),
        ({"qr_data": visitor.qr, "notes": 5}, "notes"),
        ({"qr_data": visitor.qr, "notes": "x" * 2001}, "notes"),
    ]
    for body, name in cases:
        r = client.post(URL, json=body, headers=auth.headers(expo))
        assert r.status_code == 400, (body, r.json)
        assert name in r.json["fields"], (body, r.json)
    r = client.post(URL, data="qr", headers=auth.headers(expo))
    assert r.status_code in (400, 415) and "body" in r.json["fields"]
    queries: list[dict[str, str]] = [
        {"status": "maybe"},
        {"page": "0"},
        {"date": "29/11/2025"},
        {"date": "9999-12-31"},
        {"exposant": "x"},
        {"reason": "sunny"},
    ]
    for query in queries:
        r = get(client, auth, expo, **query)
        assert r.status_code == 400 and set(r.json["fields"]) == set(query), (query, r.json)
    r = get(client, auth, expo, URL + "export_excel/", action="print")
    assert r.status_code == 400 and "action" in r.json["fields"]
    assert count_scans(app) == 0


def test_an_exposant_without_a_booth_record_cannot_record(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    bare = make.member(world.event_id, E, participant=False)
    r = post(client, auth, bare, qr_data=world.members[P].qr)
    assert r.status_code == 403, r.json
    assert count_scans(app) == 0
    assert get(client, auth, bare).json["count"] == 0


# ---------------------------------------------------------------------------
# the permission matrix


def test_permission_matrix(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World, other: World
) -> None:
    expo, visitor = world.members[E], world.members[P]
    expo2 = make.member(world.event_id, E)  # another exposant of the same event
    mine = post(client, auth, expo, qr_data=visitor.qr).json["id"]
    theirs = post(client, auth, expo2, qr_data=visitor.qr).json["id"]
    b_scan = post(client, auth, other.members[E], qr_data=other.members[P].qr).json["id"]
    before = count_scans(app)

    # create: exposants only
    for role in (G, C, P):
        r = post(client, auth, world.members[role], qr_data=visitor.qr)
        assert r.status_code == 403, (role, r.json)
    assert post(client, auth, other.members[G], qr_data=visitor.qr).status_code == 403
    assert count_scans(app) == before

    # list: gestionnaire all of the event, exposant own, others 403
    listed = get(client, auth, world.members[G]).json
    assert {s["id"] for s in listed["results"]} == {mine, theirs}
    assert {s["id"] for s in get(client, auth, expo).json["results"]} == {mine}
    assert {s["id"] for s in get(client, auth, expo2).json["results"]} == {theirs}
    for role in (C, P):
        assert get(client, auth, world.members[role]).status_code == 403
    assert {s["id"] for s in get(client, auth, other.members[G]).json["results"]} == {b_scan}
    r = get(client, auth, world.members[G], event_id=str(other.event_id))
    assert r.status_code == 403 and "event_id" in r.json["fields"]

    # detail: the same rules; another exposant's visit and another event's are 404
    assert get(client, auth, world.members[G], f"{URL}{theirs}/").status_code == 200
    assert get(client, auth, expo, f"{URL}{mine}/").json["id"] == mine
    assert get(client, auth, expo, f"{URL}{theirs}/").status_code == 404
    assert get(client, auth, expo, f"{URL}{b_scan}/").status_code == 404
    assert get(client, auth, expo, f"{URL}{uuid.uuid4()}/").status_code == 404
    assert get(client, auth, other.members[G], f"{URL}{mine}/").status_code == 404
    for role in (C, P):
        assert get(client, auth, world.members[role], f"{URL}{mine}/").status_code == 403

    # my_scans and export_excel: exposants only
    for role in (G, C, P):
        who = world.members[role]
        assert get(client, auth, who, URL + "my_scans/").status_code == 403, role
        assert get(client, auth, who, URL + "export_excel/").status_code == 403, role
    assert client.get(URL).status_code == 401
    assert client.get(URL + "export_excel/").status_code == 401


def test_filters_and_pagination(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    expo = world.members[E]
    visitors = [make.member(world.event_id, P) for _ in range(5)]
    ids = [post(client, auth, expo, qr_data=v.qr).json["id"] for v in visitors]
    post(client, auth, expo, qr_data="garbage")
    gest = world.members[G]

    page1 = get(client, auth, gest, page_size=2, status="granted").json
    assert page1["count"] == 5 and len(page1["results"]) == 2
    assert page1["previous"] is None and "page=2" in page1["next"]
    assert "status=granted" in page1["next"]
    page3 = get(client, auth, gest, page_size=2, page=3, status="granted").json
    assert len(page3["results"]) == 1 and page3["next"] is None and "page=2" in page3["previous"]
    seen = []
    for page in (1, 2, 3):
        got = get(client, auth, gest, page_size=2, page=page, status="granted").json
        seen += [s["id"] for s in got["results"]]
    assert seen == ids[::-1]  # newest first, each once

    one = get(client, auth, gest, scanned_participant=str(visitors[2].participant_id)).json
    assert [s["id"] for s in one["results"]] == [ids[2]]
    assert get(client, auth, gest, exposant=str(expo.participant_id)).json["count"] == 6
    assert get(client, auth, gest, reason="invalid_badge").json["count"] == 1
    today = utcnow().strftime("%Y-%m-%d")
    assert get(client, auth, gest, date=today).json["count"] == 6
    assert get(client, auth, gest, date="2001-01-01").json["count"] == 0
    assert get(client, auth, gest, event_id=str(world.event_id)).json["count"] == 6


def test_my_scans_counts_today_and_total_visits(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    expo, visitor = world.members[E], world.members[P]
    now = utcnow()
    add_scan(app, expo, visitor, at=now - timedelta(days=2), notes="old")
    add_scan(app, expo, visitor, at=now - timedelta(days=1))
    add_scan(app, expo, visitor, at=now, status="denied")  # logged, not a visit
    add_scan(app, make.member(world.event_id, E), visitor, at=now)  # another exposant's
    post(client, auth, expo, qr_data=visitor.qr)
    post(client, auth, expo, qr_data=world.members[C].qr)  # staff visit a booth too

    r = get(client, auth, expo, URL + "my_scans/")
    assert r.status_code == 200, r.json
    assert (r.json["total_visits"], r.json["today_visits"]) == (4, 2)
    assert len(r.json["scans"]) == 4
    times = [s["scanned_at"] for s in r.json["scans"]]
    assert times == sorted(times, reverse=True)
    assert {s["status"] for s in r.json["scans"]} == {"granted"}
    ok = get(client, auth, expo, URL + "my_scans/", event_id=str(world.event_id))
    assert ok.json["total_visits"] == 4
    elsewhere = get(client, auth, expo, URL + "my_scans/", event_id=str(uuid.uuid4()))
    assert elsewhere.status_code == 403 and "event_id" in elsewhere.json["fields"]
    bad = get(client, auth, expo, URL + "my_scans/", event_id="x")
    assert bad.status_code == 400 and "event_id" in bad.json["fields"]


# ---------------------------------------------------------------------------
# export_excel


def sheets_of(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def test_export_excel_has_a_summary_and_a_sheet_per_event(
    app: Flask, make: Factory, client: FlaskClient, auth: AuthActions, world: World, other: World
) -> None:
    expo = world.members[E]
    with app.app_context():
        user = db.session.get(User, expo.user_id)
        assert user is not None
        db.session.expunge(user)
    # the same exposant at a second event, and a third where the role was withdrawn
    expo_b = make.member(other.event_id, E, user=user)
    third = make.world("Salon Annaba")
    expo_c = make.member(third.event_id, E, user=user)
    v1, v2 = world.members[P], make.member(world.event_id, P)
    now = utcnow().replace(microsecond=0)
    add_scan(app, expo, v1, at=now - timedelta(hours=3), notes="Intéressé par le produit X")
    add_scan(app, expo, v2, at=now - timedelta(hours=1))
    add_scan(app, expo, v2, at=now, status="denied")  # not a visit
    add_scan(app, expo_b, other.members[P], at=now - timedelta(hours=2), notes="rappeler")
    add_scan(app, expo_c, third.members[P], at=now)
    with app.app_context():
        withdrawn = db.session.scalars(
            select(UserEventAssignment).where(
                UserEventAssignment.user_id == expo.user_id,
                UserEventAssignment.event_id == third.event_id,
            )
        ).one()
        withdrawn.is_active = False
        db.session.commit()

    r = get(client, auth, expo, URL + "export_excel/")
    assert r.status_code == 200, r.data[:200]
    assert r.mimetype == MIMETYPE
    name = r.headers["X-Filename"]
    assert FILENAME_RE.match(name), name
    assert name.startswith(f"Statistiques_Visiteurs_{user.username}_")
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert name in r.headers["Content-Disposition"]

    sheets = sheets_of(r.data)
    assert list(sheets) == [SUMMARY_SHEET, "Salon Alger", "Salon Oran"]
    summary = sheets[SUMMARY_SHEET]
    assert summary[0] == SUMMARY_HEADERS
    naive = now.replace(tzinfo=None)
    assert summary[1] == (
        "Salon Alger",
        2,
        naive - timedelta(hours=3),
        naive - timedelta(hours=1),
    )
    assert summary[2] == ("Salon Oran", 1, naive - timedelta(hours=2), naive - timedelta(hours=2))
    assert summary[3] == (TOTAL_LABEL, 3, naive - timedelta(hours=3), naive - timedelta(hours=1))
    assert len(summary) == 4

    alger = sheets["Salon Alger"]
    assert alger[0] == VISIT_HEADERS
    with app.app_context():
        names = {u.id: u.full_name for u in db.session.scalars(select(User)).all()}
    assert alger[1:] == [
        (
            naive - timedelta(hours=3),
            names[v1.user_id],
            v1.email,
            f"USER-{v1.user_id}",
            "Intéressé par le produit X",
        ),
        (naive - timedelta(hours=1), names[v2.user_id], v2.email, f"USER-{v2.user_id}", None),
    ]
    oran = sheets["Salon Oran"]
    visitor_b = other.members[P]
    assert oran == [
        VISIT_HEADERS,
        (
            naive - timedelta(hours=2),
            names[visitor_b.user_id],
            visitor_b.email,
            f"USER-{visitor_b.user_id}",
            "rappeler",
        ),
    ]

    wb = load_workbook(io.BytesIO(r.data))
    header = wb["Salon Alger"]["A1"]
    assert header.font.bold and header.fill.fgColor.rgb.endswith("1F4E78")
    assert wb["Salon Alger"].column_dimensions["C"].width >= len(v2.email)

    share = get(client, auth, expo, URL + "export_excel/", action="share")
    assert share.status_code == 200
    assert share.headers["Content-Disposition"].startswith("inline;")
    assert FILENAME_RE.match(share.headers["X-Filename"])
    assert sheets_of(share.data) == sheets
    download = get(client, auth, expo, URL + "export_excel/", action="download")
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_export_excel_with_no_visits(client: FlaskClient, auth: AuthActions, world: World) -> None:
    r = get(client, auth, world.members[E], URL + "export_excel/")
    assert r.status_code == 200
    sheets = sheets_of(r.data)
    assert sheets == {
        SUMMARY_SHEET: [
            SUMMARY_HEADERS,
            ("Salon Alger", 0, None, None),
            (TOTAL_LABEL, 0, None, None),
        ],
        "Salon Alger": [VISIT_HEADERS],
    }
