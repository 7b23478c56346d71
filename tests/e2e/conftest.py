"""End-to-end fixtures: a real gunicorn server, real kiosk CLIs, a faulty proxy.

- ``seeded_database`` (session): ``badgegate-server db upgrade`` and ``seed-demo``
  once; every server gets its own copy of that file.
- ``make_server()`` / ``server``: a :class:`Server` on its own port and database
  (``server`` is started; ``make_server(start=False)`` lets a test edit the
  database first). ``stop()``, ``start()``, ``restart()`` keep port and database.
  Every server is killed at teardown, whatever happened.
- ``gestionnaire``: the organizer logged in on ``server`` (:class:`Api`).
- ``new_kiosk(name)``: a :class:`Kiosk` data dir; ``door_kiosk(room)`` creates a
  door kiosk as the gestionnaire and provisions it with its one-time code.
- ``make_proxy(server)``: a :class:`FaultProxy` in front of a server.

Every test here is marked ``e2e`` (``-m "not e2e"`` skips them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import (
    ORGANIZER,
    Api,
    FaultProxy,
    Kiosk,
    Server,
    copy_database,
    free_port,
    run_server_cli,
)

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end tests with real server and kiosk processes (tests/e2e)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated, seeded demo database (built once, copied per server)."""
    workdir = tmp_path_factory.mktemp("e2e-template")
    run_server_cli(workdir, "db", "upgrade")
    out = run_server_cli(workdir, "seed-demo")
    assert "Demo data created." in out, out
    return workdir / "badgegate.db"


MakeServer = Callable[..., Server]


@pytest.fixture
def make_server(
    seeded_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MakeServer]:
    servers: list[Server] = []

    def make(start: bool = True) -> Server:
        workdir = tmp_path_factory.mktemp("e2e-server")
        copy_database(seeded_database, workdir / "badgegate.db")
        server = Server(workdir, free_port())
        servers.append(server)
        if start:
            server.start()
        return server

    yield make
    for server in servers:
        server.kill()


@pytest.fixture
def server(make_server: MakeServer) -> Server:
    return make_server()


@pytest.fixture
def gestionnaire(server: Server) -> Iterator[Api]:
    api = Api.login(server.url, ORGANIZER)
    yield api
    api.close()


NewKiosk = Callable[[str], Kiosk]


@pytest.fixture
def new_kiosk(tmp_path: Path) -> NewKiosk:
    def make(name: str) -> Kiosk:
        return Kiosk(tmp_path / "kiosks" / name)

    return make


DoorKiosk = Callable[..., Kiosk]


@pytest.fixture
def door_kiosk(server: Server, gestionnaire: Api, new_kiosk: NewKiosk) -> DoorKiosk:
    """``door_kiosk(room_name, via=url, expect=exit code)``: created by the
    gestionnaire, provisioned with its code (against ``via``, default the server)."""

    def make(room: str, *, via: str | None = None, expect: int = 0) -> Kiosk:
        name = f"door-{len(room)}-{room.split()[-1]}"
        registry, code = gestionnaire.create_kiosk(server.room_id(room), name)
        kiosk = new_kiosk(f"{name}-{registry['id'][:8]}")
        kiosk.provision(via or server.url, code, expect=expect)
        assert kiosk.kiosk_id == registry["id"]
        return kiosk

    return make


MakeProxy = Callable[[Server], FaultProxy]


@pytest.fixture
def make_proxy() -> Iterator[MakeProxy]:
    proxies: list[FaultProxy] = []

    def make(server: Server) -> FaultProxy:
        proxy = FaultProxy(server.port)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()
