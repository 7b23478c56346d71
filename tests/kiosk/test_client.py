"""SyncClient against a tiny local http.server: answers mapped to Offline / Revoked /
ProtocolError."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kiosk.client import Offline, ProtocolError, Revoked, SyncClient
from tests.kiosk.conftest import closed_port_url
from tests.kiosk.fakeserver import TOKEN, FakeState, Scripted, fake_server

CHANGES = "/api/sync/changes"


@pytest.fixture
def server() -> Iterator[tuple[str, FakeState]]:
    with fake_server() as s:
        yield s


def test_changes_200_sends_the_token_and_the_cursor(server: tuple[str, FakeState]) -> None:
    url, state = server
    with SyncClient(url + "/", TOKEN) as client:
        page = client.changes("0", 5000)
    assert page["reset"] is True and page["cursor"] == "c1"
    method, path, headers, _ = state.requests[-1]
    assert method == "GET" and path == f"{CHANGES}?cursor=0&limit=5000"
    assert headers["Authorization"] == f"Bearer {TOKEN}"


def test_401_is_revoked(server: tuple[str, FakeState]) -> None:
    url, _ = server
    with SyncClient(url, "someone-else") as client, pytest.raises(Revoked) as info:
        client.changes("0")
    assert info.value.code == "kiosk_revoked"
    with SyncClient(url, None) as client, pytest.raises(Revoked):
        client.push({"scans": []})  # no credential at all: nothing is sent


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_offline(server: tuple[str, FakeState], status: int) -> None:
    url, state = server
    state.scripted[CHANGES] = Scripted(status, {"error": "boom"})
    with SyncClient(url, TOKEN) as client, pytest.raises(Offline):
        client.changes("0")


def test_other_4xx_is_a_protocol_error_with_the_body(server: tuple[str, FakeState]) -> None:
    url, state = server
    body = {"error": "scans[0].kind: bad", "code": "invalid", "fields": {"scans[0].kind": "bad"}}
    state.scripted["/api/sync/scans"] = Scripted(400, body)
    with SyncClient(url, TOKEN) as client, pytest.raises(ProtocolError) as info:
        client.push({"scans": []})
    assert info.value.status == 400 and info.value.body == body and info.value.code == "invalid"


def test_a_200_that_is_not_json_is_offline(server: tuple[str, FakeState]) -> None:
    url, state = server
    state.scripted[CHANGES] = Scripted(200, raw=b"<html>captive portal</html>")
    with SyncClient(url, TOKEN) as client, pytest.raises(Offline):
        client.changes("0")


def test_connection_refused_is_offline() -> None:
    with SyncClient(closed_port_url(), TOKEN) as client, pytest.raises(Offline):
        client.changes("0")


def test_timeout_is_offline(server: tuple[str, FakeState]) -> None:
    url, state = server
    state.scripted[CHANGES] = Scripted(200, {"changes": []}, delay=1.0)
    started = time.monotonic()
    with SyncClient(url, TOKEN, timeout=(1.0, 0.2)) as client, pytest.raises(Offline):
        client.changes("0")
    assert time.monotonic() - started < 0.9


def test_provision(server: tuple[str, FakeState]) -> None:
    url, _ = server
    with SyncClient(url) as client:
        answer = client.provision(code="GOOD")
        assert answer["device_token"] == TOKEN and answer["kiosk"]["mode"] == "door"
        with pytest.raises(ProtocolError) as info:
            client.provision(code="WRONG")
        assert info.value.code == "invalid_code"
        with pytest.raises(ValueError):
            client.provision(email="a@b.c")


def test_provision_401_is_a_refusal_not_a_revocation(server: tuple[str, FakeState]) -> None:
    url, state = server
    state.scripted["/api/kiosks/provision/"] = Scripted(
        401, {"error": "Invalid credentials", "code": "invalid_credentials"}
    )
    with SyncClient(url) as client, pytest.raises(ProtocolError) as info:
        client.provision(email="a@b.c", password="x", room_id="r")
    assert info.value.status == 401
    _, _, _, body = state.requests[-1]
    assert body == {"email": "a@b.c", "password": "x", "room_id": "r"}


def test_provision_429_is_a_refusal_that_says_when_to_retry(
    server: tuple[str, FakeState],
) -> None:
    url, state = server
    state.scripted["/api/kiosks/provision/"] = Scripted(
        429, {"error": "Too many failed attempts: try again in 60 seconds",
              "code": "too_many_attempts"}
    )  # fmt: skip
    with SyncClient(url) as client, pytest.raises(ProtocolError) as info:
        client.provision(email="a@b.c", password="x", room_id="r")
    assert info.value.status == 429 and info.value.code == "too_many_attempts"
    assert "60 seconds" in str(info.value)
