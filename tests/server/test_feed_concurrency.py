"""The change feed never skips a change that commits late (PostgreSQL, real threads).

Writers commit concurrently and are slowed down between drawing their log
sequence numbers and committing, the window in which a naive feed lets a
reader see seq n+1 before seq n commits and move its cursor past n for good.
A kiosk reader pulls deltas the whole time; at the end it must have seen
every committed change exactly once.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from server.extensions import db
from server.models import Room
from tests.conftest import AuthActions, Factory

WRITERS = 4
ROOMS_PER_WRITER = 15


def _provision(client: Any, auth: AuthActions, make: Factory) -> tuple[uuid.UUID, dict[str, str]]:
    world = make.world()
    headers = auth.headers(world.members["gestionnaire_des_salles"])
    made = client.post(
        "/api/kiosks/",
        json={"name": "door", "mode": "door", "room_id": str(world.rooms[0])},
        headers=headers,
    )
    assert made.status_code == 201, made.json
    token = client.post(
        "/api/kiosks/provision/", json={"code": made.json["provisioning_code"]}
    ).json["device_token"]
    return world.event_id, {"Authorization": f"Bearer {token}"}


def _pull(client: Any, headers: dict[str, str], cursor: str) -> tuple[list[dict[str, Any]], str]:
    got: list[dict[str, Any]] = []
    while True:
        page = client.get(f"/api/sync/changes?cursor={cursor}&limit=50", headers=headers).json
        got.extend(page["changes"])
        cursor = page["cursor"]
        if not page["has_more"]:
            return got, cursor


def test_concurrent_writers_never_make_the_feed_skip(
    app: Flask, backend: str, auth: AuthActions, make: Factory
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite serializes writers; the race needs PostgreSQL")
    client = app.test_client()
    event_id, headers = _provision(client, auth, make)
    _initial, cursor = _pull(client, headers, "0")

    with app.app_context():
        engine = db.engine

    def slow_commit(_conn: Any) -> None:
        time.sleep(random.uniform(0, 0.02))  # widen the seq-drawn-but-not-committed window

    event.listen(engine, "commit", slow_commit)
    created: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(n: int) -> None:
        try:
            for i in range(ROOMS_PER_WRITER):
                with app.app_context():
                    room = Room(id=uuid.uuid4(), event_id=event_id, name=f"w{n}-{i}")
                    db.session.add(room)
                    db.session.commit()
                    with lock:
                        created.append(str(room.id))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    seen: list[dict[str, Any]] = []

    def reader() -> None:
        nonlocal cursor
        reader_client = app.test_client()
        try:
            while not done.is_set():
                changes, cursor = _pull(reader_client, headers, cursor)
                seen.extend(changes)
                time.sleep(0.001)
            changes, cursor = _pull(reader_client, headers, cursor)
            seen.extend(changes)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    pull = threading.Thread(target=reader)
    pull.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    done.set()
    pull.join(timeout=120)
    event.remove(engine, "commit", slow_commit)

    assert not errors, errors
    rooms_seen = [c["key"] for c in seen if c["entity"] == "room"]
    assert len(created) == WRITERS * ROOMS_PER_WRITER
    assert sorted(rooms_seen) == sorted(created)  # every change, exactly once
    seqs = [c["seq"] for c in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
