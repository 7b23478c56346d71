"""Benchmark of ``POST /api/rooms/{id}/verify_access/`` against gunicorn.

What is measured: the throughput (requests/s) and the p50/p99 latency of a
door verification (a controller's token, a random participant's badge, a
random room of 3; every answer must be 200 "granted", each one writes a
RoomAccess row), next to the trivial ``GET /api/`` (no database) served by the
same gunicorn server (W threaded workers on 127.0.0.1, as served), with K closed-loop client
threads on the same machine. The two endpoints are measured in 3 interleaved
rounds (A B A B A B) so that machine drift hits both. This is done twice: on a
fresh access log, then after R more RoomAccess rows were bulk-inserted.

The results are the ratios (absolute numbers drift on a noisy machine):

* verify / trivial throughput, goal >= 0.6;
* verify throughput with the large log / with the fresh log, goal >= 0.9.

Next to them, less sensitive to drift: the CPU milliseconds per request of the
client (this process), of the server (gunicorn master and workers, from
/proc) and, for PostgreSQL, of the database cluster, with the throughput
ratios these CPU costs predict; and the large/fresh ratio corrected by the
trivial endpoint's own drift between the two phases.

The database (an SQLite file, or a throwaway PostgreSQL cluster from
``tests/pgcluster.py``) and everything else live in a temporary directory that
is removed at the end. Run from the repository root::

    .venv/bin/python bench/verify.py
    .venv/bin/python bench/verify.py --database postgresql --requests 1500

Exit status 0 whatever the goals say (a benchmark, not a test); non-zero on
errors, wrong answers (any verify answer that is not 200 "granted", or a
RoomAccess row count that did not grow by exactly the number of verify
requests sent) or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from flask import Flask
from sqlalchemy import func, insert, select

from bench.common import (
    BenchError,
    Check,
    LoadResult,
    Request,
    ServerProcess,
    percentile,
    print_table,
    run_load,
    tree_cpu_seconds,
)
from bench.seeding import Person, add_staff, build_schema, insert_people
from server import create_app
from server.auth import tokens
from server.auth.api import hash_password
from server.extensions import db
from server.models import (
    Event,
    Room,
    RoomAccess,
)
from shared.roles import Role
from shared.timefmt import utcnow

WARMUP_REQUESTS = 100
ROUNDS = 3
LOG_CHUNK = 10_000
ROOMS = 3
THROUGHPUT_GOAL = 0.6
LARGE_LOG_GOAL = 0.9
#: Denied reasons used for the synthetic part of the log (with the granted ones).
DENIED_REASONS = ("room_not_allowed", "payment_required", "unknown_badge", "not_in_event")


@dataclass(frozen=True)
class World:
    event_id: uuid.UUID
    rooms: list[uuid.UUID]
    controller_id: int
    people: list[Person]


@dataclass
class PhaseResult:
    trivial: LoadResult
    verify: LoadResult
    trivial_rounds: list[float]
    verify_rounds: list[float]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Throughput and latency of verify_access next to the trivial GET /api/."
    )
    parser.add_argument(
        "--requests", type=int, default=3000, help="requests per endpoint and phase (3000)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--participants", type=int, default=2000, help="participants (2000)")
    parser.add_argument(
        "--log-rows", type=int, default=100_000, help="RoomAccess rows added for phase 2 (100000)"
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=60.0,
        help="time budget of each load run; no request is started after it (60)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    args = parser.parse_args(argv)
    for name in ("requests", "concurrency", "workers", "participants"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive")
    if args.requests < ROUNDS:
        parser.error(f"--requests must be at least {ROUNDS}")
    if args.log_rows < 0:
        parser.error("--log-rows must not be negative")
    return args


# ---------------------------------------------------------------------------
# the database


def seed(app: Flask, participants: int) -> World:
    """One event, its rooms, a controller and ``participants`` badge holders."""
    now = utcnow()
    with app.app_context():
        password_hash = hash_password("bench-password")
        event = Event(
            id=uuid.uuid4(),
            name="Bench event",
            location="Alger",
            start_date=now - timedelta(hours=6),
            end_date=now + timedelta(days=1),
        )
        rooms = [
            Room(id=uuid.uuid4(), event_id=event.id, name=f"Room {i}", capacity=500)
            for i in range(ROOMS)
        ]
        db.session.add_all([event, *rooms])
        db.session.flush()
        controller_id = add_staff(event.id, "controller", Role.CONTROLLEUR, password_hash)
        db.session.commit()

        people = insert_people(event.id, participants, password_hash)
        db.session.commit()
        return World(event.id, [r.id for r in rooms], controller_id, people)


def access_rows(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(RoomAccess))
        db.session.remove()
        return int(count or 0)


def grow_log(app: Flask, world: World, rows: int, rng: random.Random) -> None:
    """Insert ``rows`` realistic RoomAccess rows, executemany in chunks."""
    table = RoomAccess.__table__
    now = utcnow()
    span = 3 * 24 * 3600  # spread over the last three days
    with app.app_context():
        done = 0
        while done < rows:
            chunk = []
            for _ in range(min(LOG_CHUNK, rows - done)):
                person = rng.choice(world.people)
                granted = rng.random() < 0.85
                chunk.append(
                    {
                        "id": uuid.uuid4(),
                        "event_id": world.event_id,
                        "room_id": rng.choice(world.rooms),
                        "session_id": None,
                        "participant_id": person.participant_id,
                        "user_id": person.user_id,
                        "badge_id": person.badge_id,
                        "status": "granted" if granted else "denied",
                        "reason": "granted" if granted else rng.choice(DENIED_REASONS),
                        "access_time": now - timedelta(seconds=rng.uniform(1, span)),
                        "verified_by_id": world.controller_id,
                    }
                )
            db.session.execute(insert(table), chunk)
            db.session.commit()
            done += len(chunk)
        db.session.remove()


# ---------------------------------------------------------------------------
# the load


def check_trivial(resp: requests.Response) -> str | None:
    if resp.status_code != 200:
        return f"HTTP {resp.status_code}: {resp.text[:200]}"
    return None


def check_verify(resp: requests.Response) -> str | None:
    try:
        status = resp.json().get("status")
    except ValueError:
        status = None
    if resp.status_code != 200 or status != "granted":
        return f"HTTP {resp.status_code} status={status!r}: {resp.text[:200]}"
    return None


class Bench:
    """Runs the load against one server and keeps count of verify requests sent.

    ``cpu_probes`` give the CPU seconds used so far by other processes (the
    server, the database); each run records what they used meanwhile.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        world: World,
        args: argparse.Namespace,
        cpu_probes: dict[str, Callable[[], float]],
    ) -> None:
        self.base_url = base_url
        self.world = world
        self.args = args
        self.cpu_probes = cpu_probes
        self.rng = random.Random(args.seed)
        self.verify_headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        self.trivial_request = Request("GET", f"{base_url}/api/")
        self.verify_sent = 0
        self.verify_ok = 0

    def verify_requests(self, count: int) -> list[Request]:
        """``count`` verifications of random participants at random rooms."""
        out = []
        for _ in range(count):
            person = self.rng.choice(self.world.people)
            room = self.rng.choice(self.world.rooms)
            body = json.dumps({"qr_data": person.qr}).encode()
            url = f"{self.base_url}/api/rooms/{room}/verify_access/"
            out.append(Request("POST", url, body, self.verify_headers))
        return out

    def _run(
        self, what: str, make: Callable[[int], Request], count: int, check: Check
    ) -> LoadResult:
        before = {label: probe() for label, probe in self.cpu_probes.items()}
        result = run_load(
            make,
            count,
            self.args.concurrency,
            check=check,
            max_seconds=self.args.max_seconds,
        )
        result.cpu = {label: probe() - before[label] for label, probe in self.cpu_probes.items()}
        if result.failures:
            samples = "\n  ".join(result.failure_samples)
            raise BenchError(
                f"{what}: {result.failures} of {result.sent} requests failed, e.g.:\n  {samples}"
            )
        return result

    def trivial(self, count: int) -> LoadResult:
        return self._run("GET /api/", lambda _i: self.trivial_request, count, check_trivial)

    def verify(self, count: int) -> LoadResult:
        reqs = self.verify_requests(count)
        result = self._run("POST verify_access", reqs.__getitem__, count, check_verify)
        self.verify_sent += result.sent
        self.verify_ok += result.completed
        return result

    def phase(self, name: str) -> PhaseResult:
        print(f"[{name}] warm-up ({WARMUP_REQUESTS} requests each) ...", flush=True)
        self.trivial(WARMUP_REQUESTS)
        self.verify(WARMUP_REQUESTS)
        total = self.args.requests
        sizes = [total // ROUNDS + (1 if r < total % ROUNDS else 0) for r in range(ROUNDS)]
        trivial: list[LoadResult] = []
        verify: list[LoadResult] = []
        for r, size in enumerate(sizes, start=1):
            trivial.append(self.trivial(size))
            verify.append(self.verify(size))
            print(
                f"[{name}] round {r}/{ROUNDS}: GET /api/ {trivial[-1].throughput:.0f} req/s, "
                f"verify {verify[-1].throughput:.0f} req/s",
                flush=True,
            )
        return PhaseResult(
            trivial=LoadResult.merge(trivial),
            verify=LoadResult.merge(verify),
            trivial_rounds=[r.throughput for r in trivial],
            verify_rounds=[r.throughput for r in verify],
        )


# ---------------------------------------------------------------------------
# the report


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _p50(res: LoadResult) -> float:
    return percentile(res.latencies, 50)


def report(
    args: argparse.Namespace,
    fresh: PhaseResult,
    large: PhaseResult | None,
    cpu_labels: list[str],
) -> None:
    headers = ["phase", "endpoint", "requests", "wall s", "req/s", "p50 ms", "p99 ms"]
    headers += [f"{label} CPU" for label in cpu_labels] + ["rounds req/s"]

    def row(phase: str, endpoint: str, res: LoadResult, rounds: list[float]) -> list[Any]:
        budget = " (time budget hit)" if res.truncated else ""
        return [
            phase,
            endpoint,
            res.completed,
            res.wall,
            res.throughput,
            _p50(res) * 1000,
            percentile(res.latencies, 99) * 1000,
            *(res.cpu_ms_per_request(None if lb == "client" else lb) for lb in cpu_labels),
            " / ".join(f"{t:.0f}" for t in rounds) + budget,
        ]

    rows = [
        row("fresh log", "GET /api/", fresh.trivial, fresh.trivial_rounds),
        row("fresh log", "POST verify_access", fresh.verify, fresh.verify_rounds),
    ]
    if large is not None:
        rows += [
            row("large log", "GET /api/", large.trivial, large.trivial_rounds),
            row("large log", "POST verify_access", large.verify, large.verify_rounds),
        ]
    print()
    print_table(headers, rows)

    def total_cpu(res: LoadResult) -> float:
        """All CPU ms per request: client, server and database."""
        return sum(res.cpu_ms_per_request(None if lb == "client" else lb) for lb in cpu_labels)

    fresh_ratio = _ratio(fresh.verify.throughput, fresh.trivial.throughput)
    ratios: list[list[Any]] = [
        ["verify / trivial throughput, fresh log", fresh_ratio],
        [
            "verify / trivial throughput, fresh log, from all CPU per request",
            _ratio(total_cpu(fresh.trivial), total_cpu(fresh.verify)),
        ],
        [
            "verify / trivial server CPU per request, fresh log",
            _ratio(
                fresh.verify.cpu_ms_per_request("server"),
                fresh.trivial.cpu_ms_per_request("server"),
            ),
        ],
    ]
    large_ratio = math.nan
    if large is not None:
        large_ratio = _ratio(large.verify.throughput, fresh.verify.throughput)
        drift = _ratio(large.trivial.throughput, fresh.trivial.throughput)
        ratios += [
            [
                "verify / trivial throughput, large log",
                _ratio(large.verify.throughput, large.trivial.throughput),
            ],
            ["verify throughput, large / fresh log", large_ratio],
            [
                "verify p50 latency, large / fresh log",
                _ratio(_p50(large.verify), _p50(fresh.verify)),
            ],
            ["trivial throughput, large / fresh log (machine drift)", drift],
            ["verify throughput, large / fresh log, drift-corrected", _ratio(large_ratio, drift)],
            [
                "verify throughput, large / fresh log, from all CPU per request",
                _ratio(total_cpu(fresh.verify), total_cpu(large.verify)),
            ],
            *(
                [
                    f"verify {label} CPU per request, large / fresh log",
                    _ratio(
                        large.verify.cpu_ms_per_request(label),
                        fresh.verify.cpu_ms_per_request(label),
                    ),
                ]
                for label in cpu_labels
                if label != "client"
            ),
        ]
    print()
    print_table(["ratio", "value"], ratios)

    def mark(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    print()
    print("Goals:")
    print(
        f"  [{mark(fresh_ratio >= THROUGHPUT_GOAL)}] verify throughput >= "
        f"{THROUGHPUT_GOAL} x trivial: {fresh_ratio:.3f}"
    )
    if large is not None:
        print(
            f"  [{mark(large_ratio >= LARGE_LOG_GOAL)}] verify with a "
            f"{args.log_rows}-row log >= {LARGE_LOG_GOAL} x fresh: {large_ratio:.3f}"
        )
    else:
        print("  [----] large-log goal not measured (--log-rows 0)")
    print(
        "Absolute numbers drift on a noisy machine (the load generator also shares the "
        f"{os.cpu_count()} cores with the server); the ratios are the result. "
        "CPU columns: CPU ms per request of the client (this process), the server "
        "(gunicorn master + workers)"
        + (" and the database (the PostgreSQL cluster)" if "db" in cpu_labels else "")
        + "; 'from all CPU per request' = the ratio of their sums, what the throughput "
        "ratio would be if the CPUs were the only limit and all ours."
    )


# ---------------------------------------------------------------------------


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def run(args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="badgegate-bench-"))
    stack.callback(shutil.rmtree, workdir, ignore_errors=True)

    cpu_probes: dict[str, Callable[[], float]] = {}
    if args.database == "postgresql":
        from tests import pgcluster

        ok, why = pgcluster.available()
        if not ok:
            raise BenchError(why)
        print("Starting a throwaway PostgreSQL cluster ...", flush=True)
        cluster = stack.enter_context(pgcluster.PgCluster())
        database_url = cluster.url()
        postmaster = cluster.pid
        cpu_probes["db"] = lambda: tree_cpu_seconds(postmaster)
    else:
        database_url = f"sqlite:///{workdir / 'badgegate.db'}"

    bench_env = {
        "DATABASE_URL": database_url,
        "BADGEGATE_INSTANCE_PATH": str(workdir),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    os.environ.update(bench_env)  # create_app() below reads the same settings
    env = {**os.environ, **bench_env}

    t0 = time.perf_counter()
    app = create_app()
    build_schema(app)
    world = seed(app, args.participants)
    with app.app_context():
        token = tokens.issue_pair(world.controller_id, world.event_id, Role.CONTROLLEUR.value)[
            "access"
        ]
        db.session.remove()
    rows_before = access_rows(app)
    print(
        f"Schema and {args.participants} participants ready in {time.perf_counter() - t0:.1f}s "
        f"({args.database}).",
        flush=True,
    )

    server = ServerProcess(env, workdir / "gunicorn.log", workers=args.workers)
    stack.callback(server.stop)
    server.start()
    print(f"gunicorn with {args.workers} threaded workers on {server.base_url}", flush=True)
    cpu_probes = {"server": server.cpu_seconds, **cpu_probes}
    cpu_labels = ["client", *cpu_probes]

    bench = Bench(server.base_url, token, world, args, cpu_probes)
    load_before = _load()
    try:
        fresh = bench.phase("fresh log")
        large = None
        if args.log_rows:
            t1 = time.perf_counter()
            grow_log(app, world, args.log_rows, random.Random(args.seed + 1))
            print(
                f"[large log] {args.log_rows} RoomAccess rows inserted in "
                f"{time.perf_counter() - t1:.1f}s",
                flush=True,
            )
            large = bench.phase("large log")
    except BenchError as exc:
        log_tail = (workdir / "gunicorn.log").read_text(errors="replace")[-2000:]
        raise BenchError(f"{exc}\n--- gunicorn log (tail) ---\n{log_tail or '(empty)'}") from None
    load_after = _load()
    server.stop()

    rows_after = access_rows(app)
    with app.app_context():
        db.engine.dispose()
    expected = rows_before + args.log_rows + bench.verify_sent
    report(args, fresh, large, cpu_labels)
    print(f"Load average (1/5/15 min) before: {load_before}, after: {load_after}")
    print()
    print(
        f"Correctness: {bench.verify_ok} verify answers, all 200 'granted'; RoomAccess rows "
        f"{rows_before} -> {rows_after} (expected {rows_before} + {args.log_rows} inserted + "
        f"{bench.verify_sent} verify requests = {expected})",
        flush=True,
    )
    if rows_after != expected:
        raise BenchError(
            f"RoomAccess row count is {rows_after}, expected {expected}: "
            f"{rows_after - expected:+d} rows"
        )


def _terminate(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM: unwind through the cleanups like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    print(
        f"BadgeGate verify_access benchmark: database={args.database} workers={args.workers} "
        f"concurrency={args.concurrency} requests={args.requests}/endpoint/phase "
        f"participants={args.participants} log-rows={args.log_rows}",
        flush=True,
    )
    try:
        with contextlib.ExitStack() as stack:
            run(args, stack)
    except BenchError as exc:
        print(f"\nERROR: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted; server stopped and temporary files removed.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
