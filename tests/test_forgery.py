"""No badge can be made from what a kiosk holds or receives.

An exposant provisions a booth kiosk with their own login (anyone with a booth
can), reads its whole change feed and uses it for a while: visitors scanned,
visits synced, notes written, a visit still waiting to be sent (sealed to the
server's key). The attacker then has the feed's every byte and
the kiosk's whole ``kiosk.db``. From every user id and every string in them,
build every badge that could be built (the seed's two-field form, with every
id-shaped string; those with every signature-shaped string found), and scan
each one at every door: at the server's ``verify_access`` and at a synced door
kiosk, offline. None is granted anywhere.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from kiosk.decide import decide_scan, record_scan
from kiosk.store import DB_NAME, KioskStore
from server import signing
from server.badges import ensure_profile, reissue_badge
from server.extensions import db
from server.models import User
from shared.roles import Role
from tests.conftest import TEST_PASSWORD, AuthActions, Factory

_ID_TAIL = re.compile(r"[A-Z0-9]{16}|[A-Z0-9]{8}")
_SIG = re.compile(r"[0-9a-f]{8}\.[A-Za-z0-9_-]{86}")


def _walk(value: Any, strings: set[str], ints: set[int]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(k, strings, ints)
            _walk(v, strings, ints)
    elif isinstance(value, list):
        for v in value:
            _walk(v, strings, ints)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        ints.add(value)
    elif isinstance(value, str):
        strings.add(value)
        if value.isdigit() and len(value) < 12:
            ints.add(int(value))


def _store_contents(path: Path, strings: set[str], ints: set[int]) -> None:
    """Every value of every table of a kiosk database (JSON columns opened too)."""
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for cell in row:
                    if isinstance(cell, str):
                        strings.add(cell)
                        with contextlib.suppress(ValueError):
                            _walk(json.loads(cell), strings, ints)
                    elif isinstance(cell, int):
                        ints.add(cell)


def _candidates(strings: set[str], ints: set[int]) -> set[str]:
    """Every badge payload that can be built from these values."""
    tails: set[str] = set()
    sigs: set[str] = set()
    for s in strings:
        tails.update(m.group(0) for m in _ID_TAIL.finditer(s))
        sigs.update(m.group(0) for m in _SIG.finditer(s))
        if re.fullmatch(r"USER-\d+-[A-Z0-9]+", s):
            tails.add(s.rsplit("-", 1)[1])
    users = {u for u in ints if 0 < u < 2**31}
    out: set[str] = set()
    for user_id, tail in itertools.product(users, tails):
        badge = f"USER-{user_id}-{tail}"
        out.add(json.dumps({"user_id": user_id, "badge_id": badge}))
        for sig in sigs:
            out.add(json.dumps({"user_id": user_id, "badge_id": badge, "sig": sig}))
    return out


def test_nothing_a_booth_kiosk_holds_or_receives_makes_a_badge(
    app: Flask, client: FlaskClient, auth: AuthActions, make: Factory, tmp_path: Path
) -> None:
    w = make.world()
    visitors = [make.member(w.event_id, Role.PARTICIPANT.value) for _ in range(3)]
    reissued = visitors[2]
    with app.app_context():  # a lost badge: the old id is revoked, and in every feed
        reissue_badge(db.session.get(User, reissued.user_id), None)  # type: ignore[arg-type]
        db.session.commit()
    expo = w.members[Role.EXPOSANT.value]

    # the attacker's booth kiosk: their own login, every page of its feed
    r = client.post("/api/kiosks/provision/", json={"email": expo.email, "password": TEST_PASSWORD})
    assert r.status_code == 201, r.json
    feed: list[Any] = [r.json]
    headers = {"Authorization": f"Bearer {r.json['device_token']}"}
    booth = KioskStore(tmp_path / "booth")
    booth.provision("http://127.0.0.1:9", r.json["device_token"], r.json["kiosk"], None,
                    r.json["badge_keys"], r.json["seal_key"])  # fmt: skip
    cursor = "0"
    while True:
        page = client.get(f"/api/sync/changes?cursor={cursor}&limit=4", headers=headers)
        assert page.status_code == 200, page.json
        feed.append(page.json)
        booth.apply_page(page.json)
        cursor = page.json["cursor"]
        if not page.json["has_more"]:
            break
    # visitors come by, the visits sync, a note is written after the sync
    for v in visitors[:2]:
        verdict, _scan = record_scan(booth, v.qr, notes="=HYPERLINK(1)")
        assert verdict.granted
    pending = booth.pending()
    answer = client.post(
        "/api/sync/scans", json={"scans": [s.to_dict() for s in pending]}, headers=headers
    )
    assert answer.status_code == 200, answer.json
    feed.append(answer.json)
    assert booth.ack(answer.json["results"])["accepted"] == 2
    booth.set_note(str(pending[0].client_id), "rappeler")
    # and one more visitor while the server is away: the scan waits in the outbox
    verdict, _waiting = record_scan(booth, w.members[Role.PARTICIPANT.value].qr)
    assert verdict.granted and booth.queue_length() == 2  # it, and the note's update
    booth.close()

    strings: set[str] = set()
    ints: set[int] = set()
    _walk(feed, strings, ints)
    _store_contents(tmp_path / "booth" / DB_NAME, strings, ints)
    everyone = [*w.members.values(), *visitors]
    assert {m.user_id for m in everyone} <= ints  # the attacker knows who is there ...
    with app.app_context():
        current = [
            signing.signer().sign(ensure_profile(db.session.get(User, m.user_id)).badge)  # type: ignore[arg-type]
            for m in everyone
        ]
    held = "\n".join(strings)
    for badge in current:  # ... but holds no one's badge id, nor any signature
        assert badge.badge_id not in held
        assert json.loads(badge.payload())["sig"] not in held
    assert reissued.badge_id in held  # the replaced one is: it is on the revoked list
    candidates = _candidates(strings, ints)
    assert len(candidates) > 10  # the revoked badge id, at least, is there to try

    # scan every candidate at every door: online, and at a synced door kiosk offline
    scanner = auth.headers(w.members[Role.CONTROLLEUR.value])
    for room in w.rooms:
        door = KioskStore(tmp_path / f"door-{uuid.uuid4().hex}")
        made = client.post(
            "/api/kiosks/",
            json={"name": "door", "mode": "door", "room_id": str(room)},
            headers=auth.headers(w.members[Role.GESTIONNAIRE.value]),
        )
        cred = client.post("/api/kiosks/provision/", json={"code": made.json["provisioning_code"]})
        door.provision("http://127.0.0.1:9", cred.json["device_token"], cred.json["kiosk"], None,
                       cred.json["badge_keys"])  # fmt: skip
        door_headers = {"Authorization": f"Bearer {cred.json['device_token']}"}
        cursor = "0"
        while True:
            page = client.get(f"/api/sync/changes?cursor={cursor}", headers=door_headers)
            door.apply_page(page.json)
            cursor = page.json["cursor"]
            if not page.json["has_more"]:
                break
        try:
            # the real badges do pass: the doors are not simply shut
            assert decide_scan(door, w.members[Role.CONTROLLEUR.value].qr)[0].granted
            for payload in sorted(candidates):
                offline, _scan = decide_scan(door, payload)
                assert not offline.granted, payload
                online = client.post(
                    f"/api/rooms/{room}/verify_access/", json={"qr_data": payload}, headers=scanner
                )
                assert online.json["status"] == "denied", (payload, online.json)
        finally:
            door.close()
