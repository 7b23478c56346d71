"""Benchmark of ``GET /api/dashboard/stats/`` as an event grows to 100,000 participants.

What is measured: the median latency of the dashboard's answer (in-process,
through the Flask test client, a gestionnaire's token) for an event of
``--small`` participants, then of ``--large`` participants (an event alike
of another event, bulk-inserted), next to ``GET /api/rooms/`` (the same token check,
no counting) measured in the same rounds so that machine drift hits both.

The result is the ratio dashboard(large) / dashboard(small), corrected by the
rooms list's own drift between the two phases; goal <= 2 (the counts are SQL
aggregates over an index; no participant row is read).

The database (an SQLite file, or a throwaway PostgreSQL cluster from
``tests/pgcluster.py``) lives in a temporary directory removed at the end::

    .venv/bin/python bench/dashboard.py
    .venv/bin/python bench/dashboard.py --database postgresql --large 100000

Exit status 0 whatever the goal says (a benchmark, not a test); non-zero on
errors or wrong answers (a status other than 200, or a count that is not the
number of participants inserted).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask

from bench.common import BenchError, open_database, print_table
from bench.seeding import add_staff, build_schema, insert_people
from server import create_app
from server.auth import tokens
from server.extensions import db
from server.models import Event, EventSession, Room
from shared.roles import Role
from shared.timefmt import utcnow

GOAL = 2.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--small", type=int, default=100, help="participants at first")
    parser.add_argument("--large", type=int, default=100_000, help="participants then")
    parser.add_argument("--rounds", type=int, default=60, help="requests per endpoint and phase")
    return parser.parse_args(argv)


def _event(app: Flask, name: str) -> tuple[uuid.UUID, dict[str, str]]:
    now = utcnow()
    with app.app_context():
        event = Event(
            id=uuid.uuid4(),
            name=f"Bench event {name}",
            start_date=now - timedelta(hours=2),
            end_date=now + timedelta(days=2),
        )
        db.session.add(event)
        room = Room(id=uuid.uuid4(), event_id=event.id, name="Plénière")
        db.session.add(room)
        for hour in range(-3, 20):
            db.session.add(
                EventSession(
                    event_id=event.id,
                    room_id=room.id,
                    title=f"Session {hour}",
                    start_time=now + timedelta(hours=hour),
                    end_time=now + timedelta(hours=hour, minutes=50),
                    status="termine" if hour < 0 else "pas_encore",
                )
            )
        user_id = add_staff(event.id, f"gestionnaire-{name}", Role.GESTIONNAIRE, "!")
        db.session.commit()
        pair = tokens.issue_pair(user_id, event.id, Role.GESTIONNAIRE.value)
        return event.id, {"Authorization": f"Bearer {pair['access']}"}


def _few(app: Flask, event_id: uuid.UUID, count: int) -> None:
    with app.app_context():
        for i in range(count):
            add_staff(event_id, f"small{i:06d}", Role.PARTICIPANT, "!")
        db.session.commit()


def _many(app: Flask, event_id: uuid.UUID, count: int) -> None:
    with app.app_context():
        insert_people(event_id, count, "!")
        db.session.commit()


def _measure(app: Flask, headers: dict[str, str], rounds: int, expect: int) -> dict[str, float]:
    client = app.test_client()
    times: dict[str, list[float]] = {"dashboard": [], "rooms": []}
    for _ in range(rounds):
        for name, url in (("dashboard", "/api/dashboard/stats/"), ("rooms", "/api/rooms/")):
            started = time.perf_counter()
            answer = client.get(url, headers=headers)
            times[name].append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise BenchError(f"{url}: {answer.status_code} {answer.get_data(as_text=True)}")
            if name == "dashboard" and answer.get_json()["total_participants"] != expect:
                raise BenchError(f"total_participants {answer.get_json()['total_participants']}")
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="badgegate-bench-dashboard-"))
    try:
        with contextlib.ExitStack() as stack:
            url, _cpu = open_database(args.database, workdir, stack)
            os.environ["BADGEGATE_INSTANCE_PATH"] = str(workdir / "instance")
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
            build_schema(app)
            small_event, small_headers = _event(app, "small")
            large_event, large_headers = _event(app, "large")
            _few(app, small_event, args.small)
            _many(app, large_event, args.large)
            small = _measure(app, small_headers, args.rounds, args.small)
            large = _measure(app, large_headers, args.rounds, args.large)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    drift = large["rooms"] / small["rooms"]
    ratio = large["dashboard"] / small["dashboard"]
    corrected = ratio / drift
    print(f"{args.database}: median ms per request, {args.rounds} rounds each")
    rows: list[list[Any]] = [
        [f"{args.small} participants", f"{small['dashboard']:.2f}", f"{small['rooms']:.2f}"],
        [f"{args.large} participants", f"{large['dashboard']:.2f}", f"{large['rooms']:.2f}"],
    ]
    print_table(["event", "dashboard/stats", "rooms (drift)"], rows)
    verdict = "ok" if corrected <= GOAL else "MISSED"
    print(
        f"dashboard large/small: {ratio:.2f} (rooms drift {drift:.2f}, corrected "
        f"{corrected:.2f}; goal <= {GOAL}: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
