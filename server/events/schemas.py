"""Rooms and sessions: their query filters and their answers (the seed's fields)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlsplit

import marshmallow as ma
from marshmallow import fields

from server.events.models import SESSION_STATUSES, SESSION_TYPES
from server.media import stored_url
from server.schema import (
    MAX_INT,
    Instant,
    Money,
    PageArgs,
    QueryBool,
    QueryChoice,
    QueryInt,
    QueryUUID,
    Schema,
)
from shared.text import is_ascii_digits, text_problem
from shared.timefmt import iso, parse_iso


class RoomSchema(Schema):
    id = fields.UUID(required=True)
    event = fields.UUID(attribute="event_id", required=True)
    name = fields.String(required=True)
    capacity = fields.Integer(required=True)
    description = fields.String(required=True)
    location = fields.String(required=True)
    is_active = fields.Boolean(required=True)
    created_by = fields.Integer(attribute="created_by_id", required=True, allow_none=True)
    created_at = Instant(required=True)


class SessionSchema(Schema):
    id = fields.UUID(required=True)
    event = fields.UUID(attribute="event_id", required=True)
    room = fields.UUID(attribute="room_id", required=True)
    room_name = fields.String(attribute="room.name", required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    speaker_name = fields.String(required=True)
    speaker_title = fields.String(required=True)
    speaker_bio = fields.String(required=True)
    speaker_photo_url = fields.String(required=True, allow_none=True)
    start_time = Instant(required=True)
    end_time = Instant(required=True)
    theme = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(SESSION_STATUSES)})
    session_type = fields.String(required=True, metadata={"enum": list(SESSION_TYPES)})
    is_paid = fields.Boolean(required=True)
    price = Money(required=True, metadata={"example": "1500.00"})
    youtube_live_url = fields.String(required=True, allow_none=True)
    cover_image_url = fields.String(required=True, allow_none=True)
    is_live = fields.Boolean(required=True)
    created_by = fields.Integer(attribute="created_by_id", required=True, allow_none=True)
    created_at = Instant(required=True)


class EventFilterArgs(PageArgs):
    event_id = QueryUUID(metadata={"description": "must be the event of the token"})


class RoomListArgs(EventFilterArgs):
    is_active = QueryBool()


class SessionListArgs(EventFilterArgs):
    room_id = QueryUUID()
    status = QueryChoice(SESSION_STATUSES)
    session_type = QueryChoice(SESSION_TYPES)
    is_paid = QueryBool()


# ---------------------------------------------------------------------------
# input: what organizers send to create and change events, rooms and sessions
#
# Each field refuses what the app's hand-written parsers refuse (control
# characters in a line, lone surrogates, integers outside a 32-bit column,
# instants without a zone): a 400 that names the field, before anything is
# written. Multipart forms send every value as a string: integers and flags
# are also taken as their usual strings ("12", "true").


def _string(value: Any, controls: Literal["line", "text"], max_len: int, blank: bool) -> str:
    if not isinstance(value, str):
        raise ma.ValidationError("must be a string")
    if "\x00" in value:
        raise ma.ValidationError("must not contain NUL characters")
    problem = text_problem(value, controls=controls)
    if problem is not None:
        raise ma.ValidationError(problem)
    if not blank and not value.strip():
        raise ma.ValidationError("must not be blank")
    if len(value) > max_len:
        raise ma.ValidationError(f"must be at most {max_len} characters")
    return value


class Line(fields.String):
    """One line of text: no control characters."""

    controls: Literal["line", "text"] = "line"

    def __init__(self, *, max_len: int, blank: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).update({"maxLength": max_len})
        if not blank:
            kwargs["metadata"]["minLength"] = 1
        super().__init__(**kwargs)
        self.max_len = max_len
        self.blank = blank

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return _string(value, self.controls, self.max_len, self.blank)


class Text(Line):
    """Free text: tabs and line breaks, no other control characters; may be blank."""

    controls: Literal["line", "text"] = "text"

    def __init__(self, *, max_len: int = 10_000, **kwargs: Any) -> None:
        super().__init__(max_len=max_len, blank=True, **kwargs)


class Email(Line):
    """An email address, lower-cased; blank clears it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})["format"] = "email"
        super().__init__(max_len=254, blank=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if not text:
            return ""
        local, _, domain = text.partition("@")
        if not local or "." not in domain or " " in text or domain.startswith("."):
            raise ma.ValidationError("must be a valid email address")
        return text


_PHONE = re.compile(r"\A\+?[0-9 ().\-/]{0,39}\Z")


class Phone(Line):
    """A telephone number: digits, spaces, ``+ ( ) . - /``; blank clears it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_len=40, blank=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text and (not _PHONE.match(text) or not any(c.isdigit() for c in text)):
            raise ma.ValidationError("must be a telephone number (digits, spaces, + ( ) . - /)")
        return text


class WholeNumber(fields.Integer):
    """An integer within a column's bounds: a JSON integer, or its digits in a form."""

    def __init__(self, *, minimum: int = 0, maximum: int = MAX_INT, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).update({"minimum": minimum, "maximum": maximum})
        super().__init__(strict=True, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and is_ascii_digits(value) and len(value) <= 19:
            number = int(value)
        elif type(value) is int:
            number = value
        else:
            raise ma.ValidationError("must be an integer")
        if not self.minimum <= number <= self.maximum:
            raise ma.ValidationError(f"must be between {self.minimum} and {self.maximum}")
        return number


class Flag(fields.Boolean):
    """true or false (in a form: ``true``/``false``, ``1``/``0``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "1"}:
            return True
        if isinstance(value, str) and value.strip().lower() in {"false", "0"}:
            return False
        raise ma.ValidationError("must be true or false")


#: instants an event or session may have (kept well inside every database's range)
MIN_YEAR, MAX_YEAR = 1970, 9998


class When(fields.DateTime):
    """An ISO 8601 instant with its zone (``2025-12-01T09:00:00Z``), stored in UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = parse_iso(value) if isinstance(value, str) else None
        if parsed is None:
            raise ma.ValidationError(
                "must be an ISO 8601 date and time with its zone, e.g. 2025-12-01T09:00:00Z"
            )
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            raise ma.ValidationError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
        return parsed

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return iso(value)


#: the largest price a Numeric(10, 2) column holds
MAX_PRICE = Decimal("99999999.99")


class Price(fields.String):
    """A price of at least 0 with at most two decimals: ``"5000.00"`` (a JSON number
    is taken too); answered as a string with two places."""

    def __init__(self, **kwargs: Any) -> None:
        pattern = r"^\d+(\.\d{1,2})?$"
        kwargs.setdefault("metadata", {}).update({"example": "5000.00", "pattern": pattern})
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ma.ValidationError('must be a decimal string such as "5000.00"')
        text = str(value).strip()
        if len(text) > 20:
            raise ma.ValidationError(f"must be at most {MAX_PRICE}")
        try:
            price = Decimal(text)
        except (InvalidOperation, ValueError):
            raise ma.ValidationError('must be a decimal string such as "5000.00"') from None
        if not price.is_finite():
            raise ma.ValidationError('must be a decimal string such as "5000.00"')
        if price < 0:
            raise ma.ValidationError("must be at least 0")
        if price > MAX_PRICE:
            raise ma.ValidationError(f"must be at most {MAX_PRICE}")
        if price != price.quantize(Decimal("0.01")):
            raise ma.ValidationError("must have at most 2 decimal places")
        return price.quantize(Decimal("0.01"))

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str:
        return f"{(value or Decimal('0')):.2f}"


#: where a session's live stream may be
YOUTUBE_HOSTS = frozenset(
    {
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "youtu.be",
        "youtube-nocookie.com",
        "www.youtube-nocookie.com",
    }
)


_YOUTUBE = "a YouTube URL (https://www.youtube.com/..., https://youtu.be/...)"


def _url(value: Any, hosts: frozenset[str] | None) -> str | None:
    text = _string(value, "line", 500, blank=True).strip()
    if not text:
        return None
    what = (
        "a YouTube URL (https://www.youtube.com/..., https://youtu.be/...)"
        if hosts
        else "an https or http URL"
    )
    if any(c.isspace() or c == "\\" for c in text):
        raise ma.ValidationError(f"must be {what}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ma.ValidationError(f"must be {what}") from None
    schemes = {"https"} if hosts else {"https", "http"}
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in schemes or not host or "@" in parts.netloc:
        raise ma.ValidationError(f"must be {what}")
    if hosts is not None and (host not in hosts or port not in (None, 443)):
        raise ma.ValidationError(f"must be {what}")
    return text


class YouTubeURL(fields.String):
    """A YouTube live stream's URL, https only; blank removes it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).update(
            {"example": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "maxLength": 500}
        )
        super().__init__(allow_none=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        return _url(value, YOUTUBE_HOSTS)


class WebURL(fields.String):
    """An http(s) URL (a speaker's photo, a cover image); blank removes it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {})["maxLength"] = 500
        super().__init__(allow_none=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        return _url(value, None)


class Ref(QueryUUID):
    """The id of another object, as a UUID string (the same rules as in a query)."""


class Choice(fields.String):
    def __init__(self, choices: Iterable[str], **kwargs: Any) -> None:
        self.choices = list(choices)
        kwargs.setdefault("metadata", {})["enum"] = self.choices
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ma.ValidationError("must be one of: " + ", ".join(self.choices))
        return value


class EventInputSchema(Schema):
    """An event's fields (POST: name, start_date and end_date required; PATCH: any).
    In a multipart form, the file fields come as files."""

    name = Line(max_len=200, required=True)
    description = Text()
    location = Line(max_len=500, blank=True)
    start_date = When(required=True)
    end_date = When(required=True, metadata={"description": "at or after start_date"})
    is_active = Flag()
    president = WholeNumber(minimum=1, allow_none=True, metadata={"description": "a user id"})
    organizer_name = Line(max_len=200, blank=True)
    organizer_email = Email()
    organizer_phone = Phone()


class EventFilesSchema(EventInputSchema):
    """The multipart form: the event's fields, and its files."""

    programme_file = fields.Raw(metadata={"type": "string", "format": "binary"})
    guide_file = fields.Raw(metadata={"type": "string", "format": "binary"})
    logo = fields.Raw(metadata={"type": "string", "format": "binary"})
    banner = fields.Raw(metadata={"type": "string", "format": "binary"})


class EventSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    location = fields.String(required=True)
    start_date = Instant(required=True)
    end_date = Instant(required=True)
    status = fields.String(required=True, metadata={"enum": ["upcoming", "ongoing", "finished"]})
    is_active = fields.Boolean(required=True)
    organizer_name = fields.String(required=True)
    organizer_email = fields.String(required=True)
    organizer_phone = fields.String(required=True)
    programme_file = fields.Function(
        lambda e: stored_url(e.programme_file), required=True, allow_none=True
    )
    guide_file = fields.Function(lambda e: stored_url(e.guide_file), required=True, allow_none=True)
    logo = fields.Function(lambda e: stored_url(e.logo), required=True, allow_none=True)
    banner = fields.Function(lambda e: stored_url(e.banner), required=True, allow_none=True)
    president = fields.Integer(attribute="president_id", required=True, allow_none=True)
    created_by = fields.Integer(attribute="created_by_id", required=True, allow_none=True)
    created_at = Instant(required=True)
    updated_at = Instant(required=True)


class EventListArgs(PageArgs):
    is_active = QueryBool()


class EventStatisticsSchema(Schema):
    total_participants = fields.Integer(required=True)
    total_sessions = fields.Integer(required=True)
    live_sessions = fields.Integer(required=True)
    completed_sessions = fields.Integer(required=True)
    total_rooms = fields.Integer(required=True)


class ConflictSchema(Schema):
    """A refused delete: what still refers to the object."""

    error = fields.String(required=True)
    code = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class RoomInputSchema(Schema):
    event = Ref(metadata={"description": "the event of the token (the default)"})
    name = Line(max_len=100, required=True)
    capacity = WholeNumber(minimum=0)
    description = Text()
    location = Line(max_len=200, blank=True)
    is_active = Flag()


class RoomParticipantSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "the participant record"})
    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    badge_number = fields.String(required=True)
    first_access = Instant(required=True)


class SessionInputSchema(Schema):
    event = Ref(metadata={"description": "the event of the token (the default)"})
    room = Ref(required=True)
    title = Line(max_len=200, required=True)
    description = Text()
    speaker_name = Line(max_len=200, blank=True)
    speaker_title = Line(max_len=200, blank=True)
    speaker_bio = Text()
    speaker_photo_url = WebURL()
    start_time = When(required=True)
    end_time = When(required=True, metadata={"description": "after start_time"})
    theme = Line(max_len=100, blank=True)
    status = Choice(SESSION_STATUSES)
    session_type = Choice(SESSION_TYPES)
    is_paid = Flag(metadata={"description": "an atelier only"})
    price = Price()
    youtube_live_url = YouTubeURL()
    cover_image_url = WebURL()


class LogArgs(PageArgs):
    obj_type = fields.String(metadata={"maxLength": 40, "description": "e.g. session, room"})
    obj_id = fields.String(metadata={"maxLength": 64})
    actor = QueryInt(metadata={"description": "the user id who acted"})


class LogEntrySchema(Schema):
    id = fields.Integer(required=True)
    event_id = fields.String(required=True, allow_none=True)
    actor_id = fields.Integer(required=True, allow_none=True)
    at = fields.String(required=True, metadata={"format": "date-time"})
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(required=True)
    before = fields.Dict(required=True, allow_none=True)
    after = fields.Dict(required=True, allow_none=True)
    changed = fields.List(fields.String(), required=True)


class _Partial:
    """A PATCH body: any of the fields, each checked as in full."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)  # type: ignore[call-arg]


class EventPatchSchema(_Partial, EventInputSchema):
    pass


class EventFilesPatchSchema(_Partial, EventFilesSchema):
    pass


class RoomPatchSchema(_Partial, RoomInputSchema):
    pass


class SessionPatchSchema(_Partial, SessionInputSchema):
    pass
