"""On SQLite a GET's transactions only read: they never queue for the write lock.

A request that only reads but began ``BEGIN IMMEDIATE`` took the one write lock
for as long as it ran: four slow reads at once (a search over 100,000 people)
queued behind each other and behind every scan, and past SQLite's busy timeout
answered 500 "database is locked".
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from server.extensions import db
from server.models import UserProfile
from shared.roles import Role
from tests.conftest import AuthActions, Factory


@contextmanager
def write_lock_held(app: Flask) -> Iterator[None]:
    """Another connection holds SQLite's write lock meanwhile."""
    with app.app_context():
        path = db.engine.url.database
    assert path
    other = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_reads_answer_while_another_connection_holds_the_write_lock(
    app: Flask, backend: str, client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's single write lock")
    world = make.world()
    headers = auth.headers(world.members[Role.GESTIONNAIRE.value])
    paths = ("/api/rooms/", "/api/participants/?search=first", "/api/dashboard/stats/")
    t0 = time.monotonic()
    with write_lock_held(app):
        for path in paths:
            r = client.get(path, headers=headers)
            assert r.status_code == 200, (path, r.get_json())
        # and a write still waits for the lock, then says to try again, writing nothing
        refused = client.post("/api/annonces/", json={"title": "Pause"}, headers=headers)
    assert time.monotonic() - t0 < 15
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert refused.get_json()["code"] == "busy"
    assert client.get("/api/annonces/", headers=headers).get_json()["count"] == 0


def test_a_read_that_makes_a_missing_badge_writes_it_in_a_transaction_of_its_own(
    app: Flask, client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    member = make.world().members[Role.PARTICIPANT.value]
    with app.app_context():
        db.session.execute(delete(UserProfile).where(UserProfile.user_id == member.user_id))
        db.session.commit()
    r = client.get("/api/auth/me/", headers=auth.headers(member))
    assert r.status_code == 200, r.get_json()
    with app.app_context():
        made = db.session.scalar(select(UserProfile).where(UserProfile.user_id == member.user_id))
        assert made is not None and r.get_json()["badge"]["badge_id"] == made.badge_id
