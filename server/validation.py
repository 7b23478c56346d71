"""Reading request input, with a 400 that names the field for anything wrong."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

from flask import request

from server.errors import APIError, validation_error

REQUIRED = "This field is required."

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 saying why there is none."""
    if not request.is_json:
        raise APIError(
            415 if request.get_data(cache=True) else 400,
            "Send a JSON object with Content-Type: application/json",
            fields={"body": "expected a JSON object"},
        )
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise APIError(400, "The body must be a JSON object", fields={"body": "not a JSON object"})
    return data


def get_str(
    data: Mapping[str, Any],
    name: str,
    *,
    required: bool = True,
    max_len: int = 255,
    allow_blank: bool = False,
    default: str | None = None,
) -> str | None:
    if name not in data or data[name] is None:
        if required:
            raise validation_error(name, REQUIRED)
        return default
    value = data[name]
    if not isinstance(value, str):
        raise validation_error(name, "must be a string")
    if "\x00" in value:
        raise validation_error(name, "must not contain NUL characters")
    if not allow_blank and not value.strip():
        raise validation_error(name, "must not be blank")
    if len(value) > max_len:
        raise validation_error(name, f"must be at most {max_len} characters")
    return value


def get_email(data: Mapping[str, Any], name: str = "email", *, required: bool = True) -> str | None:
    value = get_str(data, name, required=required, max_len=254)
    if value is None:
        return None
    value = value.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value or domain.startswith("."):
        raise validation_error(name, "must be a valid email address")
    return value


def parse_uuid(value: object, name: str) -> uuid.UUID:
    if not isinstance(value, str):
        raise validation_error(name, "must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise validation_error(name, "must be a valid UUID") from None


def get_uuid(data: Mapping[str, Any], name: str, *, required: bool = True) -> uuid.UUID | None:
    if name not in data or data[name] in (None, ""):
        if required:
            raise validation_error(name, REQUIRED)
        return None
    return parse_uuid(data[name], name)


def query_uuid(name: str) -> uuid.UUID | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    return parse_uuid(raw, name)


def query_bool(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise validation_error(name, "must be true or false")


def query_choice(name: str, choices: Collection[str]) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise validation_error(name, "must be one of: " + ", ".join(sorted(choices)))
    return raw


def query_int(name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_error(name, "must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        raise validation_error(name, f"must be at least {minimum}{bound}")
    return value
