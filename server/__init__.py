"""BadgeGate sync server: ``create_app`` is the app factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import find_dotenv, load_dotenv
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from server.config import from_environment, instance_secret
from server.extensions import begins_read_only, db, migrate
from server.jsonio import APIRequest, CheckedJSONProvider

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy's recipe for pysqlite: its own transaction handling (a BEGIN
    # only before INSERT/UPDATE/DELETE) is off, and ``_sqlite_begin`` emits the
    # BEGIN. Otherwise a SAVEPOINT opened first is a transaction of its own,
    # which its RELEASE commits, and a request failing later keeps those rows.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # 32 MB of page cache per connection (the default is 2 MB): the scan log's
    # indexes stay in memory as the log grows past 100k rows
    cur.execute("PRAGMA cache_size=-32000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE: the write lock is taken up front, waiting busy_timeout for it.
    # A deferred BEGIN reads first and upgrades at its first write, and in WAL
    # mode that upgrade fails at once ("database is locked", no wait) when
    # another connection wrote since: concurrent writers would get 500s.
    # On the driver's connection, as psycopg sends its BEGIN: not a statement
    # of the request (statement counts are the same on both databases).
    # Inside ``reads_only()``: a transaction that only reads begins deferred.
    begin = "BEGIN" if begins_read_only() else "BEGIN IMMEDIATE"
    conn.connection.driver_connection.execute(begin)  # type: ignore[union-attr]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides what the environment says."""
    # find_dotenv() alone searches from this file's folder; the .env is the user's, in the cwd
    load_dotenv(find_dotenv(usecwd=True), override=False)
    instance_path = os.environ.get("BADGEGATE_INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.request_class = APIRequest
    app.json = CheckedJSONProvider(app)
    # "/api/auth/login" is "/api/auth/login/": no redirect (an HTML 308 a client
    # would follow without its body); "/api//x" is not rewritten either (a 404)
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(from_environment(app.instance_path))
    if config:
        app.config.from_mapping(config)
    if not app.config.get("JWT_SECRET_KEY"):
        app.config["JWT_SECRET_KEY"] = instance_secret(app.instance_path)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    uri: str = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 10}})
    else:
        # no pre-ping: it costs a round trip per request; a dropped connection is
        # detected on use and the pool invalidated, and pool_recycle retires old ones
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_recycle": 1800})

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)

    from server import (
        actionlog,  # noqa: F401  (registers its table)
        changefeed,  # noqa: F401  (records changes for the kiosks)
        health,
        media,
        models,  # noqa: F401  (register the tables)
        sealing,
        signing,
        storage,
    )
    from server.access import api as qr
    from server.access import attendance, stats
    from server.access import session_access_api as session_access
    from server.auth import api as auth
    from server.auth import limits
    from server.auth import reset as _reset  # noqa: F401  (registers its table)
    from server.auth import reset_api as password_reset
    from server.cli import register_commands
    from server.content import annonces_api as annonces
    from server.content import questions_api as questions
    from server.errors import register_error_handlers
    from server.events import api as rooms
    from server.events import dashboard_api as dashboard
    from server.events import events_api as events
    from server.events import rooms_manage_api as room_writes
    from server.events import sessions_api as sessions
    from server.events import sessions_manage_api as session_writes
    from server.exposants import api as exposant_scans
    from server.kiosks import api as kiosks
    from server.kiosks import sync
    from server.people import assignments_api as user_assignments
    from server.people import participants_api as participants
    from server.schema import init_app as init_schema
    from server.schema import register
    from server.staffing import api as room_assignments

    api = init_schema(app)  # the OpenAPI document and Swagger UI, at /api/
    modules = (auth, health, rooms, sessions, qr, kiosks, sync, stats, exposant_scans)
    modules += (events, room_writes, session_writes)  # the organizers' writes
    modules += (password_reset, session_access, participants, user_assignments)
    modules += (annonces, questions, room_assignments, dashboard, media)
    modules += (attendance,)
    register(app, api, [module.bp for module in modules])
    signing.init_app(app)
    sealing.init_app(app)
    register_error_handlers(app)
    storage.init_app(app)  # uploaded files, served at /media/
    limits.init_app(app)  # the 429 of too many failed logins; trusted proxies
    register_commands(app)
    return app
