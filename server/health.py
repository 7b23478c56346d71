"""Liveness: the API index and the health check."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.extensions import db
from shared.timefmt import iso, utcnow

bp = Blueprint("health", __name__)

try:
    VERSION = version("badgegate")
except PackageNotFoundError:  # running from a source tree
    VERSION = "0+unknown"


@bp.get("/api/")
def index() -> ResponseReturnValue:
    return jsonify({"name": "BadgeGate", "version": VERSION})


@bp.get("/api/health/")
def health() -> ResponseReturnValue:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        body = {"status": "unavailable", "database": "error", "time": iso(utcnow())}
        return jsonify(body), 503
    return jsonify({"status": "ok", "database": "ok", "time": iso(utcnow())})
