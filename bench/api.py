"""Benchmark of the organizer's common reads at 100,000 participants, under gunicorn.

What is measured: the p50 and p95 latency of each read a gestionnaire makes
all day, next to the trivial ``GET /api/`` (no database) served by the same
gunicorn server (W threaded workers on 127.0.0.1, as served), with K
closed-loop client threads on the same machine:

* a page of participants (a page in the middle of the list),
* a search of participants by name,
* the dashboard statistics,
* a room's statistics (on a log of R scans of that room),
* a page of a session's questions (Q&A),
* a page of the event's announcements.

Each read and the trivial request are measured in 3 interleaved rounds (trivial,
read, trivial, read ...) so that machine drift hits both; the result is each
read's p50 as a ratio to the trivial p50 of the same rounds (absolute numbers
drift on a noisy machine). Goal: no read above 5x. Every answer is checked (200,
the expected shape and counts), so a fast wrong answer is an error, not a figure.

The event is seeded with Core bulk inserts (N participants, 5 rooms, 20
sessions, Q questions on one session, A announcements, R scans of room 0);
the database (an SQLite file, or a throwaway PostgreSQL cluster from
``tests/pgcluster.py``) and everything else live in a temporary directory that
is removed at the end. Run from the repository root::

    .venv/bin/python bench/api.py
    .venv/bin/python bench/api.py --database postgresql
    .venv/bin/python bench/api.py --participants 20000 --requests 300

Exit status 0 whatever the goals say (a benchmark, not a test); non-zero on
errors, wrong answers or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from flask import Flask
from sqlalchemy import insert

from bench.common import (
    BenchError,
    Check,
    LoadResult,
    Request,
    ServerProcess,
    load_average,
    open_database,
    percentile,
    print_table,
    run_load,
)
from bench.seeding import Person, add_staff, build_schema, chunked, insert_people
from server import create_app
from server.auth import tokens
from server.auth.api import hash_password
from server.extensions import db
from server.models import Annonce, Event, EventSession, Room, RoomAccess, SessionQuestion
from shared.roles import Role
from shared.timefmt import utcnow

ROOMS = 5
SESSIONS_PER_ROOM = 4
ROUNDS = 3
WARMUP_REQUESTS = 50
GOAL = 5.0  # each read's p50 at most this many times the trivial p50
#: a slow read is a figure, not a failure: only a wrong answer or no answer at all is
REQUEST_TIMEOUT = 60.0


@dataclass(frozen=True)
class World:
    event_id: uuid.UUID
    rooms: list[uuid.UUID]
    qa_session: uuid.UUID
    gestionnaire_id: int
    people: list[Person]
    questions: int
    annonces: int
    scans: int


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The organizer's common reads next to the trivial GET /api/, under gunicorn."
    )
    parser.add_argument("--participants", type=int, default=100_000, help="(100000)")
    parser.add_argument("--scans", type=int, default=100_000, help="scans of room 0 (100000)")
    parser.add_argument("--questions", type=int, default=5_000, help="questions (5000)")
    parser.add_argument("--annonces", type=int, default=500, help="announcements (500)")
    parser.add_argument(
        "--requests", type=int, default=600, help="requests per read, over 3 rounds (600)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="time budget of each load run (60)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    args = parser.parse_args(argv)
    for name in ("participants", "requests", "concurrency", "workers"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be positive")
    for name in ("scans", "questions", "annonces"):
        if getattr(args, name) < 0:
            parser.error(f"--{name} must not be negative")
    if args.requests < ROUNDS:
        parser.error(f"--requests must be at least {ROUNDS}")
    return args


# ---------------------------------------------------------------------------
# the database


def seed(app: Flask, args: argparse.Namespace, rng: random.Random) -> World:
    now = utcnow()
    with app.app_context():
        password_hash = hash_password("bench-password")
        event = Event(
            id=uuid.uuid4(),
            name="Bench event",
            location="Alger",
            start_date=now - timedelta(hours=6),
            end_date=now + timedelta(days=2),
        )
        rooms = [
            Room(id=uuid.uuid4(), event_id=event.id, name=f"Salle {i}", capacity=500)
            for i in range(ROOMS)
        ]
        sessions = [
            EventSession(
                id=uuid.uuid4(),
                event_id=event.id,
                room_id=room.id,
                title=f"Session {r}.{s}",
                start_time=now + timedelta(hours=s - 1),
                end_time=now + timedelta(hours=s),
                status="en_cours" if s == 1 else "pas_encore",
                session_type="atelier" if s == 3 else "conference",
                is_paid=s == 3,
                price=Decimal("5000.00") if s == 3 else Decimal("0.00"),
            )
            for r, room in enumerate(rooms)
            for s in range(SESSIONS_PER_ROOM)
        ]
        db.session.add_all([event, *rooms, *sessions])
        db.session.flush()
        event_id, room_ids, qa_session = event.id, [r.id for r in rooms], sessions[1].id
        gestionnaire_id = add_staff(event.id, "gestionnaire", Role.GESTIONNAIRE, password_hash)
        controller_id = add_staff(event.id, "controller", Role.CONTROLLEUR, password_hash)
        db.session.commit()
        people = insert_people(event_id, args.participants, password_hash)
        db.session.commit()

        questions = [
            {
                "id": uuid.uuid4(),
                "session_id": qa_session,
                "participant_id": rng.choice(people).participant_id,
                "question_text": f"Question {i}: quels sont les prérequis ?",
                "asked_at": now - timedelta(seconds=i),
                "is_answered": i % 3 == 0,
                "answer_text": "Python" if i % 3 == 0 else "",
            }
            for i in range(args.questions)
        ]
        for chunk in chunked(questions):
            db.session.execute(insert(SessionQuestion), chunk)
        annonces = [
            {
                "id": uuid.uuid4(),
                "event_id": event_id,
                "title": f"Annonce {i}",
                "description": "Le déjeuner est servi à la cafétéria, niveau 2",
                "target": ("all", "participants", "exposants", "controlleurs")[i % 4],
                "created_by_id": gestionnaire_id,
                "created_at": now - timedelta(minutes=i),
                "updated_at": now - timedelta(minutes=i),
            }
            for i in range(args.annonces)
        ]
        for chunk in chunked(annonces):
            db.session.execute(insert(Annonce), chunk)
        span = 2 * 24 * 3600
        scans = []
        for _ in range(args.scans):
            person = rng.choice(people)
            granted = rng.random() < 0.85
            scans.append(
                {
                    "id": uuid.uuid4(),
                    "event_id": event_id,
                    "room_id": room_ids[0],
                    "participant_id": person.participant_id,
                    "user_id": person.user_id,
                    "badge_id": person.badge_id,
                    "status": "granted" if granted else "denied",
                    "reason": "granted" if granted else "room_not_allowed",
                    "access_time": now - timedelta(seconds=rng.uniform(1, span)),
                    "verified_by_id": controller_id,
                }
            )
        for chunk in chunked(scans):
            db.session.execute(insert(RoomAccess), chunk)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # autovacuum would have done it after such an import: plan with statistics
            db.session.connection().exec_driver_sql("ANALYZE")
            db.session.commit()
        db.session.remove()
        return World(
            event_id,
            room_ids,
            qa_session,
            gestionnaire_id,
            people,
            args.questions,
            args.annonces,
            args.scans,
        )


# ---------------------------------------------------------------------------
# the reads


@dataclass(frozen=True)
class Read:
    name: str
    make: Callable[[int], Request]
    check: Check


def _json(resp: requests.Response) -> Any:
    if resp.status_code != 200:
        raise ValueError(f"HTTP {resp.status_code}: {resp.text[:200]}")
    return resp.json()


def _checked(test: Callable[[Any], str | None]) -> Check:
    def check(resp: requests.Response) -> str | None:
        try:
            return test(_json(resp))
        except (ValueError, KeyError, TypeError) as exc:
            return f"{type(exc).__name__}: {exc}"

    return check


def _page_of(total: int, size: int) -> Callable[[Any], str | None]:
    def test(body: Any) -> str | None:
        if body["count"] != total or len(body["results"]) != size:
            return f"count {body['count']} (want {total}), {len(body['results'])} results"
        return None

    return test


def reads(base: str, token: str, world: World, rng: random.Random) -> list[Read]:
    headers = {"Authorization": f"Bearer {token}"}
    middle = max(1, len(world.people) // 20 // 2)  # a page in the middle (20 per page)

    def get(path: str) -> Callable[[int], Request]:
        return lambda _i: Request("GET", f"{base}{path}", headers=headers)

    searches = [rng.randrange(len(world.people)) for _ in range(1000)]

    def search(i: int) -> Request:
        n = searches[i % len(searches)]
        # insert_people names participant i "Prénom{i} Nom{i}": a last name, unique
        return Request("GET", f"{base}/api/participants/?search=Nom{n}", headers=headers)

    def one_found(body: Any) -> str | None:
        return None if body["count"] >= 1 and body["results"] else "nothing found"

    def dashboard(body: Any) -> str | None:
        want = len(world.people)
        if body["total_participants"] != want:
            return f"total_participants {body['total_participants']} (want {want})"
        return None

    def room_stats(body: Any) -> str | None:
        got = body["statistics"]["total_scans"]
        return None if got == world.scans else f"total_scans {got} (want {world.scans})"

    qa_pages = max(1, world.questions // 20)
    return [
        Read(
            "participants, a middle page",
            get(f"/api/participants/?page={middle}&page_size=20"),
            _checked(lambda b: None if len(b["results"]) == 20 else "not a full page"),
        ),
        Read("participants, search by name", search, _checked(one_found)),
        Read("dashboard stats", get("/api/dashboard/stats/"), _checked(dashboard)),
        Read(
            "room statistics",
            get(f"/api/rooms/{world.rooms[0]}/statistics/"),
            _checked(room_stats),
        ),
        Read(
            "Q&A, a page of a session",
            get(
                f"/api/session-questions/?session_id={world.qa_session}"
                f"&page={qa_pages // 2 or 1}&page_size=20"
            ),
            _checked(_page_of(world.questions, min(20, world.questions))),
        ),
        Read(
            "announcements, first page",
            get("/api/annonces/"),
            _checked(lambda b: None if b["count"] == world.annonces else f"count {b['count']}"),
        ),
    ]


def check_trivial(resp: requests.Response) -> str | None:
    return None if resp.status_code == 200 else f"HTTP {resp.status_code}"


def measure(
    what: str, make: Callable[[int], Request], count: int, check: Check, args: argparse.Namespace
) -> LoadResult:
    result = run_load(
        make,
        count,
        args.concurrency,
        check=check,
        max_seconds=args.max_seconds,
        request_timeout=REQUEST_TIMEOUT,
    )
    if result.failures:
        samples = "\n  ".join(result.failure_samples)
        raise BenchError(f"{what}: {result.failures} of {result.sent} failed, e.g.:\n  {samples}")
    return result


def run_bench(args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="badgegate-api-"))
    stack.callback(shutil.rmtree, workdir, ignore_errors=True)
    if args.database == "postgresql":
        print("Starting a throwaway PostgreSQL cluster ...", flush=True)
    database_url, _db_cpu = open_database(args.database, workdir, stack)
    bench_env = {
        "DATABASE_URL": database_url,
        "BADGEGATE_INSTANCE_PATH": str(workdir / "instance"),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    os.environ.update(bench_env)
    env = {**os.environ, **bench_env}
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    app = create_app()
    build_schema(app)
    world = seed(app, args, rng)
    print(
        f"Event ready in {time.perf_counter() - t0:.1f} s ({args.database}): "
        f"{len(world.people)} participants, {args.scans} scans of one room, "
        f"{args.questions} questions, {args.annonces} announcements",
        flush=True,
    )
    with app.app_context():
        token = tokens.issue_pair(world.gestionnaire_id, world.event_id, Role.GESTIONNAIRE.value)[
            "access"
        ]
    server = ServerProcess(env, workdir / "gunicorn.log", workers=args.workers)
    stack.callback(server.stop)
    server.start()
    base = server.base_url
    print(f"gunicorn with {args.workers} threaded workers on {base}", flush=True)
    trivial_request = Request("GET", f"{base}/api/")
    trivial = lambda _i: trivial_request  # noqa: E731
    load_before = load_average()

    sizes = [
        args.requests // ROUNDS + (1 if r < args.requests % ROUNDS else 0) for r in range(ROUNDS)
    ]
    rows = []
    worst = 0.0
    try:
        for read in reads(base, token, world, rng):
            measure(read.name, read.make, WARMUP_REQUESTS, read.check, args)
            base_runs, read_runs = [], []
            for size in sizes:
                base_runs.append(measure("GET /api/", trivial, size, check_trivial, args))
                read_runs.append(measure(read.name, read.make, size, read.check, args))
            b = LoadResult.merge(base_runs)
            r = LoadResult.merge(read_runs)
            b50, r50 = percentile(b.latencies, 50), percentile(r.latencies, 50)
            ratio = r50 / b50 if b50 > 0 else float("nan")
            worst = max(worst, ratio)
            rows.append(
                [
                    read.name,
                    r.completed,
                    round(r50 * 1000, 2),
                    round(percentile(r.latencies, 95) * 1000, 2),
                    round(b50 * 1000, 2),
                    round(ratio, 2),
                    "PASS" if ratio <= GOAL else "MISS",
                ]
            )
            print(f"  {read.name}: p50 {r50 * 1000:.2f} ms = {ratio:.2f}x the trivial", flush=True)
    except BenchError as exc:
        log_tail = (workdir / "gunicorn.log").read_text(errors="replace")[-3000:]
        raise BenchError(f"{exc}\n--- gunicorn log (tail) ---\n{log_tail or '(empty)'}") from None
    load_after = load_average()
    server.stop()
    print()
    print_table(
        ["read", "requests", "p50 ms", "p95 ms", "trivial p50 ms", "p50 / trivial", "result"],
        rows,
    )
    print(
        f"\nGoal: every read's p50 <= {GOAL:g}x the trivial GET /api/ p50 of the same rounds; "
        f"worst {worst:.2f}x: {'PASS' if worst <= GOAL else 'MISS'}"
    )
    print(
        f"{args.concurrency} client threads, {args.workers} gunicorn workers; load average "
        f"before {load_before}, after {load_after}; {os.cpu_count()} CPUs"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"BadgeGate organizer reads benchmark: database={args.database} "
        f"participants={args.participants} requests={args.requests} "
        f"concurrency={args.concurrency} workers={args.workers}",
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
