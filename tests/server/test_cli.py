"""The Flask CLI: migrations match the models, seed-demo, create-user."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from server import create_app
from server.extensions import db
from server.models import (
    Event,
    EventSession,
    Participant,
    Room,
    RoomAssignment,
    SessionAccess,
    User,
    UserEventAssignment,
)
from server.people.search import not_search_table
from shared.timefmt import utcnow
from tests.conftest import AuthActions, base_config

SEED_LOGINS = [
    "organizer@makeplus.com",
    "controller@makeplus.com",
    "participant1@makeplus.com",
    "participant2@makeplus.com",
    "exposant@makeplus.com",
    "multi.event@example.com",
]


#: indexes on an expression: SQLite's reflection cannot see them (SQLAlchemy
#: warns and skips them), so they are checked by name below instead
EXPRESSION_INDEXES = {"uq_users_username_lower"}


def test_migrations_match_models(app: Flask) -> None:
    """The migrated schema is exactly what the models declare (on both databases)."""
    with app.app_context(), db.engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": not_search_table}
        )
        diff = compare_metadata(ctx, db.metadata)
        if conn.dialect.name == "sqlite":
            names = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            names = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        present = set(conn.exec_driver_sql(names).scalars())
    unseen = [d for d in diff if d[0] == "add_index" and d[1].name in EXPRESSION_INDEXES & present]
    assert [d for d in diff if d not in unseen] == []
    assert present >= EXPRESSION_INDEXES


def test_the_upgrade_stops_on_usernames_differing_only_in_case(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Accounts made before usernames were unique whatever their case: the upgrade
    names them rather than fail on the index, and changes nothing."""
    app = create_app(base_config(f"sqlite:///{tmp_path / 'old.db'}"))
    with app.app_context():
        flask_migrate.upgrade(revision="0008_blocks")
        for n, name in enumerate(("Samir", "samir", "other")):
            db.session.execute(
                User.__table__.insert().values(
                    username=name, email=f"{n}@example.com", password_hash="x"
                )
            )
        db.session.commit()
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error, then exits 1
            flask_migrate.upgrade()
        said = capfd.readouterr().err
        assert "differ only in case" in said and "'samir' (2 accounts)" in said
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
                "0008_blocks"
            )
        db.engine.dispose()


def test_migrations_leave_existing_loggers_enabled(tmp_path: Path) -> None:
    """Running the migrations in a process must not silence the loggers it
    already has (logging.config.fileConfig disables them unless told not to)."""
    before = logging.getLogger("badgegate.test.before_migrations")
    app = create_app(base_config(f"sqlite:///{tmp_path / 'fresh.db'}"))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    assert not before.disabled


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (
                User,
                Event,
                Room,
                EventSession,
                UserEventAssignment,
                Participant,
                SessionAccess,
                RoomAssignment,
            )
        }


def test_seed_demo_is_complete_and_idempotent(app: Flask, runner: FlaskCliRunner) -> None:
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data created." in first.output
    for email in SEED_LOGINS:
        assert email in first.output
    counts = _counts(app)
    assert counts["Event"] == 3
    assert counts["Room"] == 9 and counts["EventSession"] == 12
    assert counts["User"] == 16  # 5 per event + the multi-event login
    assert counts["UserEventAssignment"] == 18

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "already present" in second.output
    assert _counts(app) == counts

    now = utcnow()
    with app.app_context():
        first_event = db.session.scalars(
            select(Event).where(Event.name == "Tech Summit Algeria 2025")
        ).one()
        assert first_event.start_date <= now <= first_event.end_date
        sessions = db.session.scalars(
            select(EventSession).where(EventSession.event_id == first_event.id)
        ).all()
        assert any(s.end_time < now for s in sessions)
        assert any(s.start_time <= now <= s.end_time for s in sessions)
        assert any(s.start_time > now for s in sessions)
        for event in db.session.scalars(select(Event)):
            paid = db.session.scalars(
                select(EventSession).where(
                    EventSession.event_id == event.id, EventSession.is_paid.is_(True)
                )
            ).all()
            assert paid, event.name
            statuses = sorted(
                db.session.scalars(
                    select(SessionAccess.payment_status).where(
                        SessionAccess.session_id.in_([s.id for s in paid])
                    )
                )
            )
            assert statuses == ["paid", "pending"]
        restricted = db.session.scalars(
            select(Participant).where(Participant.event_id == first_event.id)
        ).all()
        assert any(p.allowed_rooms for p in restricted)
        posts = db.session.scalars(
            select(RoomAssignment).where(RoomAssignment.event_id == first_event.id)
        ).all()
        assert {p.role for p in posts} == {"controlleur_des_badges", "gestionnaire_des_salles"}
        assert all(p.start_time <= now <= p.end_time for p in posts)
        assert all(p.end_time - p.start_time >= timedelta(hours=23) for p in posts)


def test_seeded_logins_work(runner: FlaskCliRunner, auth: AuthActions) -> None:
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    single = auth.login("participant1@makeplus.com", "test123")
    assert single.status_code == 200
    assert single.json["current_event"]["name"] == "Tech Summit Algeria 2025"
    multi = auth.login("multi.event@example.com", "test123")
    assert multi.status_code == 200 and multi.json["requires_event_selection"] is True
    roles = sorted(e["role"] for e in multi.json["available_events"])
    assert roles == ["controlleur_des_badges", "exposant", "participant"]


def test_create_user(app: Flask, runner: FlaskCliRunner, auth: AuthActions) -> None:
    result = runner.invoke(
        args=["create-user", "--email", "New@Example.com", "--password", "longenough"]
    )
    assert result.exit_code == 0, result.output
    assert "USER-" in result.output
    assert auth.login("new@example.com", "longenough").status_code == 200
    again = runner.invoke(
        args=["create-user", "--email", "new@example.com", "--password", "longenough"]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(args=["create-user", "--email", "b@example.com", "--password", "x"])
    assert short.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
