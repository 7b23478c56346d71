"""Reading request bodies: every body is checked once, whatever route reads it.

The app's JSON provider refuses a body nested too deeply (the decoder would
otherwise hit Python's recursion limit) and any string, key or value, holding
an unpaired surrogate (no database driver can encode one); the app's request
class turns those refusals, and invalid JSON, into a 400 naming the field, and
a chunked body past ``MAX_CONTENT_LENGTH`` into a 413.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge

from server.errors import APIError
from shared.text import SURROGATES, has_lone_surrogate

#: containers inside containers: a sync batch is 3 deep, a decoded QR object 2 more
MAX_DEPTH = 32
TOO_DEEP = "is nested too deeply"


class BodyError(ValueError):
    """A JSON text that parses but is refused: ``field`` names where (``scans[3].notes``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check_parsed(value: Any) -> None:
    """Raise :class:`BodyError` for nesting past :data:`MAX_DEPTH` or a lone surrogate.

    Iterative: a hostile body cannot make this check recurse.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if has_lone_surrogate(item):
                raise BodyError(path or "body", SURROGATES)
        elif isinstance(item, dict):
            if depth >= MAX_DEPTH:
                raise BodyError("body", TOO_DEEP)
            for key, child in item.items():
                if has_lone_surrogate(key):
                    raise BodyError("body", "keys " + SURROGATES)
                stack.append((child, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(item, list):
            if depth >= MAX_DEPTH:
                raise BodyError("body", TOO_DEEP)
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))


class CheckedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with every parsed document checked by :func:`check_parsed`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise BodyError("body", TOO_DEEP) from None
        check_parsed(value)
        return value


class APIRequest(Request):
    """The app's request: JSON failures and oversized streams answer as API errors."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, BodyError):
            raise APIError(400, str(e), fields={e.field: e.problem})
        if e is not None:
            raise APIError(400, "The body is not valid JSON", fields={"body": "is not valid JSON"})
        return super().on_json_loading_failed(e)

    def get_data(  # type: ignore[override]
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> bytes | str:
        data = super().get_data(cache=cache, as_text=as_text, parse_form_data=parse_form_data)
        limit = self.max_content_length
        # a chunked body (no Content-Length) is cut at the limit by werkzeug, not refused
        if limit is not None and self.content_length is None:
            raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
            size = len(raw)
            if size >= limit:
                raise RequestEntityTooLarge()
        return data
