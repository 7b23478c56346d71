"""Snapshot pages built once per event and served again to the other doors."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.kiosks.sync import _parse_cursor
from server.models import Room
from server.page_cache import PAGES, CachedPage, PageCache
from tests.conftest import AuthActions, Factory, World
from tests.server.test_sync import door_kiosk, orm, pages


def test_a_page_is_kept_for_its_age_and_within_its_bytes() -> None:
    now = [0.0]
    cache = PageCache(max_bytes=10, max_age=60, clock=lambda: now[0])
    event = uuid.uuid4()
    a, b = (event, 1, 0, None, 100), (event, 1, 1, None, 100)
    cache.put(a, CachedPage(b"123456", 1, None))
    assert cache.get(a) == CachedPage(b"123456", 1, None)
    cache.put(b, CachedPage(b"7890", 2, None))
    assert len(cache) == 2
    cache.put((event, 2, 0, None, 100), CachedPage(b"abc", 1, None))  # 13 bytes: a goes
    assert cache.get(a) is None and cache.get(b) is not None
    now[0] = 61.0
    assert cache.get(b) is None  # too old
    cache.put(a, CachedPage(b"x" * 11, 1, None))  # larger than the whole cache: not kept
    assert cache.get(a) is None


@pytest.fixture
def world(make: Factory) -> World:
    return make.world()


def test_doors_of_an_event_share_its_snapshot_pages(
    app: Flask, client: FlaskClient, auth: AuthActions, make: Factory, world: World
) -> None:
    for _ in range(6):
        make.member(world.event_id, "participant")
    first, second = door_kiosk(client, auth, world), door_kiosk(client, auth, world)
    one = pages(client, first, limit=4)
    builds, hits = PAGES.builds, PAGES.hits
    two = pages(client, second, limit=4)
    assert PAGES.builds == builds  # the first door's sync built every page ...
    assert PAGES.hits - hits == len(two)  # ... and the second got them all back
    assert [p["changes"] for p in one] == [p["changes"] for p in two]
    assert [p["cursor"] for p in one] == [p["cursor"] for p in two]

    # a change moves the snapshot's base: the next door gets fresh pages with it
    with orm(app) as s:
        room = s.get(Room, world.rooms[0])
        assert room is not None
        room.name = "Salle renommée"
    third = pages(client, door_kiosk(client, auth, world), limit=4)
    rooms = {c["data"]["name"] for p in third for c in p["changes"] if c["entity"] == "room"}
    assert "Salle renommée" in rooms


def test_the_next_page_is_built_while_a_page_travels(
    client: FlaskClient, auth: AuthActions, make: Factory, world: World
) -> None:
    for _ in range(6):
        make.member(world.event_id, "participant")
    kiosk = door_kiosk(client, auth, world)
    first = client.get("/api/sync/changes?cursor=0&limit=4", headers=kiosk.headers).json
    assert first["has_more"]
    # the page the kiosk asks for next is built, or being built, before it asks
    kind, seq, index, last_key = _parse_cursor(first["cursor"])
    assert kind == "snapshot"
    key = (world.event_id, seq, index, last_key, 4)
    deadline = time.monotonic() + 10
    while PAGES.wanted(key) or PAGES.get(key) is None:
        assert time.monotonic() < deadline, "the next page was not built ahead"
        time.sleep(0.01)
    builds = PAGES.builds
    second = client.get(
        f"/api/sync/changes?cursor={first['cursor']}&limit=4", headers=kiosk.headers
    )
    assert second.status_code == 200
    assert PAGES.builds in (builds, builds + 1)  # its own build is the page after it


def test_doors_asking_at_once_make_one_build() -> None:
    cache = PageCache()
    key = (uuid.uuid4(), 5, 0, None, 100)
    builds: list[int] = []

    def build() -> CachedPage:
        builds.append(1)
        time.sleep(0.2)  # a slow page: the others arrive while it is built
        return CachedPage(b"[]", 1, None)

    got: list[CachedPage] = []
    threads = [
        threading.Thread(target=lambda: got.append(cache.get_or_build(key, build)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(got) == 8 and len(builds) == 1
    assert all(g == CachedPage(b"[]", 1, None) for g in got)
