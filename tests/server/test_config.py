"""Configuration from the environment: database URL, signing key, .env file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from server import create_app
from server.config import instance_secret, normalize_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u@h:5433/db", "postgresql+psycopg://u@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_uses_psycopg3(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


def test_default_database_is_sqlite_in_instance_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    monkeypatch.setenv("BADGEGATE_INSTANCE_PATH", str(tmp_path / "inst"))
    app = create_app()
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'badgegate.db'}"
    )
    with app.app_context():
        from server.extensions import db

        mode = db.session.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
        fks = db.session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar()
        db.engine.dispose()
    assert (mode, fks) == ("wal", 1)


def test_signing_key_is_generated_once_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    monkeypatch.setenv("BADGEGATE_INSTANCE_PATH", str(tmp_path))
    first = create_app().config["JWT_SECRET_KEY"]
    second = create_app().config["JWT_SECRET_KEY"]
    assert first == second and len(first) >= 64
    key_file = tmp_path / "jwt-secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    other = tmp_path / "other"
    assert instance_secret(str(other)) != first  # a new instance gets its own key


def test_short_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "jwt-secret.key").write_text("short")
    with pytest.raises(RuntimeError, match="too short"):
        instance_secret(str(tmp_path))


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JWT_ACCESS_MINUTES", raising=False)
    monkeypatch.setenv("BADGEGATE_INSTANCE_PATH", str(tmp_path / "inst"))
    (tmp_path / ".env").write_text("JWT_ACCESS_MINUTES=7\n")
    try:
        assert create_app().config["JWT_ACCESS_MINUTES"] == 7
    finally:
        monkeypatch.delenv("JWT_ACCESS_MINUTES", raising=False)


def test_bad_lifetime_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BADGEGATE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("JWT_REFRESH_DAYS", "soon")
    with pytest.raises(RuntimeError, match="JWT_REFRESH_DAYS must be an integer"):
        create_app()


def test_health_reports_a_dead_database(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "x.db"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}", "JWT_SECRET_KEY": "k" * 40}
    )
    r = app.test_client().get("/api/health/")
    assert r.status_code == 503
    assert r.json["database"] == "error"
