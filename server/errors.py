"""JSON errors: every failure answers with a body that says what went wrong."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Flask, Response, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from server.extensions import db

log = logging.getLogger(__name__)

#: the seed's word for a field that must be given
REQUIRED = "This field is required."


class APIError(Exception):
    """An error answered as ``{"error": message, "code": code, "fields": {...}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _DEFAULT_CODES.get(status, "error")
        self.fields = fields

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"error": self.message, "code": self.code}
        if self.fields:
            data["fields"] = self.fields
        return data


_DEFAULT_CODES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def validation_error(field: str, problem: str) -> APIError:
    return APIError(400, f"{field}: {problem}", fields={field: problem})


def not_found(what: str) -> APIError:
    return APIError(404, f"{what} not found")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def _api_error(exc: APIError) -> tuple[Response, int]:
        db.session.rollback()
        return jsonify(exc.body()), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        db.session.rollback()
        status = exc.code or 500
        body = {"error": exc.description or exc.name, "code": _DEFAULT_CODES.get(status, "error")}
        response = jsonify(body)
        response.status_code = status
        # werkzeug's own headers (a 405's Allow, a 401's WWW-Authenticate), not its body's type
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(sqlite3.OperationalError)
    def _database_busy(exc: Exception) -> Response:
        """SQLite's write lock not free within the busy timeout (raised by the
        driver itself when the transaction's BEGIN waits for it): the request
        wrote nothing (rolled back); the client may simply try again."""
        db.session.rollback()
        if "database is locked" not in str(getattr(exc, "orig", exc)):
            return _unexpected(exc)  # type: ignore[return-value]
        log.warning("database busy: %s", exc)
        response = jsonify({"error": "The server is busy; try again", "code": "busy"})
        response.status_code = 503
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        db.session.rollback()
        log.exception("unhandled error")
        return jsonify({"error": "Internal server error", "code": "server_error"}), 500
