"""Helpers shared by the benchmarks: a gunicorn server process, a bounded
closed-loop HTTP load generator, percentiles and a plain-text table.

Everything stays on 127.0.0.1. Every loop here is bounded both in count and in
time, and the server process (with its workers) is always stopped by
:meth:`ServerProcess.stop`, also when used as a context manager that is left by
an exception or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_APP = "server:create_app()"
#: the server's own gunicorn settings (README: "In production")
GUNICORN_CONFIG = "python:server.gunicorn_conf"


class BenchError(RuntimeError):
    """The benchmark could not run or saw wrong answers; the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live descendants (Linux /proc).

    NaN when /proc is not there. Processes that already exited are not counted.
    """
    proc = Path("/proc")
    if not (proc / str(pid) / "stat").exists():
        return math.nan
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    seen: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            stat = (proc / str(current) / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        fields = stat.rpartition(")")[2].split()  # fields[0] is field 3 (state)
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        with contextlib.suppress(OSError):
            for task in (proc / str(current) / "task").iterdir():
                with contextlib.suppress(OSError, ValueError):
                    todo.extend(int(c) for c in (task / "children").read_text().split())
    return total / tick


# ---------------------------------------------------------------------------
# the server


class ServerProcess:
    """``gunicorn`` serving ``app`` on 127.0.0.1 with ``workers`` workers, as served:
    the checked-in settings (``server/gunicorn_conf.py``: threaded workers).

    The process runs in its own session (so a Ctrl-C in the terminal reaches
    only the benchmark, which then stops it) with ``env`` as its whole
    environment; its output goes to ``log_path``.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        *,
        workers: int = 2,
        app: str = DEFAULT_APP,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        cwd: Path = REPO_ROOT,
    ) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.workers = workers
        self.app = app
        self.port = port
        self.extra_args = list(extra_args)
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise BenchError("the server is not started")
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the master and its workers (NaN if unknown)."""
        if self.proc is None:
            return math.nan
        return tree_cpu_seconds(self.proc.pid)

    def _command(self, port: int) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            GUNICORN_CONFIG,
            "--workers",
            str(self.workers),
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
        ]
        if Path("/dev/shm").is_dir():  # heartbeat files off the (maybe slow) disk
            cmd += ["--worker-tmp-dir", "/dev/shm"]
        return [*cmd, *self.extra_args, self.app]

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start the server and wait until ``GET /api/`` answers 200."""
        if self.proc is not None:
            raise BenchError("the server is already started")
        attempts = 1 if self.port is not None else 3
        for attempt in range(attempts):
            port = self.port if self.port is not None else free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    self._command(port),
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.port = port
            try:
                self._wait_ready(timeout)
                return self
            except BenchError:
                self.stop()
                lost_port = "already in use" in _tail(self.log_path, 10).lower()
                if lost_port and attempt + 1 < attempts:
                    self.port = None  # another process took the port: try another
                    continue
                raise
        raise BenchError("gunicorn did not start")  # not reached

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        url = f"{self.base_url}/api/"
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"gunicorn exited with {self.proc.returncode} while starting; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            try:
                resp = requests.get(url, timeout=2)
                if resp.status_code == 200:
                    return
                last = f"HTTP {resp.status_code}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        raise BenchError(
            f"gunicorn did not answer GET {url} within {timeout:.0f}s ({last}); "
            f"log {self.log_path}:\n{_tail(self.log_path)}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the master (SIGTERM, then SIGKILL) and any worker left. Idempotent."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the master leads its own process group
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                proc.wait(timeout=timeout)
        # workers orphaned by a master that died: they are still in its group
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# ---------------------------------------------------------------------------
# the load generator


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request to send; ``body`` is sent as is."""

    method: str
    url: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


#: Looks at a response and returns None when it is right, else what is wrong.
Check = Callable[[requests.Response], str | None]


@dataclass
class LoadResult:
    """One closed-loop run: latencies (seconds) of the completed requests."""

    latencies: list[float]
    wall: float
    sent: int
    failures: int = 0
    failure_samples: list[str] = field(default_factory=list)
    #: the time budget ran out before every request was sent
    truncated: bool = False
    #: CPU seconds of this (client) process during the run
    client_cpu: float = math.nan
    #: CPU seconds of other processes during the run, by label (filled in by callers)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.completed / self.wall if self.wall > 0 else 0.0

    def cpu_ms_per_request(self, label: str | None = None) -> float:
        """Client (``label`` None) or ``label``'s CPU milliseconds per completed request."""
        seconds = self.client_cpu if label is None else self.cpu.get(label, math.nan)
        return seconds * 1000 / self.completed if self.completed else math.nan

    @staticmethod
    def merge(results: Sequence[LoadResult]) -> LoadResult:
        """Several runs as one: pooled latencies, summed wall time and counts."""
        return LoadResult(
            latencies=[lat for r in results for lat in r.latencies],
            wall=sum(r.wall for r in results),
            sent=sum(r.sent for r in results),
            failures=sum(r.failures for r in results),
            failure_samples=[s for r in results for s in r.failure_samples][:10],
            truncated=any(r.truncated for r in results),
            client_cpu=sum(r.client_cpu for r in results),
            cpu={
                label: sum(r.cpu.get(label, math.nan) for r in results)
                for label in {label for r in results for label in r.cpu}
            },
        )


def run_load(
    make_request: Callable[[int], Request],
    count: int,
    concurrency: int,
    *,
    check: Check | None = None,
    max_seconds: float = 120.0,
    request_timeout: float = 10.0,
) -> LoadResult:
    """Send ``count`` requests from ``concurrency`` client threads, closed loop.

    Each thread has its own :class:`requests.Session` and sends its next
    request as soon as the previous one is answered. ``make_request(i)`` gives
    request ``i`` (``0 <= i < count``) and must be thread-safe. No request is
    started after ``max_seconds``; each one times out after
    ``request_timeout``. A request fails when it raises, or when ``check``
    (called on every response) returns a message.
    """
    if count <= 0:
        return LoadResult(latencies=[], wall=0.0, sent=0)
    concurrency = max(1, min(concurrency, count))
    counter = itertools.count()
    lock = threading.Lock()
    stop = threading.Event()
    latencies: list[float] = []
    samples: list[str] = []
    totals = {"sent": 0, "failures": 0}
    start_gate = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def client() -> None:
        local: list[float] = []
        sent = failures = 0
        local_samples: list[str] = []
        with requests.Session() as session:
            start_gate.wait()
            while not stop.is_set():
                with lock:
                    i = next(counter)
                if i >= count or time.monotonic() > deadline[0]:
                    break
                req = make_request(i)
                sent += 1
                t0 = time.perf_counter()
                try:
                    resp = session.request(
                        req.method,
                        req.url,
                        data=req.body,
                        headers=req.headers,
                        timeout=request_timeout,
                    )
                    problem = check(resp) if check is not None else None
                    local.append(time.perf_counter() - t0)
                except requests.RequestException as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                if problem is not None:
                    failures += 1
                    if len(local_samples) < 5:
                        local_samples.append(f"{req.method} {req.url}: {problem}")
        with lock:
            latencies.extend(local)
            samples.extend(local_samples)
            totals["sent"] += sent
            totals["failures"] += failures

    threads = [
        threading.Thread(target=client, name=f"load-{n}", daemon=True) for n in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + max_seconds
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    start_gate.wait()
    try:
        hard_stop = time.monotonic() + max_seconds + request_timeout + 10
        for thread in threads:
            while thread.is_alive() and time.monotonic() < hard_stop:
                thread.join(timeout=0.2)  # short joins keep Ctrl-C responsive
    finally:
        stop.set()
    wall = time.perf_counter() - t0
    client_cpu = time.process_time() - cpu0
    if any(thread.is_alive() for thread in threads):
        raise BenchError("load client threads did not finish in time")
    return LoadResult(
        latencies=latencies,
        wall=wall,
        sent=totals["sent"],
        failures=totals["failures"],
        failure_samples=samples[:10],
        truncated=totals["sent"] < count,
        client_cpu=client_cpu,
    )


# ---------------------------------------------------------------------------
# reporting


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100), linear interpolation between ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * min(max(p, 0.0), 100.0) / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table; numbers are right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    numeric = [
        all(isinstance(row[c], int | float) for row in rows) if rows else False
        for c in range(len(headers))
    ]
    widths = [max(len(r[c]) for r in cells) for c in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [
            row[c].rjust(widths[c]) if numeric[c] else row[c].ljust(widths[c])
            for c in range(len(headers))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    print(format_table(headers, rows), flush=True)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) < 10:
            return f"{value:.3f}"
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


# ---------------------------------------------------------------------------
# small helpers for single-client benchmarks (bench/sync.py)


def mark(ok: bool) -> str:
    """``PASS`` or ``MISS``, the word a goal line starts with."""
    return "PASS" if ok else "MISS"


def load_average() -> str:
    """The 1/5/15-minute load averages, or ``?``."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def open_database(
    kind: str, workdir: Path, stack: contextlib.ExitStack
) -> tuple[str, Callable[[], float] | None]:
    """A database URL for ``kind`` (``sqlite``: a file in ``workdir``; ``postgresql``:
    a throwaway cluster from ``tests/pgcluster.py``, stopped by ``stack``), and a
    probe of the database's CPU seconds (None for SQLite, which runs in-process)."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'badgegate.db'}", None
    if kind != "postgresql":
        raise BenchError(f"unknown database {kind!r}")
    from tests import pgcluster

    ok, why = pgcluster.available()
    if not ok:
        raise BenchError(why)
    cluster = stack.enter_context(pgcluster.PgCluster())
    postmaster = cluster.pid
    return cluster.url(), lambda: tree_cpu_seconds(postmaster)


def round_trips(
    session: requests.Session,
    url: str,
    count: int,
    *,
    warmup: int = 10,
    max_seconds: float = 30.0,
    timeout: float = 10.0,
) -> list[float]:
    """Wall seconds of ``count`` sequential ``GET url`` on one keep-alive session,
    after ``warmup`` untimed ones; stops early after ``max_seconds``. Every
    answer must be a 200 (else :class:`BenchError`)."""
    out: list[float] = []
    deadline = time.monotonic() + max_seconds
    for i in range(warmup + count):
        if time.monotonic() > deadline:
            break
        t0 = time.perf_counter()
        resp = session.get(url, timeout=timeout)
        _ = resp.content
        elapsed = time.perf_counter() - t0
        if resp.status_code != 200:
            raise BenchError(f"GET {url}: HTTP {resp.status_code}: {resp.text[:200]}")
        if i >= warmup:
            out.append(elapsed)
    if not out:
        raise BenchError(f"GET {url}: no round trip within {max_seconds:.0f}s")
    return out


@dataclass(frozen=True, slots=True)
class HttpCall:
    """One request a :class:`RecordingSession` sent (times in seconds)."""

    method: str
    url: str
    status: int
    #: from the call to the whole body read (request encoding included)
    wall: float
    #: ``Response.elapsed``: request sent to the response headers parsed
    #: (close to the server's time for an answer built before it is sent)
    ttfb: float
    sent: bytes
    received: bytes


class RecordingSession(requests.Session):
    """A :class:`requests.Session` that records every call (:class:`HttpCall`).

    Give it to a client that takes a session, e.g. the kiosk's ``SyncClient``;
    thread-safe (a prefetching client calls it from a helper thread). Bodies
    are kept only while ``keep_bodies`` is true.
    """

    def __init__(self, keep_bodies: bool = True) -> None:
        super().__init__()
        self.keep_bodies = keep_bodies
        self.calls: list[HttpCall] = []
        self._calls_lock = threading.Lock()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        resp = super().request(method, url, *args, **kwargs)  # the body is read (no stream)
        wall = time.perf_counter() - t0
        sent = resp.request.body if self.keep_bodies else None
        if isinstance(sent, str):
            sent = sent.encode()
        call = HttpCall(
            method=str(method),
            url=str(url),
            status=resp.status_code,
            wall=wall,
            ttfb=resp.elapsed.total_seconds(),
            sent=sent if isinstance(sent, bytes) else b"",
            received=resp.content if self.keep_bodies else b"",
        )
        with self._calls_lock:
            self.calls.append(call)
        return resp

    def take(self) -> list[HttpCall]:
        """The calls recorded so far, forgotten here."""
        with self._calls_lock:
            calls, self.calls = self.calls, []
        return calls
