"""Lost answers and crashes: nothing scanned is lost, nothing is counted twice."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

import pytest

from tests.e2e.conftest import DoorKiosk, MakeProxy, MakeServer, NewKiosk
from tests.e2e.harness import (
    EXIT_OFFLINE,
    EXPOSANT,
    ORGANIZER,
    PARTICIPANT1,
    PARTICIPANT2,
    ROOM_A,
    Api,
    Server,
    bulk_participants,
    kill_process,
    killed_on_exit,
    qr,
    read_only,
    snapshot_from_server,
    summary_counts,
    wait_for,
)

pytestmark = pytest.mark.e2e

SCANS = ("POST", "/api/sync/scans")
CHANGES = ("GET", "/api/sync/changes")


def test_lost_acknowledgement_is_resent_and_counted_once(
    server: Server, door_kiosk: DoorKiosk, make_proxy: MakeProxy
) -> None:
    proxy = make_proxy(server)
    kiosk = door_kiosk(ROOM_A, via=proxy.url)
    proxy.refuse.add(SCANS)  # the quick push after each scan fails: they stay queued
    payloads = [server.qr(PARTICIPANT1), server.qr(PARTICIPANT2), "garbage", server.qr(EXPOSANT)]
    ids = [kiosk.verify(p)["client_id"] for p in payloads]
    assert kiosk.status()["queue_length"] == len(ids)
    assert server.scan_count(kiosk.kiosk_id or "") == 0

    proxy.refuse.clear()
    proxy.swallow[SCANS] = 1  # the server stores the batch; its answer is lost
    first = kiosk.sync(expect=EXIT_OFFLINE)
    assert "offline" in first.stdout
    assert proxy.outcomes(*SCANS)[-1] == "swallowed"
    assert server.scan_count(kiosk.kiosk_id or "") == len(ids)  # the server has them...
    assert set(kiosk.outbox()) == set(ids)  # ...the kiosk does not know: kept
    assert kiosk.status()["queue_length"] == len(ids)

    second = kiosk.sync()
    counts = summary_counts(second.stdout)
    assert (counts["accepted"], counts["duplicate"], counts["queue"]) == (0, len(ids), 0)
    assert kiosk.outbox() == {}
    rows = server.scans_of(kiosk.kiosk_id or "")
    assert sorted(r["client_id"] for r in rows) == sorted(ids)


def test_crash_while_applying_a_snapshot_loses_nothing(
    make_server: MakeServer, new_kiosk: NewKiosk, make_proxy: MakeProxy
) -> None:
    server = make_server(start=False)
    event_id = server.event_id()
    bulk_participants(server.db_path, event_id, 20_000)
    server.start()
    gestionnaire = Api.login(server.url, ORGANIZER)
    registry, code = gestionnaire.create_kiosk(server.room_id(ROOM_A), "big door")
    gestionnaire.close()

    # provisioned while the feed and the upload cannot get through: no data yet,
    # and the scans it makes meanwhile stay queued
    proxy = make_proxy(server)
    proxy.refuse.update({CHANGES, SCANS})
    kiosk = new_kiosk("big")
    kiosk.provision(proxy.url, code, expect=EXIT_OFFLINE)
    status = kiosk.status()
    assert status["provisioned"] is True and status["cursor"] == "0"
    assert status["counts"]["member"] == 0
    payloads = [server.qr(PARTICIPANT1), server.qr(PARTICIPANT2), "garbage"]
    ids = [kiosk.verify(p)["client_id"] for p in payloads]
    assert set(kiosk.outbox()) == set(ids)

    proxy.refuse.clear()
    sync = kiosk.popen("sync")
    with killed_on_exit([sync]):
        conn = read_only(kiosk.db_path)

        def in_snapshot() -> bool:
            assert sync.poll() is None, "the sync ended before it could be interrupted"
            row = conn.execute("SELECT value FROM meta WHERE key = 'cursor'").fetchone()
            return row is not None and str(row[0]).startswith("s.")

        try:
            wait_for(in_snapshot, 60.0, "a snapshot page to be applied", interval=0.005)
        finally:
            conn.close()
        sync.send_signal(signal.SIGKILL)
        kill_process(sync)

    expected_members = server.member_count(event_id)
    assert expected_members > 20_000
    status = kiosk.status()
    assert status["cursor"].startswith("s.")  # killed half way through the snapshot
    assert 0 < status["counts"]["member"] < expected_members
    assert set(kiosk.outbox()) == set(ids)  # every queued scan is still there
    assert set(kiosk.outbox().values()) == {"pending"}
    assert server.scan_count(registry["id"]) == 0

    done = kiosk.sync(timeout=180.0)
    assert summary_counts(done.stdout)["accepted"] == len(ids)
    status = kiosk.status()
    assert status["counts"]["member"] == expected_members
    assert not status["cursor"].startswith("s.")
    assert kiosk.outbox() == {}

    token = kiosk.rows("SELECT value FROM meta WHERE key = 'device_token'")[0][0]
    sent = snapshot_from_server(server.url, token)
    members = kiosk.members()
    assert len(sent["member"]) == expected_members
    p1, _ = server.badge(PARTICIPANT1)
    for key in (str(p1), min(sent["member"], key=int), max(sent["member"], key=int)):
        assert members[key] == sent["member"][key]
    assert members == sent["member"]
    for entity, table, pk in (
        ("room", "rooms", "id"),
        ("session", "sessions", "id"),
        ("session_access", "session_access", "key"),
    ):
        assert kiosk.records(table, pk) == sent[entity], entity

    rows = server.scans_of(registry["id"])
    assert sorted(r["client_id"] for r in rows) == sorted(ids)


def test_crash_in_the_middle_of_a_push_loses_and_duplicates_nothing(
    server: Server, door_kiosk: DoorKiosk, make_proxy: MakeProxy
) -> None:
    total = 3000
    proxy = make_proxy(server)
    kiosk = door_kiosk(ROOM_A, via=proxy.url)
    kiosk_id = kiosk.kiosk_id or ""
    people = [server.qr(e) for e in (PARTICIPANT1, PARTICIPANT2, EXPOSANT)]
    people += ["garbage", qr(424242, "USER-424242-ABCDEFGH")]
    server.stop()

    lines = "".join(people[i % len(people)] + "\n" for i in range(total))
    run = kiosk.run("run", "--wedge", "--interval", "60", input=lines, timeout=120.0)
    assert run.returncode == 0, run.stderr[-2000:]
    verdicts = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(verdicts) == total
    ids = {v["client_id"] for v in verdicts}
    assert len(ids) == total
    assert kiosk.status()["queue_length"] == total

    server.start()
    proxy.delay[SCANS] = 0.3  # a wider window between "stored" and "acknowledged"
    sync = kiosk.popen("sync")
    with killed_on_exit([sync]):

        def partly_stored() -> bool:
            assert sync.poll() is None, "the push ended before it could be interrupted"
            return 0 < server.scan_count(kiosk_id) < total

        wait_for(partly_stored, 60.0, "part of the scans on the server", interval=0.01)
        sync.send_signal(signal.SIGKILL)
        kill_process(sync)
    # a batch already forwarded is still stored by the server: let it land
    wait_for(lambda: proxy.active == 0, 30.0, "requests in flight to end")
    time.sleep(0.2)

    on_server = server.scan_count(kiosk_id)
    assert 0 < on_server < total
    queued = kiosk.outbox()
    assert set(queued.values()) == {"pending"}
    stored = {r["client_id"] for r in server.scans_of(kiosk_id)}
    assert stored | set(queued) == ids  # every scan is somewhere
    acknowledged = total - len(queued)
    assert set(ids) - set(queued) <= stored  # nothing left the outbox unconfirmed

    proxy.delay.clear()
    done = kiosk.sync()
    counts = summary_counts(done.stdout)
    assert counts["accepted"] + counts["duplicate"] == len(queued)
    assert counts["duplicate"] == on_server - acknowledged
    assert counts["queue"] == 0 and kiosk.outbox() == {}

    rows = server.scans_of(kiosk_id)
    assert len(rows) == total
    per_id = Counter(r["client_id"] for r in rows)
    assert set(per_id) == ids and set(per_id.values()) == {1}
