"""badgegate-kiosk through click's CliRunner: provision, sync, status, verify."""

from __future__ import annotations

import json
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
