"""Fixtures in the flaskr style (``app``, ``client``, ``runner``, ``auth``), run
on both databases: an SQLite file and a throwaway PostgreSQL cluster.

The schema is built once per database by running the migrations (so the
migrations themselves are under test); each test then starts from empty
tables. When the PostgreSQL binaries are missing, the PostgreSQL half of the
suite is skipped with a message that says so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from server import create_app, signing
from server.auth import tokens
from server.badges import ensure_profile
from server.extensions import db
from server.models import (
    Event,
    EventSession,
    Participant,
    Room,
    SessionAccess,
    User,
    UserEventAssignment,
)
from shared.badge import Badge, parse_badge
from shared.roles import Role
from shared.signing import SignatureCheck
from shared.timefmt import utcnow
from tests import pgcluster

TEST_PASSWORD = "correct horse"
FAST_HASH = "pbkdf2:sha256:1000"
BACKENDS = ("sqlite", "postgresql")


def base_config(url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "JWT_SECRET_KEY": "test-signing-key-" + "x" * 40,
        "PASSWORD_HASH_METHOD": FAST_HASH,
    }


@pytest.fixture(scope="session", autouse=True)
def _instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    os.environ["BADGEGATE_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("instance"))
    yield


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pgcluster.PgCluster]:
    ok, why = pgcluster.available()
    if not ok:
        if os.environ.get("BADGEGATE_REQUIRE_POSTGRES"):
            pytest.fail(f"BADGEGATE_REQUIRE_POSTGRES is set but {why}")
        pytest.skip(why)
    with pgcluster.PgCluster() as cluster:
        yield cluster


def _migrated(url: str) -> str:
    app = create_app(base_config(url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database per backend for the whole run."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "badgegate.db"
        return _migrated(f"sqlite:///{path}")
    cluster: pgcluster.PgCluster = request.getfixturevalue("pg_cluster")
    return _migrated(cluster.url())


def _empty_all_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        quoted = ", ".join(f'"{t}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f'DELETE FROM "{table}"'))
    db.session.commit()


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app(base_config(database_url))
    with app.app_context():
        _empty_all_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def backend(app: Flask) -> str:
    with app.app_context():
        return db.engine.dialect.name


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


# ---------------------------------------------------------------------------
# factories


@dataclass
class Member:
    """A user with a role in an event (ids only: safe outside the app context)."""

    user_id: int
    email: str
    event_id: uuid.UUID
    role: str
    badge_id: str
    participant_id: uuid.UUID | None = None
    #: the badge as the server issues it: signed
    signed_qr: str = ""

    @property
    def qr(self) -> str:
        """The badge's QR payload, as the server hands it out (signed)."""
        return self.signed_qr or self.unsigned_qr

    @property
    def unsigned_qr(self) -> str:
        """The seed's two-field form (what the seed's mobile client re-sends)."""
        return f'{{"user_id": {self.user_id}, "badge_id": "{self.badge_id}"}}'


@dataclass
class World:
    """An event with rooms, sessions and one member per role."""

    event_id: uuid.UUID
    rooms: list[uuid.UUID]
    free_session: uuid.UUID
    paid_session: uuid.UUID
    members: dict[str, Member] = field(default_factory=dict)


class Factory:
    """Creates rows directly (committed), returning plain ids."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def user(self, email: str | None = None, *, active: bool = True, **fields: Any) -> User:
        from server.auth.api import hash_password

        n = self._next()
        email = email or f"user{n}-{uuid.uuid4().hex[:6]}@example.com"
        with self.app.app_context():
            user = User(
                username=email.split("@")[0],
                email=email,
                first_name=fields.get("first_name", f"First{n}"),
                last_name=fields.get("last_name", f"Last{n}"),
                password_hash=hash_password(fields.get("password", TEST_PASSWORD)),
                is_active=active,
            )
            db.session.add(user)
            db.session.flush()
            ensure_profile(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    def event(self, name: str | None = None, *, days: int = 0) -> uuid.UUID:
        now = utcnow()
        with self.app.app_context():
            event = Event(
                id=uuid.uuid4(),
                name=name or f"Event {self._next()}",
                location="Alger",
                start_date=now + timedelta(days=days) - timedelta(hours=6),
                end_date=now + timedelta(days=days + 1),
            )
            db.session.add(event)
            db.session.commit()
            return event.id

    def room(self, event_id: uuid.UUID, name: str | None = None) -> uuid.UUID:
        with self.app.app_context():
            room = Room(id=uuid.uuid4(), event_id=event_id, name=name or f"Room {self._next()}")
            db.session.add(room)
            db.session.commit()
            return room.id

    def session(
        self,
        event_id: uuid.UUID,
        room_id: uuid.UUID,
        *,
        paid: bool = False,
        price: str = "5000.00",
        start: datetime | None = None,
        status: str = "pas_encore",
        title: str | None = None,
    ) -> uuid.UUID:
        start = start or utcnow()
        with self.app.app_context():
            session = EventSession(
                id=uuid.uuid4(),
                event_id=event_id,
                room_id=room_id,
                title=title or f"Session {self._next()}",
                start_time=start,
                end_time=start + timedelta(hours=1),
                status=status,
                session_type="atelier" if paid else "conference",
                is_paid=paid,
                price=Decimal(price if paid else "0"),
            )
            db.session.add(session)
            db.session.commit()
            return session.id

    def member(
        self,
        event_id: uuid.UUID,
        role: str,
        *,
        user: User | None = None,
        participant: bool | None = None,
        allowed_rooms: list[uuid.UUID] | None = None,
        active: bool = True,
    ) -> Member:
        user = user or self.user()
        with_participant = (
            participant
            if participant is not None
            else role in (Role.PARTICIPANT.value, Role.EXPOSANT.value)
        )
        with self.app.app_context():
            db.session.add(
                UserEventAssignment(user_id=user.id, event_id=event_id, role=role, is_active=active)
            )
            participant_id = None
            if with_participant:
                p = Participant(
                    id=uuid.uuid4(),
                    user_id=user.id,
                    event_id=event_id,
                    badge_number=f"B-{self._next():05d}",
                )
                if allowed_rooms:
                    p.allowed_rooms = [db.session.get(Room, r) for r in allowed_rooms]  # type: ignore[misc]
                db.session.add(p)
                participant_id = p.id
            profile = ensure_profile(db.session.get(User, user.id))  # type: ignore[arg-type]
            db.session.commit()
            signed = signing.signer().sign(profile.badge).payload()
            return Member(
                user.id, user.email, event_id, role, profile.badge_id, participant_id, signed
            )

    def session_access(
        self,
        participant_id: uuid.UUID,
        session_id: uuid.UUID,
        *,
        status: str = "paid",
        has_access: bool | None = None,
    ) -> uuid.UUID:
        with self.app.app_context():
            access = SessionAccess(
                id=uuid.uuid4(),
                participant_id=participant_id,
                session_id=session_id,
                payment_status=status,
                has_access=status == "paid" if has_access is None else has_access,
            )
            db.session.add(access)
            db.session.commit()
            return access.id

    def world(self, name: str | None = None) -> World:
        event_id = self.event(name)
        rooms = [self.room(event_id, f"Room {i}") for i in range(3)]
        world = World(
            event_id=event_id,
            rooms=rooms,
            free_session=self.session(event_id, rooms[0], title="Keynote"),
            paid_session=self.session(event_id, rooms[1], paid=True, title="Atelier payant"),
        )
        for role in (
            Role.GESTIONNAIRE.value,
            Role.CONTROLLEUR.value,
            Role.PARTICIPANT.value,
            Role.EXPOSANT.value,
        ):
            world.members[role] = self.member(event_id, role)
        return world


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory(app)


class AuthActions:
    """Tokens for a member, straight from the token service, or via the API."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client

    def tokens(self, user_id: int, event_id: uuid.UUID | None, role: str | None) -> dict[str, str]:
        with self.app.app_context():
            return tokens.issue_pair(user_id, event_id, role)

    def headers(self, member: Member) -> dict[str, str]:
        pair = self.tokens(member.user_id, member.event_id, member.role)
        return {"Authorization": f"Bearer {pair['access']}"}

    def login(self, email: str, password: str = TEST_PASSWORD, **extra: Any) -> Any:
        return self.client.post(
            "/api/auth/login/", json={"email": email, "password": password, **extra}
        )


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> AuthActions:
    return AuthActions(app, client)


def signed_badge_fields(text: str) -> dict[str, Any]:
    """The two seed fields of a badge the server issued, once its signature is
    checked with the server's keys (those of the test instance folder)."""
    badge = parse_badge(text)
    assert isinstance(badge, Badge) and badge.signed, text
    instance = Flask(__name__, instance_path=os.environ["BADGEGATE_INSTANCE_PATH"])
    assert signing.load_signer(instance).keyring.check(badge) is SignatureCheck.VALID
    return {"user_id": badge.user_id, "badge_id": badge.badge_id}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
