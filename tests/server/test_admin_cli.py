"""``create-user --admin`` and ``reset-everything`` (confirmation, or ``--yes``)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from server.actionlog import ActionLogEntry, record
from server.extensions import db
from server.models import ChangeLogEntry, Event, User, UserProfile
from server.storage import get_storage


def _admin_flags(app: Flask) -> dict[str, bool]:
    with app.app_context():
        rows = db.session.execute(select(User.email, User.is_admin)).all()
        return {email: is_admin for email, is_admin in rows}


def _total_rows(app: Flask) -> int:
    with app.app_context():
        return sum(
            db.session.scalar(select(func.count()).select_from(table)) or 0
            for table in db.metadata.sorted_tables
        )


def test_create_user_admin(app: Flask, runner: FlaskCliRunner) -> None:
    admin = runner.invoke(
        args=["create-user", "--email", "root@example.com", "--password", "longenough", "--admin"]
    )
    assert admin.exit_code == 0, admin.output
    assert "created platform admin" in admin.output
    plain = runner.invoke(
        args=["create-user", "--email", "plain@example.com", "--password", "longenough"]
    )
    assert plain.exit_code == 0, plain.output
    assert "created user" in plain.output
    assert _admin_flags(app) == {"root@example.com": True, "plain@example.com": False}


def _seed_with_extras(app: Flask, runner: FlaskCliRunner) -> str:
    """The demo data, an admin, an action log entry and a stored file; the file's name."""
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    made = runner.invoke(
        args=["create-user", "--email", "root@example.com", "--password", "longenough", "--admin"]
    )
    assert made.exit_code == 0, made.output
    with app.app_context():
        event_id = db.session.scalars(select(Event.id)).first()
        record(
            db.session,
            event_id=event_id,
            actor_id=None,
            action="event.update",
            obj_type="event",
            obj_id=str(event_id),
            before={"name": "a"},
            after={"name": "b"},
        )
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(ChangeLogEntry))
        return get_storage().save(io.BytesIO(b"%PDF-1.7"), "pdf")


def test_reset_everything_with_yes_keeps_admins_only(app: Flask, runner: FlaskCliRunner) -> None:
    stored = _seed_with_extras(app, runner)
    result = runner.invoke(args=["reset-everything", "--yes"])
    assert result.exit_code == 0, result.output
    assert "All data deleted" in result.output
    assert "events" in result.output and "action_log" in result.output
    with app.app_context():
        users = db.session.scalars(select(User)).all()
        assert [(u.email, u.is_admin) for u in users] == [("root@example.com", True)]
        profile = db.session.scalars(select(UserProfile)).one()  # the admin keeps a badge
        assert profile.user_id == users[0].id
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0
        assert db.session.scalar(select(func.count()).select_from(ActionLogEntry)) == 0
        assert db.session.scalar(select(func.count()).select_from(ChangeLogEntry)) == 0
        assert not get_storage().exists(stored)
    assert _total_rows(app) == 2  # the admin and their badge
    # and the demo can be loaded again
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "Demo data created." in again.output


def test_reset_everything_can_include_admins(app: Flask, runner: FlaskCliRunner) -> None:
    _seed_with_extras(app, runner)
    result = runner.invoke(args=["reset-everything", "--yes", "--include-admins"])
    assert result.exit_code == 0, result.output
    assert _total_rows(app) == 0


def test_reset_everything_refuses_without_a_terminal(app: Flask, runner: FlaskCliRunner) -> None:
    _seed_with_extras(app, runner)
    before = _total_rows(app)
    # CliRunner's stdin is not a terminal, even with input
    for given in (None, "y\n"):
        result = runner.invoke(args=["reset-everything"], input=given)
        assert result.exit_code != 0
        assert "pass --yes" in result.output
    assert _total_rows(app) == before


@pytest.mark.parametrize("answer", ["n\n", "\n", ""])
def test_reset_everything_asks_and_a_no_keeps_everything(
    app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    _seed_with_extras(app, runner)
    before = _total_rows(app)
    monkeypatch.setattr("server.cli._stdin_is_terminal", lambda: True)
    result = runner.invoke(args=["reset-everything"], input=answer)
    assert result.exit_code != 0
    assert "Delete ALL data in" in result.output and "Aborted" in result.output
    assert _total_rows(app) == before


def test_reset_everything_asks_and_a_yes_deletes(
    app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_with_extras(app, runner)
    monkeypatch.setattr("server.cli._stdin_is_terminal", lambda: True)
    result = runner.invoke(args=["reset-everything"], input="y\n")
    assert result.exit_code == 0, result.output
    assert "platform admins kept" in result.output
    assert _total_rows(app) == 2


@pytest.mark.parametrize("stdin", ["devnull", "open pipe"])
def test_reset_everything_from_a_script_refuses_rather_than_hangs(
    tmp_path: Path, repo_root: Path, stdin: str
) -> None:
    """A real process: stdin closed, or a pipe nobody writes to; it must answer at once."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'never-touched.db'}",
        "BADGEGATE_INSTANCE_PATH": str(tmp_path / "instance"),
        "JWT_SECRET_KEY": "k" * 48,
    }
    command = [sys.executable, "-c", "from server.cli import main; main()", "reset-everything"]
    process = subprocess.Popen(
        command,
        cwd=repo_root,
        env=env,
        stdin=subprocess.DEVNULL if stdin == "devnull" else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output, _ = process.communicate(timeout=60) if stdin == "devnull" else _wait(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0
    assert b"pass --yes" in output


def _wait(process: subprocess.Popen[bytes]) -> tuple[bytes, None]:
    # the pipe stays open (nothing written, not closed): a prompt would wait forever
    assert process.stdout is not None
    process.wait(timeout=60)
    return process.stdout.read(), None
