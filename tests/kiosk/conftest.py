"""Kiosk fixtures: stores in a temp dir, provisioned for a place, filled with the test world."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.store import KioskStore
from tests.kiosk import world

MakeStore = Callable[..., KioskStore]


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[KioskStore]:
    s = KioskStore(tmp_path / "kiosk")
    yield s
    s.close()


def provision(
    store: KioskStore,
    *,
    mode: str = "door",
    room: str | None = world.ROOM_B,
    pinned: str | None = None,
    server_url: str = "http://127.0.0.1:9",
    fill: bool = True,
) -> KioskStore:
    kiosk: dict[str, Any] = world.kiosk_record(mode, room, pinned_session_id=pinned)
    store.provision(server_url, "device-token", kiosk, {"id": world.EVENT, "name": "Tech Summit"})
    if fill:
        store.apply_page(world.snapshot())
    return store


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[MakeStore]:
    """``make_store(mode=..., room=..., pinned=...)``: a provisioned, filled store."""
    stores: list[KioskStore] = []

    def make(**kwargs: Any) -> KioskStore:
        s = KioskStore(tmp_path / f"kiosk{len(stores)}")
        stores.append(s)
        return provision(s, **kwargs)

    yield make
    for s in stores:
        s.close()
