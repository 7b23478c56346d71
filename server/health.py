"""Liveness: the API index and the health check."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flask import jsonify
from flask.typing import ResponseReturnValue
from marshmallow import fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.extensions import db
from server.schema import Blueprint, Schema, documented
from shared.timefmt import iso, utcnow

bp = Blueprint("health", __name__, description="The API index and the health check")


class IndexSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "unavailable"]})
    database = fields.String(required=True, metadata={"enum": ["ok", "error"]})
    time = fields.String(required=True, metadata={"format": "date-time"})


try:
    VERSION = version("badgegate")
except PackageNotFoundError:  # running from a source tree
    VERSION = "0+unknown"


_INDEX = {"application/json": {"schema": IndexSchema}}
_HEALTH = {"application/json": {"schema": HealthSchema}}


@bp.get("/api/")
@bp.doc(responses={"200": {"description": "OK", "content": _INDEX}})
@documented(bp, auth=None)
def index() -> ResponseReturnValue:
    """The API's name and version (answered by hand: the benchmarks' trivial request)."""
    return jsonify({"name": "BadgeGate", "version": VERSION})


@bp.get("/api/health/")
@bp.doc(
    responses={
        "200": {"description": "The database answers", "content": _HEALTH},
        "503": {"description": "The database does not answer", "content": _HEALTH},
    }
)
@documented(bp, auth=None)
def health() -> ResponseReturnValue:
    """Whether the database answers (answered by hand: the 503 has the same body)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        body = {"status": "unavailable", "database": "error", "time": iso(utcnow())}
        return jsonify(body), 503
    return jsonify({"status": "ok", "database": "ok", "time": iso(utcnow())})
