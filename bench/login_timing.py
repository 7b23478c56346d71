"""Does a failed login take as long for an unknown email as for a known one?

What is measured: the median time of a refused ``POST /api/kiosks/provision/``
(provisioning by login) and of a refused ``POST /api/auth/login/``, for three
kinds of caller, in interleaved rounds (so machine drift hits each kind alike):

* ``unknown``: an email no account has;
* ``known``: a controller's email with a wrong password;
* ``inactive``: a disabled account's email with its right password.

The answer is refused (401) in every case; the ratios known/unknown and
inactive/unknown should be close to 1 (a far smaller time for ``unknown``
tells an attacker which emails have an account). The passwords are hashed with
the server's default method (scrypt), the attempt limits are raised out of the
way, and requests go through Flask's test client on an SQLite file in a
temporary directory (removed at the end). Run from the repository root::

    .venv/bin/python bench/login_timing.py
    .venv/bin/python bench/login_timing.py --rounds 40

Exit status 0 whatever the ratios; non-zero if an answer is not the expected 401.
"""

from __future__ import annotations

import argparse
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

from bench.seeding import add_staff, build_schema
from server import create_app
from server.extensions import db
from server.models import Event, Room, User
from shared.roles import Role
from shared.timefmt import utcnow

PASSWORD = "bench password 1"
KINDS = ("unknown", "known", "inactive")
ENDPOINTS = ("provision", "login")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="requests per kind and endpoint")
    return parser.parse_args(argv)


def make_app(folder: Path) -> Flask:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
            "JWT_SECRET_KEY": "bench-signing-key-" + "x" * 40,
            # out of the way: this measures the hash checks, not the limits
            "AUTH_LIMIT_PER_ACCOUNT": 1_000_000,
            "AUTH_LIMIT_PER_ADDRESS": 1_000_000,
        }
    )


def seed(app: Flask) -> tuple[str, str, str]:
    """(controller email, inactive controller email, room id)."""
    from server.auth.api import hash_password

    with app.app_context():
        event = Event(
            id=uuid.uuid4(),
            name="Bench",
            start_date=utcnow() - timedelta(hours=1),
            end_date=utcnow() + timedelta(days=1),
        )
        db.session.add(event)
        room = Room(id=uuid.uuid4(), event_id=event.id, name="Salle")
        db.session.add(room)
        digest = hash_password(PASSWORD)
        add_staff(event.id, "controller", Role.CONTROLLEUR, digest)
        gone = add_staff(event.id, "gone", Role.CONTROLLEUR, digest)
        user = db.session.get(User, gone)
        assert user is not None
        user.is_active = False
        db.session.commit()
        return "controller@bench.example.com", "gone@bench.example.com", str(room.id)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-login-") as tmp:
        app = make_app(Path(tmp))
        build_schema(app)
        known, inactive, room = seed(app)
        client = app.test_client()
        bodies: dict[str, dict[str, Any]] = {
            "unknown": {"email": "nobody@bench.example.com", "password": "wrong password"},
            "known": {"email": known, "password": "wrong password"},
            "inactive": {"email": inactive, "password": PASSWORD},
        }
        urls = {"provision": "/api/kiosks/provision/", "login": "/api/auth/login/"}
        times: dict[tuple[str, str], list[float]] = {(e, k): [] for e in ENDPOINTS for k in KINDS}
        for endpoint in ENDPOINTS:  # one warm-up each (the dummy hash is made once)
            client.post(urls[endpoint], json={**bodies["unknown"], "room_id": room})
        for _ in range(args.rounds):
            for endpoint in ENDPOINTS:
                for kind in KINDS:
                    body = {**bodies[kind], "room_id": room}
                    started = time.perf_counter()
                    resp = client.post(urls[endpoint], json=body)
                    elapsed = time.perf_counter() - started
                    if resp.status_code != 401:
                        print(f"{endpoint} {kind}: {resp.status_code} {resp.get_json()}")
                        return 1
                    times[(endpoint, kind)].append(elapsed)
        print(f"{args.rounds} rounds, medians in ms, ratio to 'unknown' of the same endpoint")
        print(f"{'endpoint':<10} {'kind':<9} {'median ms':>10} {'ratio':>7}")
        for endpoint in ENDPOINTS:
            base = statistics.median(times[(endpoint, "unknown")])
            for kind in KINDS:
                med = statistics.median(times[(endpoint, kind)])
                print(f"{endpoint:<10} {kind:<9} {med * 1000:>10.1f} {med / base:>7.2f}")
        with app.app_context():
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
