"""``badgegate-kiosk run --wedge`` through a real pipe, no server reachable."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.store import KioskStore
from tests.kiosk import world
from tests.kiosk.conftest import closed_port_url, provision
from tests.kiosk.world import qr

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes and signals")


@pytest.fixture
def kiosk_dir(tmp_path: Path) -> Path:
    with KioskStore(tmp_path) as store:
        provision(store, server_url=closed_port_url(), pinned=world.S_ATELIER)
    return tmp_path


def command(data_dir: Path) -> list[str]:
    script = Path(sys.executable).with_name("badgegate-kiosk")
    prefix = [str(script)] if script.exists() else [sys.executable, "-m", "kiosk.cli"]
    return [*prefix, "--data-dir", str(data_dir), "run", "--wedge"]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _no_file_grows() -> None:
    """A full disk, for this process alone and even as root: no file may grow."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


@contextlib.contextmanager
def full_disk(data_dir: Path) -> Iterator[None]:
    """The store opens (its WAL index exists, held open here) but no write can land:
    the WAL is emptied, so a child under :func:`_no_file_grows` fails every commit.

    (A read-only file or directory does not stop root, whom the tests run as.)
    """
    holder = sqlite3.connect(data_dir / "kiosk.db", isolation_level=None)
    try:
        holder.execute("SELECT count(*) FROM meta").fetchone()
        holder.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert (data_dir / "kiosk.db-wal").stat().st_size == 0
        yield
    finally:
        holder.close()


class Run:
    """The kiosk as a child process; stdout read line by line with a deadline."""

    def __init__(
        self, data_dir: Path, *, sigint_ignored: bool = False, disk_full: bool = False
    ) -> None:
        def child_setup() -> None:
            if sigint_ignored:
                _ignore_sigint()
            if disk_full:
                _no_file_grows()

        self.proc = subprocess.Popen(
            command(data_dir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # as under nohup or in a script's background job: SIGINT inherited ignored
            preexec_fn=child_setup if sigint_ignored or disk_full else None,
        )
        assert self.proc.stdin and self.proc.stdout
        self.stdin = self.proc.stdin
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def write(self, data: str) -> None:
        self.stdin.write(data.encode())
        self.stdin.flush()

    def read_verdict(self, timeout: float = 10.0) -> dict[str, Any]:
        assert self.proc.stdout
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                raise AssertionError(f"no verdict within {timeout}s")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError("stdout closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        verdict: dict[str, Any] = json.loads(line)
        return verdict

    def finish(self, timeout: float = 15.0) -> tuple[int, list[dict[str, Any]], str]:
        out, err = self.proc.communicate(input=b"", timeout=timeout)  # EOF on stdin
        rest = (self.buffer + out).decode()
        return self.proc.returncode, [json.loads(x) for x in rest.splitlines()], err.decode()


@pytest.fixture
def run(kiosk_dir: Path) -> Iterator[Run]:
    r = Run(kiosk_dir)
    yield r
    if r.proc.poll() is None:
        r.proc.kill()
        r.proc.wait(10)


def test_lines_then_eof(run: Run, kiosk_dir: Path) -> None:
    run.write(f"{qr(world.PAID)}\n\n   \n{qr(world.UNPAID)}\r\nnot a badge\n")
    code, verdicts, err = run.finish()
    assert code == 0, err
    assert [v["reason"] for v in verdicts] == ["granted", "payment_required", "invalid_badge"]
    first = verdicts[0]
    assert first["status"] == "granted" and first["user_id"] == world.PAID
    assert first["name"] == "Person 2" and first["offline"] is True
    assert first["latency_ms"] >= 0 and first["time"]
    assert "final push: offline" in err
    with KioskStore(kiosk_dir) as store:
        assert store.queue_length() == 3  # every scan is kept for later


def test_payload_without_enter_then_eof(run: Run) -> None:
    run.write(qr(world.PAID))
    assert run.read_verdict()["reason"] == "granted"  # complete JSON: no need to wait
    run.write('{"user_id": 2, "badge_id": "USER-2-')  # cut short, then EOF
    code, verdicts, err = run.finish()
    assert code == 0, err
    assert [v["reason"] for v in verdicts] == ["invalid_badge"]


def test_payload_without_enter_then_a_pause(run: Run) -> None:
    run.write("NOT-JSON-PAYLOAD")  # no Enter, not JSON: a 0.3 s pause ends it
    started = time.monotonic()
    verdict = run.read_verdict()
    assert verdict["reason"] == "invalid_badge"
    assert 0.25 <= time.monotonic() - started < 5
    run.write(qr(world.UNPAID)[:20])  # a slow scanner: half now, half later
    time.sleep(0.05)  # well under the 0.3 s pause
    run.write(qr(world.UNPAID)[20:])
    assert run.read_verdict()["reason"] == "payment_required"
    code, verdicts, _ = run.finish()
    assert code == 0 and verdicts == []


def test_ctrl_c_stops_cleanly(run: Run) -> None:
    run.write(qr(world.PAID) + "\n")
    assert run.read_verdict()["status"] == "granted"
    run.proc.send_signal(signal.SIGINT)
    _out, err = run.proc.communicate(timeout=15)
    assert run.proc.returncode == 130
    assert "Traceback" not in err.decode()


def test_ctrl_c_stops_cleanly_when_started_with_sigint_ignored(kiosk_dir: Path) -> None:
    run = Run(kiosk_dir, sigint_ignored=True)
    try:
        run.write(qr(world.PAID) + "\n")
        assert run.read_verdict()["status"] == "granted"
        run.proc.send_signal(signal.SIGINT)
        _out, err = run.proc.communicate(timeout=15)
        assert run.proc.returncode == 130, err.decode()
        assert "Traceback" not in err.decode()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(10)


def test_a_full_disk_says_so_per_scan_and_ends_cleanly(kiosk_dir: Path) -> None:
    with full_disk(kiosk_dir):
        run = Run(kiosk_dir, disk_full=True)
        try:
            run.write(f"{qr(world.PAID)}\n{qr(world.UNPAID)}\n")
            code, verdicts, err = run.finish()
        finally:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait(10)
    assert "Traceback" not in err, err
    assert code == 1, err  # scans were lost: not a clean exit
    assert [(v["status"], v["reason"]) for v in verdicts] == [("error", "store_error")] * 2
    assert all(v["message"].startswith("scan not recorded") for v in verdicts)
    assert "2 scans could not be stored" in err
    assert "final push: failed" in err
    with KioskStore(kiosk_dir) as store:
        assert store.queue_length() == 0  # nothing was shown that is not stored


def test_verify_on_a_full_disk_is_one_line_and_no_verdict(kiosk_dir: Path) -> None:
    with full_disk(kiosk_dir):
        done = subprocess.run(
            [*command(kiosk_dir)[:-2], "verify", qr(world.PAID)],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_no_file_grows,
        )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""  # no verdict: it would not be on disk
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        f"badgegate-kiosk: cannot write the kiosk store at {kiosk_dir / 'kiosk.db'}: "
    ), lines
    assert lines[0].endswith("; the scan was not recorded"), lines


def test_sync_on_a_full_disk_is_one_line(kiosk_dir: Path) -> None:
    with full_disk(kiosk_dir):
        done = subprocess.run(
            [*command(kiosk_dir)[:-2], "sync"],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_no_file_grows,
        )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith(
        f"badgegate-kiosk: cannot write the kiosk store at {kiosk_dir / 'kiosk.db'}: "
    ), done.stderr
