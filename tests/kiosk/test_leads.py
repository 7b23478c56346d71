"""Booth leads on the kiosk: visits written with their scan, notes edited before and
after sync, ``badgegate-kiosk leads``, and the offline export, which must be the
server's ``export_excel`` workbook for the same visits."""

from __future__ import annotations

import io
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from kiosk import cli
from kiosk.decide import record_scan
from kiosk.leads import export_leads, kiosk_sheets
from kiosk.store import BoothVisit, KioskStore, StoreError
from server.extensions import db
from server.models import ExposantScan
from shared.leads import SUMMARY_HEADERS, SUMMARY_SHEET, TOTAL_LABEL, VISIT_HEADERS
from shared.roles import Role
from shared.sync import Scan
from tests.conftest import AuthActions, Factory, Member
from tests.kiosk import world
from tests.kiosk.conftest import MakeStore, closed_port_url, provision
from tests.kiosk.world import NOW, qr

# ---------------------------------------------------------------------------
# the store and record_scan


def outbox(store: KioskStore) -> dict[str, tuple[str | None, str]]:
    rows = store._conn().execute("SELECT client_id, notes, state FROM outbox").fetchall()
    return {cid: (notes, state) for cid, notes, state in rows}


def ack_all(store: KioskStore, result: str = "accepted") -> None:
    store.ack([{"client_id": str(s.client_id), "result": result} for s in store.pending()])


def test_a_booth_scan_writes_its_visit_with_the_outbox_row(make_store: MakeStore) -> None:
    store = make_store(mode="booth")
    verdict, scan = record_scan(store, qr(world.PAID), NOW, notes="wants a demo")
    assert verdict.granted
    denied, refused = record_scan(store, qr(world.OUTSIDER), NOW)
    assert not denied.granted
    garbage, bad = record_scan(store, "garbage", NOW)
    assert garbage.reason == "invalid_badge"

    leads = store.leads()
    assert len(leads) == 1
    lead = leads[0]
    assert lead["client_id"] == str(scan.client_id)
    assert (lead["name"], lead["organisation"], lead["email"]) == ("Person 2", "ACME", None)
    assert (lead["user_id"], lead["badge_id"]) == (world.PAID, f"USER-{world.PAID}")
    assert (lead["status"], lead["reason"], lead["notes"]) == ("granted", "granted", "wants a demo")
    assert lead["scanned_at"] == "2025-11-29T10:30:00Z"
    assert lead["event_id"] == world.EVENT and lead["sync"] == "pending"
    # refused badges are logged and uploaded, but are not leads
    every = {v["client_id"]: v for v in store.leads(every_scan=True)}
    assert set(every) == {str(scan.client_id), str(refused.client_id), str(bad.client_id)}
    assert every[str(refused.client_id)]["reason"] == "not_in_event"
    assert every[str(bad.client_id)]["user_id"] is None
    assert set(outbox(store)) == set(every)
    assert store.visit(str(scan.client_id)) == lead


def test_a_door_scan_writes_no_visit(make_store: MakeStore) -> None:
    store = make_store(mode="door")
    record_scan(store, qr(world.PAID), NOW)
    assert store.leads(every_scan=True) == [] and store.queue_length() == 1


def test_the_visit_and_its_scan_are_one_transaction(make_store: MakeStore) -> None:
    store = make_store(mode="booth")
    _verdict, scan = record_scan(store, qr(world.PAID), NOW)
    ack_all(store)
    visit = BoothVisit(1, None, None, None, None)
    with pytest.raises(sqlite3.IntegrityError):  # the visit exists: nothing is written
        store.enqueue(scan, visit)
    assert store.queue_length() == 0 and len(store.leads()) == 1


def test_set_note_before_sync_updates_the_queued_scan(make_store: MakeStore) -> None:
    store = make_store(mode="booth")
    _verdict, scan = record_scan(store, qr(world.PAID), NOW)
    cid = str(scan.client_id)
    assert store.set_note(cid, "rappeler lundi") == "queued"
    assert outbox(store) == {cid: ("rappeler lundi", "pending")}
    assert store.pending()[0].notes == "rappeler lundi"
    assert store.leads()[0]["notes"] == "rappeler lundi"
    assert store.leads()[0]["notes_updated_at"] is not None


def test_set_note_after_sync_queues_the_same_scan_again(make_store: MakeStore) -> None:
    store = make_store(mode="booth")
    _verdict, scan = record_scan(store, qr(world.PAID), NOW, notes="first")
    ack_all(store)
    assert store.queue_length() == 0 and store.leads()[0]["sync"] == "sent"
    assert store.set_note(str(scan.client_id), "second") == "resent"
    (again,) = store.pending()
    assert again.client_id == scan.client_id and again.notes == "second"
    # the badge itself is not kept once sent: only the visitor's user id goes again
    assert json.loads(again.payload) == {"user_id": world.PAID}
    assert (again.scanned_at, again.kind) == (NOW, "booth_visit")
    assert (again.status, again.reason) == ("granted", "granted")
    assert store.leads()[0]["sync"] == "pending"


def test_a_note_edited_during_a_push_is_sent_again(make_store: MakeStore) -> None:
    store = make_store(mode="booth")
    _verdict, scan = record_scan(store, qr(world.PAID), NOW, notes="old")
    cid = str(scan.client_id)
    (sent,) = store.pending()  # the push carries "old"...
    assert sent.notes == "old"
    assert store.set_note(cid, "new") == "queued"  # ...while the note changes
    store.ack([{"client_id": cid, "result": "accepted"}])
    assert outbox(store) == {cid: ("new", "pending")}  # kept: the server has "old"
    ack_all(store, "duplicate")
    assert outbox(store) == {}


def test_set_note_refusals(make_store: MakeStore) -> None:
    store = make_store(mode="booth")
    _v, refused = record_scan(store, qr(world.OUTSIDER), NOW)
    with pytest.raises(StoreError, match="not a lead"):
        store.set_note(str(refused.client_id), "x")
    with pytest.raises(StoreError, match="no visit"):
        store.set_note(str(uuid.uuid4()), "x")
    _v, scan = record_scan(store, qr(world.PAID), NOW)
    with pytest.raises(StoreError, match="at most"):
        store.set_note(str(scan.client_id), "x" * 2001)
    with pytest.raises(StoreError, match="NUL"):
        store.set_note(str(scan.client_id), "a\x00b")
    store.ack([{"client_id": str(scan.client_id), "result": "rejected", "reason": "nope"}])
    assert store.set_note(str(scan.client_id), "kept here") == "rejected"
    assert store.queue_length() == 1  # only the refused badge's scan


def test_a_note_refuses_what_the_server_refuses(make_store: MakeStore) -> None:
    """Control characters (but tab and line breaks) and lone surrogates never reach the
    outbox: the server would refuse the whole batch holding them, again and again."""
    store = make_store(mode="booth")
    _v, scan = record_scan(store, qr(world.PAID), NOW)
    for note in ("a\x1bb", "bell\x07", "del\x7f"):
        with pytest.raises(StoreError, match="control characters"):
            store.set_note(str(scan.client_id), note)
    with pytest.raises(StoreError, match="surrogates"):
        store.set_note(str(scan.client_id), "\ud800")
    assert store.set_note(str(scan.client_id), "ligne\n\tdeux\r\n") == "queued"


def test_an_older_store_gets_the_visits_table(tmp_path: Path) -> None:
    with KioskStore(tmp_path) as store:
        store._conn().execute("DROP TABLE visits")
        store._conn().execute("PRAGMA user_version = 1")
    with KioskStore(tmp_path) as store:
        provision(store, mode="booth")
        record_scan(store, qr(world.PAID), NOW)
        assert len(store.leads()) == 1


def test_a_store_of_schema_2_loses_its_badge_secrets_on_opening(tmp_path: Path) -> None:
    """Schema 2 kept every member's badge id and email, and every visit's badge."""
    with KioskStore(tmp_path) as store:
        provision(store, mode="booth")
        _verdict, scan = record_scan(store, qr(world.PAID), NOW)
        conn = store._conn()
        conn.execute("DROP TABLE members")
        conn.execute("CREATE TABLE members (user_id INTEGER PRIMARY KEY, badge_id TEXT, data TEXT)")
        conn.execute(
            "INSERT INTO members VALUES (2, 'USER-2-SECRETSECRETSECR',"
            ' \'{"user_id": 2, "badge_id": "USER-2-SECRETSECRETSECR", "email": "a@b.c"}\')'
        )
        conn.execute(
            "UPDATE visits SET badge_id = 'USER-2-SECRETSECRETSECR', payload = ?",
            (qr(world.PAID),),
        )
        conn.execute("PRAGMA user_version = 2")
    with KioskStore(tmp_path) as store:
        assert store.count("member") == 0 and store.cursor == "0"  # a new snapshot comes
        (visit,) = store.leads()
        assert visit["client_id"] == str(scan.client_id) and visit["badge_id"] == "USER-2"
        payload = store._conn().execute("SELECT payload FROM visits").fetchone()[0]
        assert json.loads(payload) == {"user_id": world.PAID}
        columns = [r[1] for r in store._conn().execute("PRAGMA table_info(members)")]
        assert columns == ["user_id", "data"]


def test_the_kiosk_workbook(make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store(mode="booth")
    record_scan(store, qr(world.PAID), NOW, notes="démo")
    record_scan(store, qr(world.EXPOSANT), NOW.replace(minute=45))
    record_scan(store, qr(world.OUTSIDER), NOW)
    assert export_leads(store, tmp_path / "leads.xlsx") == 2
    sheets = sheets_of(tmp_path / "leads.xlsx")
    assert list(sheets) == [SUMMARY_SHEET, "Tech Summit"]
    first, last = NOW.replace(tzinfo=None), NOW.replace(minute=45, tzinfo=None)
    assert sheets[SUMMARY_SHEET] == [
        SUMMARY_HEADERS,
        ("Tech Summit", 2, first, last),
        (TOTAL_LABEL, 2, first, last),
    ]
    assert sheets["Tech Summit"] == [
        VISIT_HEADERS,
        (first, "Person 2", None, f"USER-{world.PAID}", "démo"),
        (last, "Person 7", None, f"USER-{world.EXPOSANT}", None),
    ]
    assert [s.title for s in kiosk_sheets(store)] == list(sheets)


# ---------------------------------------------------------------------------
# badgegate-kiosk leads


def invoke(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli.main, ["--data-dir", str(data_dir), *args])


def kiosk_dir(tmp_path: Path, mode: str) -> Path:
    data_dir = tmp_path / mode
    with KioskStore(data_dir) as store:
        provision(store, mode=mode, server_url=closed_port_url())
        if mode == "booth":
            record_scan(store, qr(world.PAID), NOW, notes="wants a demo")
            record_scan(store, qr(world.ROOM_A_ONLY), NOW.replace(minute=40))
            record_scan(store, qr(world.OUTSIDER), NOW)
    return data_dir


def test_leads_lists_notes_and_exports(tmp_path: Path) -> None:
    booth = kiosk_dir(tmp_path, "booth")
    listed = invoke(booth, "leads")
    assert listed.exit_code == 0, listed.output
    assert "Person 2" in listed.output and "ACME" in listed.output
    assert "wants a demo" in listed.output and "Person 3" in listed.output
    assert "Person 5" not in listed.output  # a refused badge is not a lead
    assert "2 visites, 2 à envoyer" in listed.output

    rows = json.loads(invoke(booth, "leads", "--json").output)
    assert [r["name"] for r in rows] == ["Person 2", "Person 3"]
    assert len(json.loads(invoke(booth, "leads", "--all", "--json").output)) == 3

    cid = rows[1]["client_id"]
    noted = invoke(booth, "leads", "note", cid[:8], "rappeler")
    assert noted.exit_code == 0, noted.output
    assert "note saved" in noted.output
    rows = json.loads(invoke(booth, "leads", "--json").output)
    assert rows[1]["notes"] == "rappeler"
    assert invoke(booth, "leads", "note", str(uuid.uuid4()), "x").exit_code == 1
    assert invoke(booth, "leads", "note", "", "x").exit_code == 1
    refused = json.loads(invoke(booth, "leads", "--all", "--json").output)
    outsider = next(r for r in refused if r["status"] == "denied")["client_id"]
    result = invoke(booth, "leads", "note", outsider, "x")
    assert result.exit_code == 1 and "not a lead" in result.output

    out = tmp_path / "visites.xlsx"
    exported = invoke(booth, "leads", "export", str(out))
    assert exported.exit_code == 0, exported.output
    assert "2 visites" in exported.output
    sheets = sheets_of(out)
    assert [r[4] for r in sheets["Tech Summit"][1:]] == ["wants a demo", "rappeler"]


def test_leads_is_refused_on_a_door_kiosk(tmp_path: Path) -> None:
    door = kiosk_dir(tmp_path, "door")
    for args in (("leads",), ("leads", "--json"), ("leads", "export", str(tmp_path / "x.xlsx"))):
        result = invoke(door, *args)
        assert result.exit_code == 1, args
        assert "booth kiosks" in result.output
    assert not (tmp_path / "x.xlsx").exists()
    assert invoke(tmp_path / "nowhere", "leads").exit_code == 1  # not provisioned


# ---------------------------------------------------------------------------
# the same visits, exported by the server and by the kiosk


def sheets_of(source: Path | bytes) -> dict[str, list[tuple[Any, ...]]]:
    wb = load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def synced_booth(
    client: FlaskClient, auth: AuthActions, gest: Member, expo: Member, data_dir: Path
) -> tuple[KioskStore, dict[str, str]]:
    """A booth kiosk of ``expo``, provisioned and synced through the Flask test client."""
    made = client.post(
        "/api/kiosks/",
        json={"name": "Stand", "mode": "booth", "exposant_user_id": expo.user_id},
        headers=auth.headers(gest),
    )
    assert made.status_code == 201, made.json
    answer = client.post("/api/kiosks/provision/", json={"code": made.json["provisioning_code"]})
    assert answer.status_code == 201, answer.json
    headers = {"Authorization": f"Bearer {answer.json['device_token']}"}
    store = KioskStore(data_dir)
    store.provision(
        "http://127.0.0.1:9",
        answer.json["device_token"],
        answer.json["kiosk"],
        answer.json["event"],
    )
    cursor = "0"
    while True:
        r = client.get(f"/api/sync/changes?cursor={cursor}&limit=50", headers=headers)
        assert r.status_code == 200, r.json
        store.apply_page(r.json)
        cursor = r.json["cursor"]
        if not r.json["has_more"]:
            return store, headers


def push(client: FlaskClient, headers: dict[str, str], store: KioskStore) -> dict[str, int]:
    """What the kiosk's sync does with its outbox: send it, apply the answers."""
    scans = store.pending()
    r = client.post(
        "/api/sync/scans", json={"scans": [s.to_dict() for s in scans]}, headers=headers
    )
    assert r.status_code == 200, r.json
    return store.ack(r.json["results"])


def server_rows(app: Flask) -> list[ExposantScan]:
    with app.app_context():
        rows = list(db.session.scalars(select(ExposantScan)).all())
        db.session.expunge_all()
        return rows


def test_kiosk_and_server_export_the_same_workbook(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    make: Factory,
    tmp_path: Path,
) -> None:
    w = make.world("Salon: Tech [2025]")  # characters a sheet title cannot hold
    expo, gest = w.members[Role.EXPOSANT.value], w.members[Role.GESTIONNAIRE.value]
    visitors = [
        w.members[Role.PARTICIPANT.value],
        *(make.member(w.event_id, "participant") for _ in range(3)),
    ]
    stranger = make.world().members[Role.PARTICIPANT.value]
    store, headers = synced_booth(client, auth, gest, expo, tmp_path / "kiosk")
    try:
        scans: list[Scan] = []
        for i, v in enumerate(visitors[:3]):
            verdict, scan = record_scan(store, v.qr, notes="démo produit X" if i == 0 else None)
            assert verdict.granted and not verdict.email  # not before the visit syncs
            assert store.leads()[-1]["email"] is None
            scans.append(scan)
        _v, refused = record_scan(store, stranger.qr)
        assert push(client, headers, store) == {
            "accepted": 4,
            "duplicate": 0,
            "rejected": 0,
            "unknown": 0,
        }
        # the visits have synced: the booth now has its visitors' emails, and only theirs
        emails = {v["client_id"]: v["email"] for v in store.leads(every_scan=True)}
        assert emails == {
            **{str(s.client_id): v.email for s, v in zip(scans, visitors, strict=False)},
            str(refused.client_id): None,
        }

        # a note set after the sync: the same scan goes again, the server updates it
        assert store.set_note(str(scans[1].client_id), "rappeler") == "resent"
        assert store.set_note(str(scans[1].client_id), "rappeler lundi") == "queued"
        # a note set before the sync travels with the scan
        _v, late = record_scan(store, visitors[3].qr)
        assert store.set_note(str(late.client_id), "vu en fin de journée") == "queued"
        assert push(client, headers, store)["duplicate"] == 1
        assert store.queue_length() == 0

        rows = {r.client_id: r for r in server_rows(app)}
        assert len(rows) == 5  # one row per scan, whatever was resent
        assert rows[scans[1].client_id].notes == "rappeler lundi"
        assert rows[scans[0].client_id].notes == "démo produit X"
        assert rows[late.client_id].notes == "vu en fin de journée"
        assert rows[refused.client_id].status == "denied"

        kiosk_file = tmp_path / "kiosk.xlsx"
        assert export_leads(store, kiosk_file) == 4
        r = client.get("/api/exposant-scans/export_excel/", headers=auth.headers(expo))
        assert r.status_code == 200
        server_sheets, kiosk_sheets_ = sheets_of(r.data), sheets_of(kiosk_file)
        assert server_sheets == kiosk_sheets_
        assert list(kiosk_sheets_) == [SUMMARY_SHEET, "Salon Tech 2025"]
        detail = kiosk_sheets_["Salon Tech 2025"]
        assert detail[0] == VISIT_HEADERS and len(detail) == 5
        # the badge without its secret part: an exposant cannot make the badge
        assert {row[3] for row in detail[1:]} == {f"USER-{v.user_id}" for v in visitors}
        assert {row[2] for row in detail[1:]} == {v.email for v in visitors}
        assert kiosk_sheets_[SUMMARY_SHEET][1][:2] == ("Salon: Tech [2025]", 4)
        assert kiosk_sheets_[SUMMARY_SHEET][2][:2] == (TOTAL_LABEL, 4)
        # and the widths and header style: the same writer on both sides
        kw, sw = load_workbook(kiosk_file), load_workbook(io.BytesIO(r.data))
        for a, b in zip(kw.worksheets, sw.worksheets, strict=True):
            assert [a.column_dimensions[c].width for c in "ABCDE"] == [
                b.column_dimensions[c].width for c in "ABCDE"
            ]
            assert a["A1"].font.bold and b["A1"].font.bold
            assert a["A2"].number_format == b["A2"].number_format
    finally:
        store.close()
