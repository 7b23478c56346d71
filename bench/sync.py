"""End-to-end benchmark of kiosk sync: the real server under gunicorn, the real kiosk.

The server is ``server:create_app()`` under gunicorn (2 threaded workers, as served) on
127.0.0.1, on an SQLite file or a throwaway PostgreSQL cluster
(``tests/pgcluster.py``). The kiosk is the real kiosk code running in this
process: a :class:`KioskStore` in a temporary directory, a :class:`SyncClient`
and a :class:`Syncer` with their defaults (5000-change pages, prefetch of the
next page while one is applied, 500-scan batches two at a time) - the very calls the
``badgegate-kiosk`` CLI makes, minus its interpreter start-up, and in-process so
each page can be timed on its way (request, server, JSON decoding, apply). The
CLI is also run once as a subprocess (provision + first sync of a second
kiosk) as a cross-check of the in-process figure.

The event: N participants (user, profile with a badge, participant role,
participant record with a badge number; a fifth of them restricted to two
rooms), 5 rooms, 20 sessions of which 5 are paid, M session accesses over the
paid sessions, a gestionnaire and a controller; bulk-inserted with Core (so
outside the change log: the first sync is a snapshot read from the tables),
then, on PostgreSQL, ANALYZEd (as autovacuum would after such an import).
The gestionnaire registers a door kiosk for room 0 through the API, where a
paid session is running; the kiosk is provisioned with the one-time code.

Measured, with a goal each:

(a) first sync of the empty kiosk, end to end (goal 5 s), with a breakdown
    per page: server time (time to the response headers), transfer, JSON
    decoding on the kiosk, and the kiosk's apply;
(b) the pull of a delta of 100 changes made through the ORM in this process
    (SessionAccess payment updates, one commit; several rounds; goal 0.2 s);
(c) pushing S scans queued offline with ``record_scan`` (goal 5 s), checking
    that the server stored exactly S new rows;
(d) the offline decision (``decide_scan``) on the synced store: median and p95
    (goal median 0.5 ms), beside the online ``verify_access`` round trip to the
    same gunicorn, as a ratio.

For (a)-(c) a baseline is measured in the same run, just before: the round
trip of the trivial ``GET /api/`` (times the number of requests the phase
made) plus the time to read and JSON-parse the same bytes the phase moved,
from files - what the phase would cost if the server and the kiosk did nothing
but move and parse its data. Each figure is printed against its goal and its
baseline; ratios compare across noisy runs better than seconds do.

``--profile`` then profiles, in this process, the work behind every missed
goal: the server's handler through Flask's test client (same database, same
kiosk credential; SQL time per statement counted apart) and the kiosk's part.

    .venv/bin/python bench/sync.py
    .venv/bin/python bench/sync.py --database postgresql
    .venv/bin/python bench/sync.py --participants 20000 --access 10000 --scans 2000

Exit status 0 whatever the goals say; non-zero on errors (wrong counts, a sync
that failed, a wrong answer) or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import math
import os
import pstats
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select

import server.kiosks.sync as sync_api
from bench.common import (
    BenchError,
    RecordingSession,
    ServerProcess,
    load_average,
    mark,
    open_database,
    percentile,
    print_table,
    round_trips,
)
from bench.seeding import Person, add_staff, build_schema, chunked, insert_people
from kiosk.client import SyncClient
from kiosk.decide import decide_scan, record_scan
from kiosk.store import KioskStore
from kiosk.sync import Syncer, SyncSummary
from server import create_app
from server.auth import tokens
from server.auth.api import hash_password
from server.changefeed import access_key
from server.extensions import db
from server.models import (
    Event,
    EventSession,
    Room,
    RoomAccess,
    SessionAccess,
    participant_allowed_rooms,
)
from server.page_cache import PAGES
from server.signing import Signer, load_signer
from shared.badge import Badge, new_badge_id
from shared.roles import Role
from shared.signing import b64
from shared.timefmt import utcnow

GOAL_FIRST_SYNC = 5.0  # s
FIRST_SYNC_MAX_RATIO = 2.5  # and at most this many times its same-run baseline
GOAL_DELTA = 0.2  # s
GOAL_PUSH = 5.0  # s
GOAL_DECIDE_MEDIAN = 0.5e-3  # s

ROOMS = 5
SESSIONS_PER_ROOM = 4
DELTA_CHANGES = 100
RTT_SAMPLES = 50
DECIDE_WARMUP = 200
ONLINE_WARMUP = 30
SUBPROCESS_TIMEOUT = 300.0
ORGANISATIONS = ["", "Sonatrach", "Djezzy", "Condor", "Cevital", "Yassir", "Ooredoo", "CERIST"]


# ---------------------------------------------------------------------------
# arguments


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Kiosk sync end to end: real server under gunicorn, real kiosk code."
    )
    parser.add_argument("--participants", type=int, default=100_000, help="(100000)")
    parser.add_argument(
        "--access", type=int, default=50_000, help="session accesses over the paid sessions"
    )
    parser.add_argument("--scans", type=int, default=10_000, help="queued scans to push (10000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--delta-rounds", type=int, default=5, help=f"rounds of {DELTA_CHANGES} changes (5)"
    )
    parser.add_argument("--decisions", type=int, default=20_000, help="decide_scan calls (20000)")
    parser.add_argument("--online", type=int, default=300, help="verify_access requests (300)")
    parser.add_argument(
        "--no-cli", action="store_true", help="skip the badgegate-kiosk subprocess cross-check"
    )
    parser.add_argument(
        "--doors", type=int, default=20, help="doors syncing at once at opening (20; 0: skip)"
    )
    parser.add_argument(
        "--profile",
        choices=("missed", "all", "none"),
        default="missed",
        nargs="?",
        const="missed",
        help="profile the work behind missed goals (default), every goal, or none",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    args = parser.parse_args(argv)
    for name in ("participants", "scans", "workers", "delta_rounds", "decisions", "online"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.access < 0:
        parser.error("--access must not be negative")
    return args


# ---------------------------------------------------------------------------
# the event


@dataclass
class World:
    event_id: uuid.UUID
    rooms: list[uuid.UUID]
    door_room: uuid.UUID
    #: the paid session running now in the door room
    door_session: uuid.UUID
    paid_sessions: list[uuid.UUID]
    gestionnaire_id: int
    controller_id: int
    people: list[Person]
    #: indices in ``people`` with an access row to the door session
    door_access: list[int]
    access_rows: int
    allowed_rows: int
    #: the server's badge signer (the bench shares its instance folder): people hold
    #: signed badges, as the server issues them
    signer: Signer | None = None


def seed(app: Flask, participants: int, accesses: int, rng: random.Random) -> World:
    """The event: ORM for the few structural rows, Core bulk inserts for the people."""
    now = utcnow()
    with app.app_context():
        password_hash = hash_password("bench-password")
        event = Event(
            id=uuid.uuid4(),
            name="Bench sync event",
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
        # per room: one session ended, one running now, two to come; 5 of them paid,
        # among them the one running in room 0 (the door kiosk's room)
        slots = [(-4, -3), (-1, 2), (3, 4), (5, 6)]
        paid_at = {(0, 1), (1, 2), (2, 0), (3, 1), (4, 3)}
        sessions: list[EventSession] = []
        for r, room in enumerate(rooms):
            for s, (start_h, end_h) in enumerate(slots[:SESSIONS_PER_ROOM]):
                paid = (r, s) in paid_at
                sessions.append(
                    EventSession(
                        id=uuid.uuid4(),
                        event_id=event.id,
                        room_id=room.id,
                        title=f"{'Atelier' if paid else 'Conference'} {r}.{s}",
                        start_time=now + timedelta(hours=start_h),
                        end_time=now + timedelta(hours=end_h),
                        status="en_cours" if s == 1 else "pas_encore",
                        session_type="atelier" if paid else "conference",
                        is_paid=paid,
                        price=Decimal("5000.00") if paid else Decimal("0"),
                    )
                )
        db.session.add_all(sessions)
        gestionnaire_id = add_staff(event.id, "gestionnaire", Role.GESTIONNAIRE, password_hash)
        controller_id = add_staff(event.id, "controller", Role.CONTROLLEUR, password_hash)
        db.session.commit()
        paid_sessions = [s.id for s in sessions if s.is_paid]
        door_session = sessions[1].id  # room 0, running now, paid
        room_ids = [r.id for r in rooms]
        event_id = event.id

        people = insert_people(
            event_id, participants, password_hash, lambda _i: rng.choice(ORGANISATIONS)
        )
        # a fifth of the participants may enter two rooms only
        allowed = [
            {"participant_id": p.participant_id, "room_id": room}
            for p in people
            if rng.random() < 0.2
            for room in rng.sample(room_ids, 2)
        ]
        for chunk in chunked(allowed):
            db.session.execute(insert(participant_allowed_rooms), chunk)
        # the accesses, spread evenly over the paid sessions
        access_rows: list[dict[str, Any]] = []
        door_access: list[int] = []
        per_session = [
            accesses // len(paid_sessions) + (1 if i < accesses % len(paid_sessions) else 0)
            for i in range(len(paid_sessions))
        ]
        for sid, count in zip(paid_sessions, per_session, strict=True):
            chosen = rng.sample(range(len(people)), min(count, len(people)))
            if sid == door_session:
                door_access = chosen
            for i in chosen:
                roll = rng.random()
                status = "paid" if roll < 0.85 else "pending" if roll < 0.95 else "refunded"
                access_rows.append(
                    {
                        "id": uuid.uuid4(),
                        "participant_id": people[i].participant_id,
                        "session_id": sid,
                        "payment_status": status,
                        "has_access": status == "paid",
                        "amount_paid": Decimal("5000.00") if status == "paid" else Decimal("0"),
                        "paid_at": now if status == "paid" else None,
                    }
                )
        for chunk in chunked(access_rows):
            db.session.execute(insert(SessionAccess), chunk)
        db.session.commit()
        db.session.remove()
    return World(
        event_id=event_id,
        rooms=room_ids,
        door_room=room_ids[0],
        door_session=door_session,
        paid_sessions=paid_sessions,
        gestionnaire_id=gestionnaire_id,
        controller_id=controller_id,
        people=people,
        door_access=door_access,
        access_rows=len(access_rows),
        allowed_rows=len(allowed),
    )


def access_token(app: Flask, world: World, user_id: int, role: Role) -> str:
    with app.app_context():
        token = tokens.issue_pair(user_id, world.event_id, role.value)["access"]
        db.session.remove()
    return token


def scan_rows(app: Flask, kiosk_id: uuid.UUID) -> tuple[int, int]:
    """(RoomAccess rows of this kiosk, all RoomAccess rows)."""
    with app.app_context():
        mine = db.session.scalar(
            select(func.count()).select_from(RoomAccess).where(RoomAccess.kiosk_id == kiosk_id)
        )
        total = db.session.scalar(select(func.count()).select_from(RoomAccess))
        db.session.remove()
    return int(mine or 0), int(total or 0)


# ---------------------------------------------------------------------------
# badges people scan


def _forger() -> Signer:
    """A signer with a key of its own: what a forger could make."""
    from flask import Flask

    app = Flask(__name__)
    app.config["BADGE_SIGNING_KEY"] = b64(secrets.token_bytes(32))
    return load_signer(app)


FORGER = _forger()


def payloads(world: World, count: int, rng: random.Random) -> list[str]:
    """What is held up to the door of room 0: mostly paid atelier-goers, then other
    participants, forged badges, strangers and garbage; every badge signed as the
    server issues it (a forgery is signed by another key)."""
    assert world.signer is not None

    def badge(user_id: int, badge_id: str, signer: Signer = world.signer) -> str:
        return signer.sign(Badge(user_id, badge_id)).payload()

    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.60 and world.door_access:
            p = world.people[rng.choice(world.door_access)]
            out.append(badge(p.user_id, p.badge_id))
        elif roll < 0.85:
            p = rng.choice(world.people)
            out.append(badge(p.user_id, p.badge_id))
        elif roll < 0.92:
            p = rng.choice(world.people)
            out.append(badge(p.user_id, new_badge_id(p.user_id), FORGER))  # forged
        elif roll < 0.97:
            uid = 2_000_000_000 - rng.randrange(1_000_000)  # nobody of this event
            out.append(badge(uid, new_badge_id(uid)))
        else:
            out.append(rng.choice(["hello", '{"user_id": "x"}', "https://example.com/qr", "{}"]))
    return out


# ---------------------------------------------------------------------------
# measuring


class Timed:
    """Wraps a callable and records (start, seconds) of every call (thread-safe enough:
    list.append under the GIL)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.calls: list[tuple[float, float]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.calls.append((t0, time.perf_counter() - t0))

    def total(self) -> float:
        return sum(d for _t, d in self.calls)


class CpuMeter:
    """CPU seconds of this process and of other processes (probes), between marks."""

    def __init__(self, probes: dict[str, Callable[[], float]]) -> None:
        self.probes = probes

    def snapshot(self) -> dict[str, float]:
        return {"kiosk": time.process_time(), **{k: p() for k, p in self.probes.items()}}

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {k: after[k] - before[k] for k in before}


def fmt_cpu(cpu: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}s" for k, v in cpu.items())


def read_parse_seconds(bodies: Sequence[bytes], folder: Path, repeat: int = 3) -> float:
    """Best of ``repeat``: read each body from its file and ``json.loads`` it."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, body in enumerate(bodies):
        path = folder / f"{i:05d}.json"
        path.write_bytes(body)
        paths.append(path)
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        for path in paths:
            json.loads(path.read_bytes())
        best = min(best, time.perf_counter() - t0)
    return best


@dataclass
class Baseline:
    rtt: float  # median GET /api/ round trip, s
    requests: int
    read_parse: float  # s
    megabytes: float

    @property
    def seconds(self) -> float:
        return self.rtt * self.requests + self.read_parse

    def describe(self) -> str:
        return (
            f"{self.requests} x GET /api/ {self.rtt * 1000:.2f} ms + read+parse "
            f"{self.megabytes:.2f} MB {self.read_parse * 1000:.1f} ms"
        )


@dataclass
class Goal:
    label: str
    measured: float  # s
    goal: float  # s
    baseline: Baseline | None = None
    note: str = ""
    #: also at most this many times the same-run baseline (the machines are noisy)
    max_ratio: float | None = None

    @property
    def ok(self) -> bool:
        base, ratio = self.baseline, self.max_ratio
        if base is not None and ratio is not None and self.measured / base.seconds > ratio:
            return False
        return self.measured <= self.goal


@dataclass
class Run:
    """Everything measured, for the report and the profiles."""

    goals: dict[str, Goal] = field(default_factory=dict)
    first_pages: list[bytes] = field(default_factory=list)
    first_server_cpu: float = math.nan
    first_seconds: float = math.nan
    delta_cursor: str | None = None
    notes: list[str] = field(default_factory=list)


def _check_summary(what: str, summary: SyncSummary) -> None:
    if not summary.ok:
        raise BenchError(f"{what}: the sync failed: {summary.line()}")


def rtt_median(base_url: str, count: int = RTT_SAMPLES) -> float:
    with requests.Session() as session:
        return statistics.median(round_trips(session, f"{base_url}/api/", count))


def _entity_counts(bodies: Sequence[bytes]) -> list[Counter[str]]:
    return [Counter(c["entity"] for c in json.loads(b)["changes"]) for b in bodies]


# ---------------------------------------------------------------------------
# (a) the first sync


def first_sync(
    store: KioskStore,
    server: ServerProcess,
    token: str,
    world: World,
    args: argparse.Namespace,
    cpu: CpuMeter,
    workdir: Path,
    run: Run,
) -> None:
    rtt = rtt_median(server.base_url)
    session = RecordingSession()
    client = SyncClient(server.base_url, token, session=session)
    changes = Timed(client.changes)
    client.changes = changes  # type: ignore[method-assign]
    apply = Timed(store.apply_page)
    store.apply_page = apply  # type: ignore[method-assign]
    syncer = Syncer(store, client)
    before = cpu.snapshot()
    t0 = time.perf_counter()
    summary = syncer.sync_once()
    total = time.perf_counter() - t0
    used = cpu.delta(before, cpu.snapshot())
    del store.apply_page  # back to the method
    client.close()
    _check_summary("first sync", summary)
    calls = [c for c in session.take() if "/api/sync/changes" in c.url]

    expected = {
        "event": 1,
        "room": ROOMS,
        "session": ROOMS * SESSIONS_PER_ROOM,
        "member": len(world.people) + 2,
        "session_access": world.access_rows,
    }
    got = {entity: store.count(entity) for entity in expected}
    if got != expected:
        raise BenchError(f"first sync: the kiosk holds {got}, expected {expected}")
    if not len(calls) == len(changes.calls) == len(apply.calls) == summary.pages:
        raise BenchError(
            f"first sync: {len(calls)} requests, {len(changes.calls)} pages fetched, "
            f"{len(apply.calls)} applied, summary says {summary.pages}"
        )

    bodies = [c.received for c in calls]
    run.first_pages = bodies
    megabytes = sum(map(len, bodies)) / 1e6
    base = Baseline(rtt, len(calls), read_parse_seconds(bodies, workdir / "bytes-a"), megabytes)
    applied = apply.total()

    # the breakdown, pages grouped by their main entity
    groups: dict[str, list[int]] = defaultdict(list)
    counts = _entity_counts(bodies)
    for i, c in enumerate(counts):
        groups[c.most_common(1)[0][0]].append(i)
    headers = [
        "pages of",
        "pages",
        "records",
        "MB",
        "server ms/page",
        "max",
        "transfer ms",
        "decode ms",
        "apply ms/page",
        "sum server s",
        "sum apply s",
    ]
    rows: list[list[Any]] = []

    def row(name: str, idx: list[int]) -> list[Any]:
        ttfb = [calls[i].ttfb for i in idx]
        return [
            name,
            len(idx),
            sum(sum(counts[i].values()) for i in idx),
            sum(len(bodies[i]) for i in idx) / 1e6,
            statistics.median(ttfb) * 1000,
            max(ttfb) * 1000,
            statistics.median(calls[i].wall - calls[i].ttfb for i in idx) * 1000,
            statistics.median(changes.calls[i][1] - calls[i].wall for i in idx) * 1000,
            statistics.median(apply.calls[i][1] for i in idx) * 1000,
            sum(ttfb),
            sum(apply.calls[i][1] for i in idx),
        ]

    for name, idx in sorted(groups.items(), key=lambda kv: kv[1][0]):
        rows.append(row(name, idx))
    rows.append(row("all", list(range(len(calls)))))
    print()
    print(
        f"(a) first sync: {summary.pulled} records in {summary.pages} pages, {megabytes:.1f} MB, "
        f"{total:.2f} s"
    )
    print_table(headers, rows)
    fetch_total = changes.total()
    print(
        f"    kiosk main thread: applying {applied:.2f} s, waiting for pages "
        f"{total - applied:.2f} s (the first page, then whatever prefetch did not hide); "
        f"fetch+decode in the prefetch thread {fetch_total:.2f} s "
        f"(server {sum(c.ttfb for c in calls):.2f} s)"
    )
    print(f"    CPU during the sync: {fmt_cpu(used)}")
    run.goals["a"] = Goal(
        f"(a) first sync, {summary.pulled} records",
        total,
        GOAL_FIRST_SYNC,
        base,
        note=f"and <= {FIRST_SYNC_MAX_RATIO}x the baseline",
        max_ratio=FIRST_SYNC_MAX_RATIO,
    )
    run.first_server_cpu = used.get("server", math.nan)
    run.first_seconds = total


def opening(
    server: ServerProcess,
    gestionnaire: str,
    app: Flask,
    world: World,
    cpu: CpuMeter,
    workdir: Path,
    run: Run,
    doors: int,
) -> None:
    """Twenty doors take their first sync at once, at opening, just after a change
    (so no page of the new snapshot is built yet): what it costs the server, as a
    ratio to the one first sync measured before."""
    stores = [
        provision_kiosk(server.base_url, gestionnaire, world, workdir / f"door-{i}")
        for i in range(doors)
    ]
    with app.app_context():  # the snapshot's base moves: every page is built anew
        room = db.session.get(Room, world.rooms[-1])
        assert room is not None
        room.name = f"{room.name} (opening)"
        db.session.commit()
    errors: list[str] = []

    def sync(store: KioskStore) -> None:
        with SyncClient(store.get_meta("server_url") or "", store.get_meta("device_token")) as c:
            summary = Syncer(store, c).sync_once()
        if not summary.ok or store.count("member") != len(world.people) + 2:
            errors.append(summary.line())

    before = cpu.snapshot()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=sync, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    used = cpu.delta(before, cpu.snapshot())
    for store in stores:
        store.close()
    if errors:
        raise BenchError(f"opening: {len(errors)} doors failed: {errors[0]}")
    server_cpu = used.get("server", math.nan)
    one = run.first_server_cpu
    run.notes.append(
        f"opening, {doors} doors syncing at once: {wall:.1f} s for all (their kiosks share"
        f" this one process), server CPU {server_cpu:.1f} s = {server_cpu / one:.2f}x the"
        f" one first sync's {one:.1f} s ({server_cpu / one / doors:.2f}x per door)"
    )
    print(f"    {run.notes[-1]}", flush=True)


def first_sync_cli(server: ServerProcess, gestionnaire: str, world: World, workdir: Path) -> str:
    """The same first sync through ``badgegate-kiosk provision`` (a second kiosk)."""
    exe = Path(sys.executable).parent / "badgegate-kiosk"
    if not exe.exists():
        return f"skipped: {exe} not found"
    code = create_kiosk(server.base_url, gestionnaire, world, "Bench door (CLI)")
    data_dir = workdir / "kiosk-cli"
    t0 = time.perf_counter()
    start = subprocess.run(
        [exe, "--help"], capture_output=True, timeout=SUBPROCESS_TIMEOUT, check=False
    )
    start_up = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = subprocess.run(
        [exe, "--data-dir", data_dir, "provision", "--server", server.base_url, "--code", code],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    wall = time.perf_counter() - t0
    if result.returncode != 0 or start.returncode != 0:
        raise BenchError(
            f"badgegate-kiosk provision exited {result.returncode}: {result.stderr[-1000:]}"
        )
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return (
        f"{wall:.2f} s for provision + first sync in a subprocess "
        f"(of which interpreter start + imports ~{start_up:.2f} s, as `--help` takes); "
        f"it said: {last}"
    )


# ---------------------------------------------------------------------------
# (b) deltas


def make_delta(app: Flask, world: World, count: int) -> tuple[list[str], float]:
    """``count`` paid accesses to the door session refunded, through the ORM, one commit.

    Returns their kiosk keys and the commit's seconds (change log included).
    """
    with app.app_context():
        rows = db.session.scalars(
            select(SessionAccess)
            .where(
                SessionAccess.session_id == world.door_session,
                SessionAccess.payment_status == "paid",
            )
            .order_by(SessionAccess.id)
            .limit(count)
        ).all()
        if len(rows) < count:
            raise BenchError(f"only {len(rows)} paid accesses left to refund")
        for sa in rows:
            sa.payment_status = "refunded"
            sa.has_access = False
        keys = [access_key(sa.participant_id, sa.session_id) for sa in rows]
        t0 = time.perf_counter()
        db.session.commit()
        commit = time.perf_counter() - t0
        db.session.remove()
    return keys, commit


def deltas(
    store: KioskStore,
    server: ServerProcess,
    token: str,
    app: Flask,
    world: World,
    args: argparse.Namespace,
    workdir: Path,
    run: Run,
) -> None:
    rtt = rtt_median(server.base_url)
    session = RecordingSession()
    client = SyncClient(server.base_url, token, session=session)
    apply = Timed(store.apply_page)
    store.apply_page = apply  # type: ignore[method-assign]
    rows: list[list[Any]] = []
    walls: list[float] = []
    bodies: list[bytes] = []
    requests_made = 0
    syncer = Syncer(store, client)
    try:
        for r in range(args.delta_rounds):
            run.delta_cursor = store.cursor
            keys, commit = make_delta(app, world, DELTA_CHANGES)
            applied_before = len(apply.calls)
            t0 = time.perf_counter()
            summary = syncer.sync_once()
            wall = time.perf_counter() - t0
            _check_summary(f"delta round {r + 1}", summary)
            if summary.pulled != DELTA_CHANGES:
                raise BenchError(f"delta round {r + 1}: pulled {summary.pulled} changes")
            for key in keys:
                pid, _, sid = key.partition(":")
                rec = store.session_access(pid, sid)
                if rec is None or rec["payment_status"] != "refunded":
                    raise BenchError(f"delta round {r + 1}: {key} is {rec} on the kiosk")
            calls = session.take()
            requests_made += len(calls)
            bodies += [c.received for c in calls if "/api/sync/changes" in c.url]
            walls.append(wall)
            rows.append(
                [
                    r + 1,
                    commit * 1000,
                    len(calls),
                    sum(c.ttfb for c in calls) * 1000,
                    sum(c.wall for c in calls) * 1000,
                    sum(d for _t, d in apply.calls[applied_before:]) * 1000,
                    wall * 1000,
                ]
            )
    finally:
        del store.apply_page
        client.close()
    print()
    print(f"(b) deltas of {DELTA_CHANGES} SessionAccess changes, one ORM commit each:")
    print_table(
        [
            "round",
            "server commit ms",
            "requests",
            "server ms",
            "HTTP ms",
            "kiosk apply ms",
            "sync_once ms",
        ],
        rows,
    )
    median = statistics.median(walls)
    per_round = len(bodies) / args.delta_rounds
    base = Baseline(
        rtt,
        round(requests_made / args.delta_rounds),
        read_parse_seconds(bodies, workdir / "bytes-b") / args.delta_rounds,
        sum(map(len, bodies)) / 1e6 / args.delta_rounds,
    )
    run.goals["b"] = Goal(
        f"(b) pull of {DELTA_CHANGES} changes (median of {args.delta_rounds})",
        median,
        GOAL_DELTA,
        base,
        note=f"{per_round:.0f} page(s) per round",
    )


# ---------------------------------------------------------------------------
# (c) pushing queued scans


def push_scans(
    store: KioskStore,
    server: ServerProcess,
    token: str,
    app: Flask,
    world: World,
    args: argparse.Namespace,
    cpu: CpuMeter,
    workdir: Path,
    run: Run,
) -> None:
    rng = random.Random(args.seed + 3)
    kiosk_id = uuid.UUID(store.get_meta("kiosk_id") or "")
    store.set_meta(online=False)  # the kiosk lost the network: scans are decided offline
    record_ns: list[int] = []
    verdicts: Counter[str] = Counter()
    t_enqueue = time.perf_counter()
    for payload in payloads(world, args.scans, rng):
        t0 = time.perf_counter_ns()
        verdict, _scan = record_scan(store, payload)
        record_ns.append(time.perf_counter_ns() - t0)
        verdicts[verdict.reason.value] += 1
    enqueue_wall = time.perf_counter() - t_enqueue
    if store.queue_length() != args.scans:
        raise BenchError(f"the outbox holds {store.queue_length()} scans, not {args.scans}")
    mine0, total0 = scan_rows(app, kiosk_id)

    rtt = rtt_median(server.base_url)
    session = RecordingSession()
    client = SyncClient(server.base_url, token, session=session)
    syncer = Syncer(store, client)
    before = cpu.snapshot()
    t0 = time.perf_counter()
    summary = syncer.push_once()
    wall = time.perf_counter() - t0
    used = cpu.delta(before, cpu.snapshot())
    client.close()
    _check_summary("push", summary)
    calls = session.take()
    mine1, total1 = scan_rows(app, kiosk_id)
    if summary.accepted != args.scans or store.queue_length() != 0:
        raise BenchError(
            f"push: {summary.accepted} accepted, {summary.duplicate} duplicate, "
            f"{summary.rejected} rejected, {store.queue_length()} left; expected "
            f"{args.scans} accepted"
        )
    if mine1 - mine0 != args.scans or total1 - total0 != args.scans:
        raise BenchError(
            f"push: the server has {mine1 - mine0} new rows of this kiosk and "
            f"{total1 - total0} new rows in all, expected {args.scans}"
        )
    run.notes.append(
        f"(c) server rows: RoomAccess of the kiosk {mine0} -> {mine1}, all RoomAccess "
        f"{total0} -> {total1}: exactly {args.scans} new, all accepted"
    )

    http = sum(c.wall for c in calls)
    server_s = sum(c.ttfb for c in calls)
    sent = sum(len(c.sent) for c in calls) / 1e6
    print()
    print(
        f"(c) {args.scans} scans queued offline with record_scan in {enqueue_wall:.1f} s "
        f"(median {statistics.median(record_ns) / 1e6:.3f} ms, p95 "
        f"{percentile(record_ns, 95) / 1e6:.3f} ms per scan: decide + durable enqueue); "
        f"verdicts {dict(verdicts.most_common())}"
    )
    print_table(
        [
            "batches",
            "scans/batch",
            "in flight",
            "MB sent",
            "server ms/batch",
            "max",
            "sum server s",
            "sum HTTP s",
            "push s",
        ],
        [
            [
                len(calls),
                round(args.scans / max(len(calls), 1)),
                syncer.push_in_flight,
                sent,
                statistics.median(c.ttfb for c in calls) * 1000,
                max(c.ttfb for c in calls) * 1000,
                server_s,
                http,
                wall,
            ]
        ],
    )
    print(
        f"    up to {syncer.push_in_flight} batches on their way at once: sum HTTP s can exceed "
        f"push s; CPU during the push: {fmt_cpu(used)}"
    )
    both = [c.sent for c in calls] + [c.received for c in calls]
    base = Baseline(
        rtt,
        len(calls),
        read_parse_seconds(both, workdir / "bytes-c"),
        sum(map(len, both)) / 1e6,
    )
    run.goals["c"] = Goal(f"(c) push of {args.scans} queued scans", wall, GOAL_PUSH, base)


# ---------------------------------------------------------------------------
# (d) deciding


def decisions(
    store: KioskStore,
    server: ServerProcess,
    controller: str,
    world: World,
    args: argparse.Namespace,
    run: Run,
) -> None:
    rng = random.Random(args.seed + 4)
    scans = payloads(world, args.decisions, rng)
    at = utcnow()  # inside the paid session running in room 0
    for p in scans[:DECIDE_WARMUP]:
        decide_scan(store, p, at)
    ns: list[int] = []
    reasons: Counter[str] = Counter()
    for p in scans:
        t0 = time.perf_counter_ns()
        verdict, _scan = decide_scan(store, p, at)
        ns.append(time.perf_counter_ns() - t0)
        reasons[verdict.reason.value] += 1
    offline = [n / 1e9 for n in ns]

    # the same kind of scans online, one at a time, through one keep-alive session
    online_scans = payloads(world, args.online + ONLINE_WARMUP, random.Random(args.seed + 5))
    url = f"{server.base_url}/api/rooms/{world.door_room}/verify_access/"
    headers = {"Authorization": f"Bearer {controller}", "Content-Type": "application/json"}
    online: list[float] = []
    agree = disagree = 0
    samples: list[str] = []
    with requests.Session() as http:
        deadline = time.monotonic() + 120
        for i, p in enumerate(online_scans):
            if time.monotonic() > deadline:
                break
            body = json.dumps({"qr_data": p, "session": str(world.door_session)})
            t0 = time.perf_counter()
            resp = http.post(url, data=body, headers=headers, timeout=10)
            elapsed = time.perf_counter() - t0
            if resp.status_code >= 500 or resp.status_code == 401:
                raise BenchError(f"verify_access: HTTP {resp.status_code}: {resp.text[:200]}")
            if i < ONLINE_WARMUP:
                continue
            online.append(elapsed)
            reason = resp.json().get("reason")
            local, _scan = decide_scan(store, p)
            if reason == local.reason.value:
                agree += 1
            else:
                disagree += 1
                if len(samples) < 3:
                    samples.append(f"{p}: online {reason}, offline {local.reason.value}")
    print()
    print(
        f"(d) decisions at the door of room 0 (paid session running), "
        f"{len(world.people) + 2} members on the kiosk:"
    )
    med_off, med_on = statistics.median(offline), statistics.median(online)
    print_table(
        ["where", "scans", "median ms", "p95 ms", "p99 ms", "max ms"],
        [
            [
                "offline decide_scan",
                len(offline),
                med_off * 1000,
                percentile(offline, 95) * 1000,
                percentile(offline, 99) * 1000,
                max(offline) * 1000,
            ],
            [
                "online verify_access",
                len(online),
                med_on * 1000,
                percentile(online, 95) * 1000,
                percentile(online, 99) * 1000,
                max(online) * 1000,
            ],
        ],
    )
    print(
        f"    online / offline median: {med_on / med_off:.1f} x; verdicts offline "
        f"{dict(reasons.most_common())}; online and offline agree on {agree} of "
        f"{agree + disagree} scans" + (f" (e.g. {'; '.join(samples)})" if samples else "")
    )
    run.goals["d"] = Goal(
        "(d) decide_scan median",
        med_off,
        GOAL_DECIDE_MEDIAN,
        None,
        note=f"p95 {percentile(offline, 95) * 1000:.3f} ms; online {med_on * 1000:.2f} ms "
        f"= {med_on / med_off:.0f} x offline",
    )


# ---------------------------------------------------------------------------
# profiles (in this process)


class SqlTimer:
    """Seconds spent in the database driver's execute per statement (first 90 chars).

    On SQLite the driver's execute returns after the first row (the rest is
    stepped by fetch), so :meth:`replay` runs the slowest SELECTs again, raw
    (execute + fetch all), to give the database's whole time, with the plan.
    """

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.count: Counter[str] = Counter()
        #: key -> (seconds, statement, parameters) of its slowest execution
        self.slowest: dict[str, tuple[float, str, Any]] = {}
        self._start: list[float] = []

    def before(self, *_args: Any) -> None:
        self._start.append(time.perf_counter())

    def after(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        secs = time.perf_counter() - self._start.pop()
        key = re.sub(r"\s+", " ", statement)[:90]
        self.seconds[key] += secs
        self.count[key] += 1
        if secs > self.slowest.get(key, (-1.0,))[0]:
            self.slowest[key] = (secs, statement, parameters)

    @contextlib.contextmanager
    def on(self, engine: Any) -> Iterator[None]:
        sa_event.listen(engine, "before_cursor_execute", self.before)
        sa_event.listen(engine, "after_cursor_execute", self.after)
        try:
            yield
        finally:
            sa_event.remove(engine, "before_cursor_execute", self.before)
            sa_event.remove(engine, "after_cursor_execute", self.after)

    def report(self, wall: float, top: int = 6) -> None:
        total = sum(self.seconds.values())
        print(
            f"    SQL, driver execute only: {total:.2f} s = {total / wall:.0%} of {wall:.2f} s "
            "(on SQLite fetching is not in it: see the replay below)"
        )
        for stmt, secs in self.seconds.most_common(top):
            print(f"      {secs:7.3f} s {self.count[stmt]:5d} x  {stmt}")

    def replay(self, engine: Any, top: int = 2, plan_lines: int = 30) -> None:
        """The ``top`` SELECTs with the most time, run again raw: time and plan."""
        selects = [k for k, _s in self.seconds.most_common() if k.lstrip().startswith("SELECT")]
        raw = engine.raw_connection()
        try:
            for key in selects[:top]:
                _secs, statement, params = self.slowest[key]
                cur = raw.cursor()
                best, rows = math.inf, 0
                for _ in range(3):
                    t0 = time.perf_counter()
                    cur.execute(statement, params)
                    rows = len(cur.fetchall())
                    best = min(best, time.perf_counter() - t0)
                if engine.dialect.name == "sqlite":
                    cur.execute("EXPLAIN QUERY PLAN " + statement, params)
                    plan = [f"{r[3]} (id {r[0]}, parent {r[1]})" for r in cur.fetchall()]
                else:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                    plan = [r[0] for r in cur.fetchall()]
                cur.close()
                raw.rollback()
                print(
                    f"    replay of the slowest '{key[:60]}...': {best * 1000:.0f} ms for "
                    f"{rows} rows (execute + fetch all, raw driver, best of 3); plan:"
                )
                for line in plan[:plan_lines]:
                    print(f"      {line[:150]}{' ...' if len(line) > 150 else ''}")
                if len(plan) > plan_lines:
                    print(f"      ... {len(plan) - plan_lines} more lines")
        finally:
            raw.close()


def print_profile(prof: cProfile.Profile, wall: float, top: int = 14) -> None:
    """The functions with the most own time, and their share of ``wall``."""
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    rows = []
    for (filename, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = filename
        for marker in ("site-packages/", "/work/main/", "lib/python3"):
            if marker in where:
                where = where.split(marker, 1)[1]
        rows.append((tt, ct, nc, f"{where}:{line}({name})"))
    rows.sort(reverse=True)
    driver = sum(tt for tt, _ct, _nc, fn in rows if "sqlite3" in fn or "psycopg" in fn)
    print(
        f"    own time in the database driver (sqlite3 / psycopg C calls: the SQLite engine "
        f"itself, or waiting for PostgreSQL): {driver:.2f} s = {driver / wall:.0%}"
    )
    print_table(
        ["own s", "own %", "cum s", "calls", "function"],
        [[tt, f"{tt / wall:.0%}", ct, nc, fn] for tt, ct, nc, fn in rows[:top]],
    )


def cumulative(prof: cProfile.Profile, names: Sequence[str]) -> list[list[Any]]:
    """Cumulative seconds of the functions named ``module.py:function``."""
    stats = pstats.Stats(prof)
    found: dict[str, float] = {}
    for (filename, _line, fname), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        for want in names:
            file_part, _, func_part = want.partition(":")
            if filename.endswith(file_part) and fname == func_part:
                found[want] = max(found.get(want, 0.0), ct)
    return [[n, found.get(n, math.nan)] for n in names]


def _profiled(fn: Callable[[], Any]) -> tuple[cProfile.Profile, float]:
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    try:
        fn()
    finally:
        prof.disable()
    return prof, time.perf_counter() - t0


def profile_server_pages(app: Flask, token: str, cursor: str, label: str) -> None:
    """GET /api/sync/changes from ``cursor`` to the end, in-process, under cProfile.

    Only the requests are profiled and timed (the pages are decoded outside).
    Pages are built in the request (not ahead, in a thread cProfile does not see)
    and the page cache is emptied first, so the profile shows every build.
    """
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    sql = SqlTimer()
    pages: list[float] = []
    prof = cProfile.Profile()
    with app.app_context():
        engine = db.engine
    PAGES.clear()
    built_ahead = sync_api._build_ahead
    sync_api._build_ahead = lambda *_args: None  # type: ignore[assignment]
    with sql.on(engine), contextlib.ExitStack() as restore:
        restore.callback(setattr, sync_api, "_build_ahead", built_ahead)
        for _ in range(100_000):
            t0 = time.perf_counter()
            prof.enable()
            resp = client.get(
                "/api/sync/changes", query_string={"cursor": cursor, "limit": 5000}, headers=headers
            )
            prof.disable()
            pages.append(time.perf_counter() - t0)
            if resp.status_code != 200:
                raise BenchError(f"profile: HTTP {resp.status_code}: {resp.text[:200]}")
            page = resp.get_json()
            cursor = page["cursor"]
            if not page["has_more"]:
                break
    wall = sum(pages)
    print()
    print(
        f"[profile] server, {label}: {len(pages)} pages in-process (Flask test client), "
        f"{wall:.2f} s under cProfile; per page median {statistics.median(pages) * 1000:.0f} ms"
    )
    print_table(
        ["server function (cumulative)", "s"],
        cumulative(
            prof,
            [
                "server/kiosks/sync.py:changes",
                "server/kiosks/sync.py:_snapshot_page",
                "server/changefeed.py:snapshot_records",
                "server/changefeed.py:_snapshot_members",
                "server/changefeed.py:dashed",
                "server/kiosks/sync.py:_change",
                "server/kiosks/sync.py:_page",
                "server/changefeed.py:latest_seq_of_event",
                "flask/json/provider.py:response",
                "sqlalchemy/engine/result.py:all",
            ],
        ),
    )
    sql.report(wall)
    with app.app_context():
        sql.replay(db.engine)
    print_profile(prof, wall)


def profile_server_push(app: Flask, token: str, store: KioskStore, world: World) -> None:
    """One batch of 500 new scans, posted in-process under cProfile (rows are kept)."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    scans = [decide_scan(store, p)[1].to_dict() for p in payloads(world, 500, random.Random(7))]
    body = {"scans": scans, "queue_length": 0}
    sql = SqlTimer()
    status: list[int] = []

    def post() -> None:
        status.append(client.post("/api/sync/scans", json=body, headers=headers).status_code)

    with app.app_context():
        engine = db.engine
    with sql.on(engine):
        prof, wall = _profiled(post)
    if status != [200]:
        raise BenchError(f"profile push: HTTP {status}")
    print()
    print(f"[profile] server, one push batch of 500 scans in-process: {wall:.3f} s")
    print_table(
        ["server function (cumulative)", "s"],
        cumulative(
            prof,
            [
                "server/kiosks/sync.py:upload_scans",
                "shared/sync.py:parse_batch",
                "server/kiosks/scan_upload.py:store_batch",
                "server/facts.py:load_facts",
                "server/changefeed.py:member_records",
                "server/kiosks/scan_upload.py:server_verdict",
                "server/kiosks/scan_upload.py:_insert",
                "flask/json/provider.py:response",
            ],
        ),
    )
    sql.report(wall)
    inserts = {k: n for k, n in sql.count.items() if k.startswith("INSERT")}
    print(
        f"    {sum(inserts.values())} INSERT executions "
        f"({' + '.join(map(str, inserts.values()))} in {len(inserts)} column sets) for 500 rows, "
        f"{sum(sql.seconds[k] for k in inserts):.3f} s in the driver"
    )
    with app.app_context():
        sql.replay(db.engine, top=1)
    print_profile(prof, wall)


def profile_kiosk_apply(bodies: Sequence[bytes], folder: Path, mode_store: KioskStore) -> None:
    """The first sync's pages applied to a fresh store, single-threaded, under cProfile."""
    store = KioskStore(folder)
    meta = mode_store.meta()
    kiosk = {
        "id": meta.get("kiosk_id"),
        "event_id": meta.get("event_id"),
        "mode": meta.get("mode"),
        "room_id": meta.get("room_id"),
    }
    store.provision("http://127.0.0.1:9", "profile", kiosk, {})
    try:

        def apply_all() -> None:
            for body in bodies:
                store.apply_page(json.loads(body))

        prof, wall = _profiled(apply_all)
    finally:
        store.close()
    print()
    print(f"[profile] kiosk, decode + apply of the {len(bodies)} first-sync pages: {wall:.2f} s")
    print_table(
        ["kiosk function (cumulative)", "s"],
        cumulative(
            prof,
            [
                "json/__init__.py:loads",
                "kiosk/store.py:_apply_mapping",
                "kiosk/store.py:_rows",
                "kiosk/store.py:_encode",
                "kiosk/store.py:_write",
                "kiosk/store.py:transaction",
            ],
        ),
    )
    print_profile(prof, wall, top=10)


def profile_kiosk_decide(store: KioskStore, world: World, count: int) -> None:
    scans = payloads(world, count, random.Random(11))
    at = utcnow()

    def decide_all() -> None:
        for p in scans:
            decide_scan(store, p, at)

    prof, wall = _profiled(decide_all)
    print()
    print(f"[profile] kiosk, {count} decide_scan: {wall:.2f} s under cProfile")
    print_profile(prof, wall, top=12)


# ---------------------------------------------------------------------------
# the kiosk


def create_kiosk(base_url: str, gestionnaire: str, world: World, name: str) -> str:
    """A door kiosk for room 0, registered by the gestionnaire: its provisioning code."""
    resp = requests.post(
        f"{base_url}/api/kiosks/",
        json={"name": name, "mode": "door", "room_id": str(world.door_room)},
        headers={"Authorization": f"Bearer {gestionnaire}"},
        timeout=10,
    )
    if resp.status_code != 201:
        raise BenchError(f"POST /api/kiosks/: HTTP {resp.status_code}: {resp.text[:300]}")
    return str(resp.json()["provisioning_code"])


def provision_kiosk(base_url: str, gestionnaire: str, world: World, folder: Path) -> KioskStore:
    code = create_kiosk(base_url, gestionnaire, world, "Bench door")
    with SyncClient(base_url) as client:
        answer = client.provision(code=code)
    store = KioskStore(folder)
    event = answer.get("event") if isinstance(answer.get("event"), dict) else {}
    store.provision(base_url, answer["device_token"], answer["kiosk"], event, answer["badge_keys"])
    return store


# ---------------------------------------------------------------------------
# the report


def report(run: Run, args: argparse.Namespace) -> None:
    rows = []
    for goal in run.goals.values():
        base = goal.baseline
        rows.append(
            [
                goal.label,
                goal.measured * 1000 if goal.goal < 1e-2 else goal.measured,
                goal.goal * 1000 if goal.goal < 1e-2 else goal.goal,
                "ms" if goal.goal < 1e-2 else "s",
                goal.measured / goal.goal,
                base.seconds if base else math.nan,
                goal.measured / base.seconds if base else math.nan,
                mark(goal.ok),
            ]
        )
    print()
    print_table(
        [
            "figure",
            "measured",
            "goal",
            "unit",
            "measured/goal",
            "baseline s",
            "measured/baseline",
            "result",
        ],
        rows,
    )
    print()
    print("Baselines (same run, measured just before each phase):")
    for goal in run.goals.values():
        if goal.baseline:
            print(f"  {goal.label}: {goal.baseline.describe()}")
    print()
    print("Goals:")
    for goal in run.goals.values():
        unit, scale = ("ms", 1000) if goal.goal < 1e-2 else ("s", 1)
        note = f" ({goal.note})" if goal.note else ""
        print(
            f"  [{mark(goal.ok)}] {goal.label} <= {goal.goal * scale:g} {unit}: "
            f"{goal.measured * scale:.3f} {unit}{note}"
        )
    for note in run.notes:
        print(f"  {note}")
    if args.participants != 100_000 or args.access != 50_000 or args.scans != 10_000:
        print(
            "  The goals are set for 100000 participants, 50000 accesses and 10000 scans; "
            "this run used other sizes."
        )


# ---------------------------------------------------------------------------


def run_bench(args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="badgegate-sync-"))
    stack.callback(shutil.rmtree, workdir, ignore_errors=True)
    if args.database == "postgresql":
        print("Starting a throwaway PostgreSQL cluster ...", flush=True)
    database_url, db_cpu = open_database(args.database, workdir, stack)
    bench_env = {
        "DATABASE_URL": database_url,
        "BADGEGATE_INSTANCE_PATH": str(workdir / "instance"),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    os.environ.update(bench_env)  # create_app() below reads the same settings
    env = {**os.environ, **bench_env}

    t0 = time.perf_counter()
    app = create_app()
    build_schema(app)
    world = seed(app, args.participants, args.access, random.Random(args.seed))
    world.signer = load_signer(app)
    if args.database == "postgresql":
        # autovacuum would have done it after such an import: plan with statistics
        with app.app_context():
            db.session.connection().exec_driver_sql("ANALYZE")
            db.session.commit()
            db.session.remove()
    print(
        f"Event ready in {time.perf_counter() - t0:.1f} s ({args.database}): "
        f"{len(world.people)} participants, {world.allowed_rows} allowed-room rows, "
        f"{world.access_rows} session accesses over {len(world.paid_sessions)} paid sessions, "
        f"{ROOMS} rooms, {ROOMS * SESSIONS_PER_ROOM} sessions",
        flush=True,
    )

    server = ServerProcess(env, workdir / "gunicorn.log", workers=args.workers)
    stack.callback(server.stop)
    server.start()
    probes: dict[str, Callable[[], float]] = {"server": server.cpu_seconds}
    if db_cpu is not None:
        probes["db"] = db_cpu
    cpu = CpuMeter(probes)
    print(f"gunicorn with {args.workers} threaded workers on {server.base_url}", flush=True)
    gestionnaire = access_token(app, world, world.gestionnaire_id, Role.GESTIONNAIRE)
    controller = access_token(app, world, world.controller_id, Role.CONTROLLEUR)
    store = provision_kiosk(server.base_url, gestionnaire, world, workdir / "kiosk")
    stack.callback(store.close)
    token = store.get_meta("device_token") or ""
    print(f"Door kiosk {store.get_meta('kiosk_id')} provisioned for room 0", flush=True)
    load_before = load_average()
    run = Run()
    try:
        first_sync(store, server, token, world, args, cpu, workdir, run)
        if not args.no_cli:
            cli = first_sync_cli(server, gestionnaire, world, workdir)
            print(f"    cross-check with the CLI, badgegate-kiosk provision: {cli}")
        deltas(store, server, token, app, world, args, workdir, run)
        push_scans(store, server, token, app, world, args, cpu, workdir, run)
        decisions(store, server, controller, world, args, run)
        if args.doors:  # last: its change is not part of the deltas measured above
            opening(server, gestionnaire, app, world, cpu, workdir, run, args.doors)
    except BenchError as exc:
        log_tail = (workdir / "gunicorn.log").read_text(errors="replace")[-2000:]
        raise BenchError(f"{exc}\n--- gunicorn log (tail) ---\n{log_tail or '(empty)'}") from None
    rtt_end = rtt_median(server.base_url)
    load_after = load_average()
    server.stop()

    report(run, args)
    print(
        f"  GET /api/ round trip at the end: {rtt_end * 1000:.2f} ms (drift check); "
        f"load average before {load_before}, after {load_after}; {os.cpu_count()} CPUs"
    )

    wanted = {
        key
        for key, goal in run.goals.items()
        if args.profile == "all" or (args.profile == "missed" and not goal.ok)
    }
    if wanted:
        print()
        print(f"Profiles of {', '.join(sorted(wanted))} (in this process, server stopped):")
        # the benchmark's own objects (the people, the pages) out of the GC's way, so
        # that its passes do not weigh on the profiled code more than in a worker
        gc.collect()
        gc.freeze()
    if "a" in wanted:
        profile_server_pages(app, token, "0", "the whole snapshot (cursor 0)")
        profile_kiosk_apply(run.first_pages, workdir / "kiosk-profile", store)
    if "b" in wanted and run.delta_cursor is not None:
        profile_server_pages(app, token, run.delta_cursor, "the last delta")
    if "c" in wanted:
        profile_server_push(app, token, store, world)
    if "d" in wanted:
        profile_kiosk_decide(store, world, min(args.decisions, 5000))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _terminate(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM: unwind through the cleanups like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    print(
        f"BadgeGate kiosk sync benchmark: database={args.database} workers={args.workers} "
        f"participants={args.participants} access={args.access} scans={args.scans} "
        f"(kiosk in this process: KioskStore + SyncClient + Syncer defaults)",
        flush=True,
    )
    started = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            run_bench(args, stack)
        print(f"\nDone in {time.perf_counter() - started:.0f} s.")
    except BenchError as exc:
        print(f"\nERROR: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted; server stopped and temporary files removed.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
