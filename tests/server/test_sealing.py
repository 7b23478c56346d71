"""Sealed scans: the kiosk's outbox holds scanned badges only the server can open."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from flask import Flask
from flask.testing import FlaskClient

from kiosk.decide import record_scan
from kiosk.store import DB_NAME, KioskStore, Sealer
from shared import sealing
from shared.sync import SyncFormatError, parse_scan
from tests.conftest import AuthActions, Factory, World
from tests.server.test_sync import door_kiosk, push, scan


@pytest.fixture
def world(make: Factory) -> World:
    return make.world()


def synced_store(
    client: FlaskClient, auth: AuthActions, world: World, folder: Path
) -> tuple[KioskStore, dict[str, str]]:
    made = client.post(
        "/api/kiosks/",
        json={"name": "door", "mode": "door", "room_id": str(world.rooms[2])},
        headers=auth.headers(world.members["gestionnaire_des_salles"]),
    )
    r = client.post("/api/kiosks/provision/", json={"code": made.json["provisioning_code"]})
    assert r.status_code == 201, r.json
    store = KioskStore(folder)
    store.provision("http://127.0.0.1:9", r.json["device_token"], r.json["kiosk"], None,
                    r.json["badge_keys"], r.json["seal_key"])  # fmt: skip
    headers = {"Authorization": f"Bearer {r.json['device_token']}"}
    page = client.get("/api/sync/changes?cursor=0&limit=5000", headers=headers)
    store.apply_page(page.json)
    return store, headers


def test_a_waiting_scan_is_sealed_and_the_server_opens_it(
    client: FlaskClient, auth: AuthActions, world: World, tmp_path: Path
) -> None:
    store, headers = synced_store(client, auth, world, tmp_path / "k")
    p = world.members["participant"]
    verdict, scan = record_scan(store, p.qr)
    assert verdict.granted
    (waiting,) = store.pending()
    assert sealing.is_sealed(waiting.payload) and p.badge_id not in waiting.payload
    store.close()
    with sqlite3.connect(tmp_path / "k" / DB_NAME) as conn:  # nothing of it in the file
        dump = "\n".join(conn.iterdump())
    assert p.badge_id not in dump and p.qr not in dump
    r = client.post("/api/sync/scans", json={"scans": [waiting.to_dict()]}, headers=headers)
    assert r.status_code == 200, r.json
    assert r.json["results"][0]["result"] == "accepted"
    assert r.json["results"][0]["server_reason"] == "granted"  # opened, then judged
    assert scan.client_id == waiting.client_id


def test_a_sealed_payload_altered_or_moved_is_refused(
    client: FlaskClient, auth: AuthActions, world: World, tmp_path: Path
) -> None:
    store, headers = synced_store(client, auth, world, tmp_path / "k")
    record_scan(store, world.members["participant"].qr)
    (sealed,) = store.pending()
    store.close()
    raw = sealing.unpack(sealed.payload)
    assert raw is not None
    flipped = sealing.pack(raw[0], raw[1], bytes([raw[2][0] ^ 1]) + raw[2][1:])
    other = (
        x25519.X25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    elsewhere = uuid.uuid4()
    cases = {
        "altered": dataclasses.replace(sealed, payload=flipped),
        "moved to another scan": dataclasses.replace(sealed, client_id=uuid.uuid4()),
        "sealed for another server": dataclasses.replace(
            sealed,
            client_id=elsewhere,
            payload=Sealer(other).seal(str(elsewhere), world.members["participant"].qr),
        ),
    }
    for what, bad in cases.items():
        r = client.post("/api/sync/scans", json={"scans": [bad.to_dict()]}, headers=headers)
        assert r.status_code == 200, (what, r.json)
        (result,) = r.json["results"]
        assert result["result"] == "rejected", what
        assert result["reason"].startswith("the payload cannot be opened"), what


def test_sealed_payloads_may_be_longer_than_plain_ones() -> None:
    base = {
        "client_id": str(uuid.uuid4()),
        "kind": "room_access",
        "scanned_at": "2025-11-29T10:30:00Z",
        "status": "denied",
        "reason": "invalid_badge",
        "decided_offline": True,
    }
    long_plain = "x" * 3000
    with pytest.raises(SyncFormatError):
        parse_scan({**base, "payload": long_plain}, "scans[0]")
    key = (
        x25519.X25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    sealed = Sealer(key).seal(base["client_id"], "é" * 2048)
    assert len(sealed) > 3000
    assert parse_scan({**base, "payload": sealed}, "scans[0]").payload == sealed
    with pytest.raises(SyncFormatError):
        parse_scan({**base, "payload": sealed + "A" * sealing.MAX_SEALED_CHARS}, "scans[0]")


def test_a_kiosk_without_the_servers_sealing_key_keeps_working(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World
) -> None:
    """A kiosk of an older server (no seal_key) sends plain payloads: still accepted."""
    kiosk = door_kiosk(client, auth, world, world.rooms[2])
    r = push(client, kiosk, [scan(world.members["participant"].qr)])
    assert r.json["results"][0]["server_reason"] == "granted"
