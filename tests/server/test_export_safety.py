"""The visits workbook a hostile name cannot break or weaponise.

People edit their own names, exposants and kiosks write notes: a control
character is refused at input, one already stored is dropped when the
workbook is written (openpyxl refuses it), and a value that looks like a
formula (``=``, ``+``, ``-``, ``@``) is written as text, never as a formula.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import openpyxl.styles
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from kiosk.leads import write_workbook
from server.export import workbook_bytes
from server.extensions import db
from server.models import User
from shared.leads import EventRef, Visit, build_workbook, fill_workbook
from shared.roles import Role
from shared.timefmt import utcnow
from tests.conftest import AuthActions, Factory, World
from tests.server.test_exposant_scans import add_scan

EXPO, PART, GEST = (r.value for r in (Role.EXPOSANT, Role.PARTICIPANT, Role.GESTIONNAIRE))
FORMULAS = [
    "=1+1",
    "+33 6 12",
    "-2+3",
    "@SUM(A1:A9)",
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
]
WHEN = datetime(2025, 11, 29, 10, 30)


@pytest.fixture
def world(make: Factory) -> World:
    return make.world("Salon Alger")


def _visits(names: list[str], event: str = "e1") -> list[Visit]:
    return [
        Visit(event, WHEN, name, f"v{i}@example.com", f"USER-{i}-AAAA", name)
        for i, name in enumerate(names)
    ]


def _string_cells(data: bytes) -> list[Any]:
    wb = load_workbook(io.BytesIO(data))
    return [
        cell
        for ws in wb.worksheets
        for row in ws.iter_rows(min_row=2)
        for cell in row
        if isinstance(cell.value, str)
    ]


def test_formula_like_values_are_written_as_text() -> None:
    sheets = build_workbook([EventRef("e1", "=EVENT()")], _visits(FORMULAS))
    data = workbook_bytes(sheets)
    cells = _string_cells(data)
    assert {c.value for c in cells} >= {*FORMULAS, "=EVENT()"}
    assert all(c.data_type == "s" for c in cells), [(c.value, c.data_type) for c in cells]


def test_the_kiosk_writes_formula_like_values_as_text(tmp_path: Path) -> None:
    path = tmp_path / "leads.xlsx"
    write_workbook(build_workbook([EventRef("e1", "Salon")], _visits(FORMULAS)), path)
    cells = _string_cells(path.read_bytes())
    assert {c.value for c in cells} >= set(FORMULAS)
    assert all(c.data_type == "s" for c in cells)


def test_control_characters_already_stored_are_dropped_when_writing() -> None:
    names = ["Ali\x07ce", "Bob\x1b[31m", "Carl\x00a", "tab\tand\nline ok", "Del\x7fta"]
    data = workbook_bytes(build_workbook([EventRef("e1", "Salon\x01")], _visits(names)))
    values = {c.value for c in _string_cells(data)}
    assert {"Alice", "Bob[31m", "Carla", "tab\tand\nline ok", "Del\x7fta"} <= values


def test_fill_workbook_leaves_other_cells_alone() -> None:
    sheets = build_workbook([EventRef("e1", "Salon")], _visits(["Ann"]))
    wb = fill_workbook(sheets, openpyxl)
    summary = wb.worksheets[0]
    assert summary.cell(2, 2).value == 1 and summary.cell(2, 2).data_type == "n"
    assert summary.cell(2, 3).value == WHEN and summary.cell(2, 3).data_type == "d"


def test_export_excel_survives_a_stored_control_character(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    expo, visitor = world.members[EXPO], world.members[PART]
    with app.app_context():  # stored before names were checked at input
        user = db.session.get(User, visitor.user_id)
        assert user is not None
        user.first_name, user.last_name = "=Eve\x0b", "\x1bVisitor"
        db.session.commit()
    add_scan(app, expo, visitor, at=utcnow(), notes="@note\x08 here")
    r = client.get("/api/exposant-scans/export_excel/", headers=auth.headers(expo))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    cells = {c.value: c for c in _string_cells(r.data)}
    assert "=Eve Visitor" in cells and cells["=Eve Visitor"].data_type == "s"
    assert "@note here" in cells and cells["@note here"].data_type == "s"


# ---------------------------------------------------------------------------
# refused at input


@pytest.mark.parametrize("char", ["\x07", "\x1b", "\x7f", "\t", "\n", "\r"])
def test_names_refuse_control_characters(
    client: FlaskClient, auth: AuthActions, world: World, char: str
) -> None:
    part = world.members[PART]
    for field in ("first_name", "last_name", "username"):
        r = client.patch(
            "/api/auth/profile/", json={field: f"Ann{char}e"}, headers=auth.headers(part)
        )
        assert r.status_code == 400, (field, r.get_json())
        assert r.get_json()["fields"] == {field: "must not contain control characters"}
    r = client.post(
        "/api/auth/register/",
        json={
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password": "longenough1",
            "last_name": f"X{char}",
        },
    )
    assert r.status_code == 400 and "last_name" in r.get_json()["fields"]
    r = client.post(
        "/api/kiosks/",
        json={"name": f"Porte{char}A", "mode": "door", "room_id": str(world.rooms[0])},
        headers=auth.headers(world.members[GEST]),
    )
    assert r.status_code == 400 and "name" in r.get_json()["fields"]


def test_notes_refuse_control_characters_but_not_line_breaks(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    expo, part = world.members[EXPO], world.members[PART]
    url = "/api/exposant-scans/"
    bad = client.post(url, json={"qr_data": part.qr, "notes": "a\x1bb"}, headers=auth.headers(expo))
    assert bad.status_code == 400
    assert bad.get_json()["fields"] == {"notes": "must not contain control characters"}
    ok = client.post(
        url,
        json={"qr_data": part.qr, "notes": "ligne 1\n\tligne 2\r\n"},
        headers=auth.headers(expo),
    )
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["notes"] == "ligne 1\n\tligne 2\r\n"


def test_uploaded_notes_refuse_control_characters(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    from tests.server.test_sync import booth_kiosk, push, scan

    booth = booth_kiosk(client, auth, world)
    item = scan(world.members[PART].qr, kind="booth_visit", notes="x\x07")
    r = push(client, booth, [item])
    assert r.status_code == 400
    assert r.get_json()["fields"] == {"scans[0].notes": "must not contain control characters"}
    fine = scan(world.members[PART].qr, kind="booth_visit", notes="a\nb\tc")
    assert push(client, booth, [fine]).status_code == 200
