"""The schema layer: request and response schemas (marshmallow, parsed by webargs
through flask-smorest), the OpenAPI document and its Swagger UI, served offline.

One error body everywhere: bad input is a 400 ``{"error", "code", "fields"}``
as ``server.errors`` writes it, with the seed's messages ("This field is
required."), never webargs' 422.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Flask, has_request_context, request, send_from_directory
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import fields, pre_load
from webargs.flaskparser import FlaskParser

from server.errors import REQUIRED as REQUIRED
from server.errors import APIError
from shared.text import is_ascii_digits, text_problem
from shared.timefmt import iso, parse_iso

F = TypeVar("F", bound=Callable[..., Any])

#: the largest value of a 32-bit signed column (PostgreSQL's INTEGER)
MAX_INT = 2**31 - 1


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 saying why there is none (415 for a
    body of another type)."""
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


def money(value: Decimal | None) -> str:
    """A price as the seed writes it: a decimal string with two places, ``"1500.00"``."""
    return f"{(value or Decimal('0')):.2f}"


#: the security schemes of the document: a user's JWT, a kiosk's device token
BEARER = "bearerAuth"
KIOSK = "kioskToken"

#: marshmallow's own wording, said the seed's way
_MESSAGES = {
    "Missing data for required field.": REQUIRED,
    "Field may not be null.": REQUIRED,
    "Not a valid string.": "must be a string",
    "Not a valid integer.": "must be an integer",
    "Not a valid boolean.": "must be true or false",
    "Not a valid UUID.": "must be a valid UUID",
    "Invalid input type.": "must be a JSON object",
}


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """``{"json": {"a": ["..."]}}`` to ``{"a": "..."}``: one message per field."""
    out: dict[str, str] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, Mapping):
                out.update(_flatten(value, name))
            elif isinstance(value, list) and value and isinstance(value[0], str):
                out[name] = _MESSAGES.get(value[0], value[0])
            elif isinstance(value, list):
                out[name] = "is not valid"
            else:
                out[name] = _MESSAGES.get(str(value), str(value))
    return out


_LOCATIONS = {"json", "query", "querystring", "headers", "form", "files", "view_args"}


def schema_error(messages: Any) -> APIError:
    """The 400 of a failed schema load, naming its fields as ``validation_error`` does."""
    if isinstance(messages, Mapping) and set(messages) <= _LOCATIONS:
        merged: dict[str, Any] = {}
        for value in messages.values():
            if isinstance(value, Mapping):
                merged.update(value)
        messages = merged
    flat = _flatten(messages) or {"body": "is not valid"}
    if "_schema" in flat:
        flat["body"] = flat.pop("_schema")
    field, problem = next(iter(flat.items()))
    return APIError(400, f"{field}: {problem}", fields=flat)


def load(schema: ma.Schema, data: Any) -> dict[str, Any]:
    """``data`` through ``schema``, or the app's 400: for a body whose schema
    depends on what it holds (a kiosk's code, or a login)."""
    try:
        return schema.load(data)  # type: ignore[no-any-return]
    except ma.ValidationError as exc:
        raise schema_error(exc.messages) from None


class Parser(FlaskParser):
    """webargs' parser, with the app's JSON rules (415 for another type, 400 for
    invalid JSON) and the app's 400."""

    DEFAULT_VALIDATION_STATUS = 400

    def load_json(self, req: Any, schema: ma.Schema) -> Any:
        return json_body()

    def handle_error(
        self,
        error: ma.ValidationError,
        req: Any,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Mapping[str, str] | None,
    ) -> NoReturn:
        raise schema_error(error.messages)


class Blueprint(SmorestBlueprint):
    """A blueprint whose views document themselves; its parser answers the app's 400."""

    ARGUMENTS_PARSER = Parser()


class Schema(ma.Schema):
    """The base of every schema: unknown fields are ignored, as before the schema layer."""

    class Meta:
        unknown = ma.EXCLUDE


class QuerySchema(Schema):
    """Query parameters: an empty one (``?page=``) is one not given."""

    @pre_load
    def _drop_empty(self, data: Any, **_: Any) -> Any:
        if isinstance(data, Mapping):
            return {key: data[key] for key in data if data[key] != ""}
        return data


class QueryInt(fields.Integer):
    """A query integer: ASCII digits only (no ``+1``, no ``１``, no ``1e3``)."""

    def __init__(self, *, minimum: int = 1, maximum: int = MAX_INT, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).update({"minimum": minimum, "maximum": maximum})
        super().__init__(strict=False, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not is_ascii_digits(value) or len(value) > 19:
            if isinstance(value, str) and value.startswith("-") and is_ascii_digits(value[1:]):
                raise ma.ValidationError(f"must be at least {self.minimum}")
            raise ma.ValidationError("must be an integer")
        number = int(value)
        if not self.minimum <= number <= self.maximum:
            raise ma.ValidationError(f"must be at least {self.minimum} and at most {self.maximum}")
        return number


def query_int(name: str, default: int, *, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """One integer query parameter read through :class:`QueryInt`, for code that
    reads it outside a view's schema; ``default`` when absent or empty."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return QueryInt(minimum=minimum, maximum=maximum).deserialize(raw)  # type: ignore[no-any-return]
    except ma.ValidationError as exc:
        raise schema_error({name: exc.messages}) from None


class QueryBool(fields.Boolean):
    """``true``/``1``/``yes`` and ``false``/``0``/``no``, whatever their case."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        lowered = value.strip().lower() if isinstance(value, str) else None
        if lowered in {"true", "1", "yes"}:
            return True
        if lowered in {"false", "0", "no"}:
            return False
        raise ma.ValidationError("must be true or false")


class QueryUUID(fields.UUID):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> uuid.UUID:
        if not isinstance(value, str):
            raise ma.ValidationError("must be a UUID string")
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ma.ValidationError("must be a valid UUID") from None


class QueryDay(fields.Date):
    """A UTC day, YYYY-MM-DD: read as (its start, the next day's start)."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[datetime, datetime]:
        try:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return day, day + timedelta(days=1)
        except (TypeError, ValueError, OverflowError):
            raise ma.ValidationError("must be a date, YYYY-MM-DD") from None


class QueryChoice(fields.String):
    def __init__(self, choices: Iterable[str], **kwargs: Any) -> None:
        self.choices = sorted(choices)
        kwargs.setdefault("metadata", {})["enum"] = self.choices
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if value not in self.choices:
            raise ma.ValidationError("must be one of: " + ", ".join(self.choices))
        return str(value)


class _Optional:
    """A JSON field and what it makes of ``null`` and ``""``.

    ``null``: with ``allow_none``, None; else, by default (``none_is_missing``), not
    given: a 400 "This field is required." when required, else its default; with
    ``none_is_missing=False``, a 400 (``null_given``, "This field is required."
    unless the field says otherwise). ``""`` with ``blank_is_none``: not given."""

    blank_is_none = False
    none_is_missing = True

    def __init__(
        self,
        *args: Any,
        none_is_missing: bool | None = None,
        blank_is_none: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if none_is_missing is not None:
            self.none_is_missing = none_is_missing
        if blank_is_none is not None:
            self.blank_is_none = blank_is_none

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kw: Any) -> Any:
        if value is None and not self.allow_none:  # type: ignore[attr-defined]
            if not self.none_is_missing:
                messages = self.error_messages  # type: ignore[attr-defined]
                raise ma.ValidationError(messages.get("null_given", REQUIRED))
            value = ma.missing
        elif self.blank_is_none and value == "":
            value = ma.missing
        return super().deserialize(value, attr, data, **kw)  # type: ignore[misc]


def check_text(
    value: Any,
    *,
    max_len: int,
    allow_blank: bool,
    controls: Literal["allow", "line", "text"],
) -> str:
    """``value`` as a string a database and a screen can take, or a ValidationError:
    ``controls`` ``"line"`` refuses control characters (names), ``"text"`` allows
    only tab and line breaks (notes); lone surrogates and NUL never pass."""
    if not isinstance(value, str):
        raise ma.ValidationError("must be a string")
    if "\x00" in value:
        raise ma.ValidationError("must not contain NUL characters")
    problem = text_problem(value, controls=controls)
    if problem is not None:
        raise ma.ValidationError(problem)
    if not allow_blank and not value.strip():
        raise ma.ValidationError("must not be blank")
    if len(value) > max_len:
        raise ma.ValidationError(f"must be at most {max_len} characters")
    return value


class Text(_Optional, fields.String):
    """A JSON string, checked by :func:`check_text`."""

    def __init__(
        self,
        *,
        max_len: int = 255,
        allow_blank: bool = False,
        controls: Literal["allow", "line", "text"] = "allow",
        **kwargs: Any,
    ) -> None:
        meta = kwargs.setdefault("metadata", {})
        meta.setdefault("maxLength", max_len)
        if not allow_blank:
            meta.setdefault("minLength", 1)
        super().__init__(**kwargs)
        self.max_len = max_len
        self.allow_blank = allow_blank
        self.controls = controls

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return check_text(
            value, max_len=self.max_len, allow_blank=self.allow_blank, controls=self.controls
        )


class Email(Text):
    """An email address, stripped and lower-cased; with ``allow_blank``, blank is
    ``""`` (clears it)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("format", "email")
        super().__init__(max_len=254, controls="line", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        value = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if not value:  # blank, where allowed
            return ""
        local, _, domain = value.partition("@")
        if not local or "." not in domain or " " in value or domain.startswith("."):
            raise ma.ValidationError("must be a valid email address")
        return value


_PHONE = re.compile(r"\A\+?[0-9 ().\-/]{0,39}\Z")


class Phone(Text):
    """A telephone number: digits, spaces, ``+ ( ) . - /``; blank clears it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_len=40, allow_blank=True, controls="line", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text and (not _PHONE.match(text) or not any(c.isdigit() for c in text)):
            raise ma.ValidationError("must be a telephone number (digits, spaces, + ( ) . - /)")
        return text


class Choice(Text):
    """One of ``choices`` (a JSON string), named in the error in their order."""

    def __init__(self, choices: Iterable[str], **kwargs: Any) -> None:
        self.choices = list(choices)
        kwargs.setdefault("metadata", {})["enum"] = self.choices
        super().__init__(max_len=max(len(c) for c in self.choices), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ma.ValidationError("must be one of: " + ", ".join(self.choices))
        return value


class JsonUUID(_Optional, fields.UUID):
    """A UUID string; ``""`` is not given (unless ``blank_is_none=False``: not valid)."""

    blank_is_none = True

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> uuid.UUID:
        if not isinstance(value, str):
            raise ma.ValidationError("must be a UUID string")
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ma.ValidationError("must be a valid UUID") from None


class JsonInt(_Optional, fields.Integer):
    """A JSON number without a fraction (not a boolean), within what a 32-bit
    column holds unless told otherwise; with ``digits``, also its ASCII digits
    as a string (a multipart form's value)."""

    def __init__(
        self,
        *,
        minimum: int = -MAX_INT - 1,
        maximum: int = MAX_INT,
        digits: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("metadata", {}).update({"minimum": minimum, "maximum": maximum})
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum
        self.digits = digits

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if self.digits and isinstance(value, str) and is_ascii_digits(value) and len(value) <= 19:
            value = int(value)
        if type(value) is not int:
            raise ma.ValidationError("must be an integer")
        if not self.minimum <= value <= self.maximum:
            raise ma.ValidationError(f"must be between {self.minimum} and {self.maximum}")
        return value


class JsonBool(_Optional, fields.Boolean):
    """``true`` or ``false``, nothing else (not ``1``, not ``"yes"``; ``null``
    neither, unless ``none_is_missing``); with ``forms``, also ``"true"``/``"1"``
    and ``"false"``/``"0"`` (a multipart form's value)."""

    default_error_messages = {"null_given": "must be true or false"}  # noqa: RUF012
    none_is_missing = False

    def __init__(self, *, forms: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.forms = forms

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if self.forms and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in {"true", "1"}:
                return True
            if lowered in {"false", "0"}:
                return False
        raise ma.ValidationError("must be true or false")


class JsonInstant(_Optional, fields.DateTime):
    """An instant in: ISO 8601 with its zone (``2025-12-01T09:00:00Z``), as UTC,
    within the years ``min_year`` to ``max_year`` when given; answered as
    :func:`shared.timefmt.iso` writes it."""

    def __init__(
        self, *, min_year: int | None = None, max_year: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.min_year = min_year
        self.max_year = max_year

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = parse_iso(value) if isinstance(value, str) else None
        if parsed is None:
            raise ma.ValidationError(
                "must be an ISO 8601 date and time with its zone, e.g. 2025-12-01T09:00:00Z"
            )
        low, high = self.min_year, self.max_year
        if (low is not None and parsed.year < low) or (high is not None and parsed.year > high):
            raise ma.ValidationError(f"must be between the years {low or 1} and {high or 9999}")
        return parsed

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return iso(value)


class StrictSchema(Schema):
    """A body whose unknown fields are refused (a 400 naming the first), and whose
    ``put_requires`` are required on PUT (PATCH: any of the fields)."""

    put_requires: tuple[str, ...] = ()

    @pre_load
    def _known(self, data: Any, **_: Any) -> Any:
        if isinstance(data, Mapping):
            if not all(isinstance(key, str) and key for key in data):
                # a form part with an empty name: werkzeug gives it no string name
                raise ma.ValidationError({"body": "every field needs a name"})
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise ma.ValidationError({unknown[0]: "is not a field here"})
            if has_request_context() and request.method == "PUT":
                for name in self.put_requires:
                    if data.get(name) is None:
                        raise ma.ValidationError({name: REQUIRED})
        return data


class QrData(_Optional, fields.Raw):
    """A badge's ``qr_code_data``: its JSON text, or the decoded object itself
    (read as its JSON text); ``null`` is not given."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault(
            "oneOf", [{"type": "string"}, {"type": "object"}]
        )
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, dict):  # a client that sent the decoded JSON object itself
            return json.dumps(value)
        if not isinstance(value, str):
            raise ma.ValidationError("must be the badge's QR text (or its JSON object)")
        return value


class Instant(fields.DateTime):
    """An instant, ISO 8601 in UTC with a ``Z`` (``shared.timefmt.iso``)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return iso(value)


class Money(fields.String):
    """A price as a decimal string with two places: ``"1500.00"``."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str:
        return money(value)


#: an amount as text: ASCII digits, a point, an optional sign (the range is checked after)
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]*)?")


class Amount(Text):
    """An amount of money in (a payment, a price): ``"5000.00"`` or a JSON number,
    at least 0, two decimal places at most, within a NUMERIC(10, 2); answered by
    :class:`Money`."""

    MAX = Decimal("99999999.99")
    PROBLEM = 'must be a decimal amount like "5000.00"'

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).update(
            {"example": "5000.00", "oneOf": [{"type": "string"}, {"type": "number"}]}
        )
        super().__init__(max_len=20, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ma.ValidationError(self.PROBLEM)
        text = value.strip() if isinstance(value, str) else repr(value)
        if len(text) > 20:
            raise ma.ValidationError(f"must be at most {self.MAX}")
        if isinstance(value, str) and not _DECIMAL.fullmatch(text):
            # Decimal() itself takes "1_000", "NaN" and digits of every script
            raise ma.ValidationError(self.PROBLEM)
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ma.ValidationError(self.PROBLEM) from None
        if not amount.is_finite():
            raise ma.ValidationError(self.PROBLEM)
        if not 0 <= amount <= self.MAX:
            raise ma.ValidationError(f"must be between 0 and {self.MAX}")
        if amount != amount.quantize(Decimal("0.01")):
            raise ma.ValidationError("must have at most 2 decimal places")
        return amount.quantize(Decimal("0.01"))


class Flat(fields.Nested):
    """A nested object read from its parent's own object: one flat row answered
    in two levels (a scan and its ``visitor``)."""

    def get_value(
        self, obj: Any, attr: str, accessor: Any = None, default: Any = ma.missing
    ) -> Any:
        return obj


class PageArgs(QuerySchema):
    """``page`` and ``page_size``, the seed's pagination (its maximum is the app's
    ``MAX_PAGE_SIZE``, checked by ``server.pagination``)."""

    page = QueryInt(maximum=2**48, metadata={"description": "1-based page number"})
    page_size = QueryInt(metadata={"description": "items per page, at most MAX_PAGE_SIZE"})


_pages: dict[type[ma.Schema], type[ma.Schema]] = {}


def page_of(item: type[ma.Schema]) -> type[ma.Schema]:
    """The seed's paginated list of ``item``: ``{count, next, previous, results}``."""
    if item not in _pages:
        name = item.__name__.removesuffix("Schema") + "PageSchema"
        _pages[item] = type(
            name,
            (Schema,),
            {
                "count": fields.Integer(required=True),
                "next": fields.String(required=True, allow_none=True),
                "previous": fields.String(required=True, allow_none=True),
                "results": fields.List(fields.Nested(item), required=True),
            },
        )
    return _pages[item]


class ErrorSchema(Schema):
    """Every error's body."""

    error = fields.String(required=True)
    code = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.String())


_ERROR_TEXT = {
    400: "Invalid input: `fields` names each field and its problem",
    401: "Not authenticated: no token, or an expired or revoked one",
    402: "Payment required",
    403: "Permission denied",
    404: "Not found",
    405: "Method not allowed (the Allow header lists the allowed ones)",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type: send JSON",
    416: "Range not satisfiable: the part asked for is past the end",
    429: "Too many attempts",
    503: "Unavailable",
}


def _content(schema: Any) -> dict[str, Any]:
    """A schema as JSON content; a dict with ``content`` is taken as it is."""
    if schema is None:
        return {}
    if isinstance(schema, Mapping) and "content" in schema:
        return dict(schema)
    return {"content": {"application/json": {"schema": schema}}}


def documented(
    blp: SmorestBlueprint,
    *,
    auth: str | None = BEARER,
    errors: Iterable[int] = (),
    body: Any = None,
    answers: Mapping[int, Any] | None = None,
    query: type[ma.Schema] | None = None,
    **doc: Any,
) -> Callable[[F], F]:
    """A view's security scheme and its error answers, in the document.

    ``body`` and ``answers`` document a request body and answers that the view
    parses and writes by hand (the hot paths), and ``query`` its query
    parameters: the schemas describe, they do not run."""
    codes = set(errors)
    if auth is not None:
        codes |= {401}
    if body is not None:
        codes |= {400, 415}

    def decorate(view: F) -> F:
        # flask-smorest's decorators wrap the view in a call each; here they
        # only write the doc, on a stand-in, and the view itself gets it: a
        # hot path pays nothing for being documented
        def probe() -> None:
            """Carries the view's doc while flask-smorest's decorators write it."""

        probe._apidoc = deepcopy(getattr(view, "_apidoc", {}))  # type: ignore[attr-defined]
        for code in sorted(codes):
            probe = blp.alt_response(code, schema=ErrorSchema, description=_ERROR_TEXT[code])(probe)
        extra = dict(doc)
        extra["security"] = [{auth: []}] if auth is not None else []
        if query is not None:
            extra["parameters"] = [{"in": "query", "schema": query}]
        if body is not None:
            extra["requestBody"] = {"required": True, **_content(body)}
        if answers:
            responses = {}
            for code, schema in answers.items():
                if code in codes and schema is not None:  # an answer, or the error body
                    content = {"anyOf": [schema, ErrorSchema]}
                    described = {"content": {"application/json": {"schema": content}}}
                    text = _ERROR_TEXT[code]
                else:
                    described, text = _content(schema), _ANSWER_TEXT.get(code, "OK")
                responses[str(code)] = {"description": text, **described}
            extra["responses"] = responses
        view._apidoc = blp.doc(**extra)(probe)._apidoc  # type: ignore[attr-defined]
        return view

    return decorate


_ANSWER_TEXT = {
    200: "OK",
    201: "Created",
    204: "No content",
    206: "Partial content: the part a Range header asked for",
    304: "Not modified: the copy the client holds (If-None-Match, If-Modified-Since)",
}


class _Api(Api):
    """flask-smorest's Api with the app's error body in the document; no catch-all
    ``default`` response (each operation lists its own)."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        """The app's handlers (``server.errors``) answer every error."""


_SWAGGER_ASSETS = "/api/docs/assets/"


def _swagger_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def init_app(app: Flask) -> Api:
    """The OpenAPI document at /api/openapi.json, Swagger UI at /api/docs/ with
    its scripts and styles from the swagger-ui-bundle package (no outside host)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        api_version = version("badgegate")
    except PackageNotFoundError:
        api_version = "0+unknown"
    app.config.setdefault("API_TITLE", "BadgeGate")
    app.config.setdefault("API_VERSION", api_version)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs/")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", _SWAGGER_ASSETS)
    # the spec's own error answers are ours (ErrorSchema), listed per operation
    app.config.setdefault("API_SPEC_OPTIONS", {})
    api = _Api(
        app,
        spec_kwargs={
            "info": {"description": "The BadgeGate sync server's REST API (the seed's)."},
        },
    )
    api.spec.components.security_scheme(
        BEARER,
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A user's access token from POST /api/auth/login/",
        },
    )
    api.spec.components.security_scheme(
        KIOSK,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "A kiosk's device token, from POST /api/kiosks/provision/",
        },
    )

    assets = FlaskBlueprint("swagger_assets", __name__)

    @assets.get(_SWAGGER_ASSETS + "<path:name>")
    def swagger_asset(name: str) -> ResponseReturnValue:
        return send_from_directory(_swagger_dir(), name, max_age=86400)

    app.register_blueprint(assets)
    return api


def register(app: Flask, api: Api, blueprints: Iterable[FlaskBlueprint]) -> None:
    """Register each blueprint: documented ones through the Api, others as they are."""
    for bp in blueprints:
        if isinstance(bp, SmorestBlueprint):
            api.register_blueprint(bp)
        else:
            app.register_blueprint(bp)
