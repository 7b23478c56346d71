"""badgegate-kiosk through click's CliRunner: provision, sync, status, verify."""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kiosk import cli
from kiosk.store import KioskStore
from tests.kiosk import world
from tests.kiosk.conftest import closed_port_url, provision
from tests.kiosk.fakeserver import TOKEN, FakeState, fake_server
from tests.kiosk.world import qr


def invoke(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.main, ["--data-dir", str(data_dir), *args], env=env)


@pytest.fixture
def kiosk_dir(tmp_path: Path) -> Path:
    """A provisioned door kiosk (room B, pinned to the paid atelier: the CLI decides
    at the real time) whose server is a closed port."""
    data_dir = tmp_path / "kiosk"
    with KioskStore(data_dir) as store:
        provision(store, server_url=closed_port_url(), pinned=world.S_ATELIER)
    return data_dir


def status_json(data_dir: Path) -> dict[str, Any]:
    result = invoke(data_dir, "status", "--json")
    assert result.exit_code == 0, result.output
    status: dict[str, Any] = json.loads(result.output)
    return status


def test_verify_granted_prints_one_json_object_and_queues(kiosk_dir: Path) -> None:
    result = invoke(kiosk_dir, "verify", qr(world.PAID))
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)  # exactly one JSON object, nothing else
    assert verdict["status"] == "granted" and verdict["reason"] == "granted"
    assert verdict["user_id"] == world.PAID and verdict["name"] == "Person 2"
    assert verdict["offline"] is True and verdict["http_status"] == 200
    assert verdict["session_id"] == world.S_ATELIER and verdict["client_id"]
    status = status_json(kiosk_dir)
    assert status["queue_length"] == 1 and status["online"] is False  # the quick push failed


@pytest.mark.parametrize(
    ("payload", "reason"),
    [(qr(world.UNPAID), "payment_required"), ("garbage", "invalid_badge")],
)
def test_verify_denied_still_exits_0(kiosk_dir: Path, payload: str, reason: str) -> None:
    result = invoke(kiosk_dir, "verify", payload)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["reason"] == reason


def test_verify_pushes_when_the_server_is_there(tmp_path: Path) -> None:
    with fake_server() as (url, state):
        with KioskStore(tmp_path) as store:
            provision(store, server_url=url)
            store.set_meta(device_token=TOKEN)
        result = invoke(tmp_path, "verify", qr(world.PAID))
        assert result.exit_code == 0
        client_id = json.loads(result.stdout)["client_id"]
        assert client_id in state.scans
    assert status_json(tmp_path)["queue_length"] == 0


def test_not_provisioned(tmp_path: Path) -> None:
    assert invoke(tmp_path, "verify", qr(1)).exit_code == 1
    assert invoke(tmp_path, "sync").exit_code == 1
    assert status_json(tmp_path)["provisioned"] is False
    assert "non provisionné" in invoke(tmp_path, "status").output


def test_status(kiosk_dir: Path) -> None:
    status = status_json(kiosk_dir)
    for key in ("online", "cursor", "queue_length", "last_sync", "rejected", "revoked"):
        assert key in status
    assert status["cursor"] == "c1" and status["mode"] == "door"
    assert status["room_id"] == world.ROOM_B and status["last_sync"] is None
    text = invoke(kiosk_dir, "status").output
    assert "Salle B" in text and "aucune donnée" in text and "file" in text


def test_sync_exit_codes(tmp_path: Path, kiosk_dir: Path) -> None:
    assert invoke(kiosk_dir, "sync").exit_code == 2  # offline
    assert status_json(kiosk_dir)["online"] is False
    with fake_server() as (url, state):
        with KioskStore(tmp_path / "ok") as store:
            provision(store, server_url=url, fill=False)
            store.set_meta(device_token=TOKEN)
        invoke(tmp_path / "ok", "verify", "garbage")
        state.scripted.clear()
        result = invoke(tmp_path / "ok", "sync")
        assert result.exit_code == 0, result.output
        status = status_json(tmp_path / "ok")
        assert status["online"] is True and status["queue_length"] == 0
        assert status["counts"]["member"] == 9 and status["last_sync"]
        assert "données de" in invoke(tmp_path / "ok", "status").output
        # revoked: the server refuses the token
        with KioskStore(tmp_path / "ok") as store:
            store.set_meta(device_token="old-token")
        assert invoke(tmp_path / "ok", "sync").exit_code == 3
        assert status_json(tmp_path / "ok")["revoked"] is True
        n = len(state.requests)
        assert invoke(tmp_path / "ok", "sync").exit_code == 3
        assert len(state.requests) == n  # a revoked kiosk does not call any more
        assert "RÉVOQUÉ" in invoke(tmp_path / "ok", "status").output


def test_provision_with_a_code(tmp_path: Path) -> None:
    with fake_server(FakeState()) as (url, state):
        result = invoke(tmp_path, "provision", "--server", url, "--code", "GOOD")
        assert result.exit_code == 0, result.output
        assert "records" in result.output  # the progress line
        status = status_json(tmp_path)
        assert status["kiosk_id"] == state.kiosk["id"] and status["room_id"] == world.ROOM_B
        assert status["counts"]["member"] == 9 and status["online"] is True
        with KioskStore(tmp_path) as store:
            assert store.get_meta("device_token") == TOKEN
        bad = invoke(tmp_path, "provision", "--server", url, "--code", "BAD")
        assert bad.exit_code == 1 and "Invalid code" in bad.output
        # a pending scan blocks re-provisioning, unless --force
        with KioskStore(tmp_path) as store:
            store.set_meta(device_token="stale")  # the scan cannot be pushed
        invoke(tmp_path, "verify", qr(world.PAID))
        refused = invoke(tmp_path, "provision", "--server", url, "--code", "GOOD")
        assert refused.exit_code == 1 and "not yet confirmed" in refused.output
        forced = invoke(tmp_path, "provision", "--server", url, "--code", "GOOD", "--force")
        assert forced.exit_code == 0, forced.output
        assert status_json(tmp_path)["queue_length"] == 0  # sent with the new credential
    offline = invoke(tmp_path / "x", "provision", "--server", closed_port_url(), "--code", "A")
    assert offline.exit_code == 2
    usage = invoke(
        tmp_path / "x", "provision", "--server", "http://h", "--code", "A", "--email", "e"
    )
    assert usage.exit_code == 2 and "either" in usage.output


def test_data_dir_from_the_environment(kiosk_dir: Path) -> None:
    result = CliRunner().invoke(
        cli.main, ["status", "--json"], env={"BADGEGATE_KIOSK_DIR": str(kiosk_dir)}
    )
    assert json.loads(result.output)["cursor"] == "c1"


@pytest.mark.parametrize(
    ("buffer", "final", "payloads", "rest"),
    [
        ("a\nb\r\n\n  \nc", False, ["a", "b"], "c"),
        ("a\nb\r\n\n  \nc", True, ["a", "b", "c"], ""),
        ('{"x": 1}{"y": "}"}', False, ['{"x": 1}', '{"y": "}"}'], ""),
        ('{"x": {"z": 2}', False, [], '{"x": {"z": 2}'),
        ('\n{"x": "\\"}"}\n', False, ['{"x": "\\"}"}'], ""),
        ("{oops\n", False, ["{oops"], ""),
    ],
)
def test_split_payloads(buffer: str, final: bool, payloads: list[str], rest: str) -> None:
    assert cli.split_payloads(buffer, final) == (payloads, rest)


def test_data_age() -> None:
    assert cli._data_age(None) == "aucune donnée synchronisée"
    assert cli._data_age("2020-01-02T03:04:05Z").startswith("données du ")
    from shared.timefmt import iso, utcnow

    assert cli._data_age(iso(utcnow())).startswith("données de ")


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The first line of ``proc``'s stdout, or fail after ``timeout`` (a hang guard)."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline, buffer = time.monotonic() + timeout, b""
    while b"\n" not in buffer:
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            raise AssertionError(f"no line on stdout within {timeout} s")
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            raise AssertionError("stdout closed without a line")
        buffer += chunk
    return buffer.split(b"\n", 1)[0]


def test_verify_prints_its_verdict_before_pushing(tmp_path: Path) -> None:
    """A server that takes the connection and never answers: the verdict is out
    (the scan stored) while the push still waits, so a kill then loses nothing."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the backlog; nothing is ever read
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        data_dir = tmp_path / "kiosk"
        with KioskStore(data_dir) as store:
            provision(store, server_url=url, pinned=world.S_ATELIER)
            store.set_meta(online=True)  # the store's view: the server was there
        # the push's read timeout made endless: only the order of events is measured
        code = (
            "import sys, kiosk.cli as c; c.QUICK_TIMEOUT = (5.0, 600.0);"
            " sys.argv[0] = 'badgegate-kiosk'; c.main()"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "--data-dir", str(data_dir), "verify", qr(world.PAID)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            verdict = json.loads(_read_line(proc, timeout=60))
            assert proc.poll() is None, "the push should still be waiting"
            assert verdict["status"] == "granted" and verdict["user_id"] == world.PAID
            assert verdict["offline"] is False  # decided with the store online
        finally:
            proc.kill()
            proc.wait(10)
    with KioskStore(data_dir) as store:
        assert [str(s.client_id) for s in store.pending()] == [verdict["client_id"]]


def test_verify_says_what_the_push_did_on_stderr(kiosk_dir: Path) -> None:
    result = invoke(kiosk_dir, "verify", qr(world.PAID))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "granted"
    assert "push: offline" in result.stderr


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("")
    return tmp_path / "a-file" / "kiosk"  # ENOTDIR


def _db_is_a_directory(tmp_path: Path) -> Path:
    (tmp_path / "kiosk" / "kiosk.db").mkdir(parents=True)
    return tmp_path / "kiosk"


def _corrupt_db(tmp_path: Path) -> Path:
    (tmp_path / "kiosk").mkdir()
    (tmp_path / "kiosk" / "kiosk.db").write_bytes(b"not SQLite at all " * 2000)
    return tmp_path / "kiosk"


COMMANDS = [
    ["status"],
    ["status", "--json"],
    ["verify", qr(world.PAID)],
    ["sync"],
    ["leads"],
    ["run", "--wedge"],
    ["provision", "--server", "http://127.0.0.1:9", "--code", "ABCD"],
]


@pytest.mark.parametrize("broken", [_under_a_file, _db_is_a_directory, _corrupt_db])
def test_a_store_that_cannot_be_opened_is_one_clear_line(tmp_path: Path, broken: Any) -> None:
    data_dir = broken(tmp_path)
    for args in COMMANDS:
        result = invoke(data_dir, *args)
        assert result.exit_code == 1, (args, result.output, result.exception)
        assert isinstance(result.exception, SystemExit), (args, result.exception)
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith(
            f"badgegate-kiosk: cannot open the kiosk store at {data_dir / 'kiosk.db'}: "
        ), lines
        assert result.stdout == ""


def test_a_booth_refuses_a_direction(tmp_path: Path) -> None:
    with KioskStore(tmp_path / "booth") as store:
        provision(store, mode="booth", room=None, server_url=closed_port_url())
    result = invoke(tmp_path / "booth", "run", "--wedge", "--direction", "out")
    assert result.exit_code == 2 and "door kiosk" in result.output
    with KioskStore(tmp_path / "booth") as store:
        assert store.get_meta("direction") is None
