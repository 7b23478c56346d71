"""Request body fields with the app's rules, for schemas parsed by ``server.schema``.

JSON types are taken as they are (``"5"`` is not an integer, ``1`` is not
true), strings refuse lone surrogates and control characters as
``server.validation.get_str`` does, integers stay within what a column holds,
instants need a time zone. Each failure is one message, named by its field in
the app's 400.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

import marshmallow as ma
from marshmallow import fields

from server.validation import MAX_INT
from shared.text import text_problem
from shared.timefmt import parse_iso


class Str(fields.String):
    """A string: ``controls="line"`` refuses control characters (a title),
    ``"text"`` allows tab and line breaks (a question); never blank unless
    ``allow_blank``; at most ``max_len`` characters."""

    def __init__(
        self,
        *,
        max_len: int,
        controls: Literal["line", "text"] = "line",
        allow_blank: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("metadata", {}).update({"maxLength": max_len})
        if not allow_blank:
            kwargs["metadata"].setdefault("minLength", 1)
        super().__init__(**kwargs)
        self.max_len = max_len
        self.controls = controls
        self.allow_blank = allow_blank

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ma.ValidationError("must be a string")
        if "\x00" in value:
            raise ma.ValidationError("must not contain NUL characters")
        problem = text_problem(value, controls=self.controls)
        if problem is not None:
            raise ma.ValidationError(problem)
        if not self.allow_blank and not value.strip():
            raise ma.ValidationError("must not be blank")
        if len(value) > self.max_len:
            raise ma.ValidationError(f"must be at most {self.max_len} characters")
        return value


class Int(fields.Integer):
    """A JSON integer (not a string, a fraction or a boolean) within bounds."""

    def __init__(self, *, minimum: int = 1, maximum: int = MAX_INT, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).update({"minimum": minimum, "maximum": maximum})
        super().__init__(strict=True, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if type(value) is not int:
            raise ma.ValidationError("must be an integer")
        if not self.minimum <= value <= self.maximum:
            raise ma.ValidationError(f"must be between {self.minimum} and {self.maximum}")
        return value


class Bool(fields.Boolean):
    """A JSON ``true`` or ``false``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ma.ValidationError("must be true or false")
        return value


class UUIDStr(fields.UUID):
    """A UUID given as a string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> uuid.UUID:
        if not isinstance(value, str):
            raise ma.ValidationError("must be a UUID string")
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ma.ValidationError("must be a valid UUID") from None


class Choice(fields.String):
    """One of ``choices``."""

    def __init__(self, choices: Iterable[str], **kwargs: Any) -> None:
        self.choices = list(choices)
        kwargs.setdefault("metadata", {})["enum"] = self.choices
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ma.ValidationError("must be one of: " + ", ".join(self.choices))
        return value


class InstantIn(fields.DateTime):
    """An ISO 8601 instant with its time zone (``2025-12-01T09:00:00Z``), as UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = parse_iso(value) if isinstance(value, str) else None
        if parsed is None:
            raise ma.ValidationError("must be an ISO 8601 date and time with a time zone")
        return parsed
