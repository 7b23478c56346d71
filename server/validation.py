"""Reading request input, with a 400 that names the field for anything wrong."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any, Literal

from flask import request

from server.errors import APIError, validation_error
from shared.text import is_ascii_digits, text_problem

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
    # invalid JSON, nesting too deep, a lone surrogate: a 400 from the app's request class
    data = request.get_json()
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
    controls: Literal["allow", "line", "text"] = "allow",
) -> str | None:
    """A string field. ``controls``: ``"line"`` refuses control characters (names),
    ``"text"`` allows only tab and line breaks (notes); lone surrogates never pass."""
    if name not in data or data[name] is None:
        if required:
            raise validation_error(name, REQUIRED)
        return default
    value = data[name]
    if not isinstance(value, str):
        raise validation_error(name, "must be a string")
    if "\x00" in value:
        raise validation_error(name, "must not contain NUL characters")
    problem = text_problem(value, controls=controls)
    if problem is not None:
        raise validation_error(name, problem)
    if not allow_blank and not value.strip():
        raise validation_error(name, "must not be blank")
    if len(value) > max_len:
        raise validation_error(name, f"must be at most {max_len} characters")
    return value


def get_email(data: Mapping[str, Any], name: str = "email", *, required: bool = True) -> str | None:
    value = get_str(data, name, required=required, max_len=254, controls="line")
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


#: the largest value of a 32-bit signed column (PostgreSQL's INTEGER)
MAX_INT = 2**31 - 1


def query_int(name: str, default: int, *, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """A query parameter of ASCII digits, within ``minimum`` and ``maximum``."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not is_ascii_digits(raw) or len(raw) > 19:
        if raw.startswith("-") and is_ascii_digits(raw[1:]):
            raise validation_error(name, f"must be at least {minimum}")
        raise validation_error(name, "must be an integer")
    value = int(raw)
    if value < minimum or value > maximum:
        raise validation_error(name, f"must be at least {minimum} and at most {maximum}")
    return value


def get_int(
    data: Mapping[str, Any],
    name: str,
    *,
    required: bool = True,
    minimum: int = -MAX_INT - 1,
    maximum: int = MAX_INT,
) -> int | None:
    """An integer field (a JSON number without a fraction, not a boolean), within bounds:
    by default what a 32-bit column holds."""
    if name not in data or data[name] is None:
        if required:
            raise validation_error(name, REQUIRED)
        return None
    value = data[name]
    if type(value) is not int:
        raise validation_error(name, "must be an integer")
    if not minimum <= value <= maximum:
        raise validation_error(name, f"must be between {minimum} and {maximum}")
    return value
