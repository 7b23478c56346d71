"""Rooms and sessions: their query filters and their answers (the seed's fields)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
from marshmallow import fields

from server.events.models import SESSION_STATUSES, SESSION_TYPES
from server.media import stored_url
from server.schema import (
    MAX_INT,
    REQUIRED,
    Amount,
    Choice,
    Email,
    Instant,
    JsonBool,
    JsonInstant,
    JsonInt,
    JsonUUID,
    Money,
    PageArgs,
    Phone,
    QueryBool,
    QueryChoice,
    QueryInt,
    QueryUUID,
    Schema,
    Text,
    check_text,
)


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


def _line(*, max_len: int, blank: bool = False, **kwargs: Any) -> Text:
    """One line of text: no control characters; ``null`` is a 400."""
    return Text(
        max_len=max_len, allow_blank=blank, controls="line", none_is_missing=False, **kwargs
    )


def _free_text(*, max_len: int = 10_000, **kwargs: Any) -> Text:
    """Free text: tabs and line breaks, no other control characters; may be blank."""
    return Text(max_len=max_len, allow_blank=True, controls="text", none_is_missing=False, **kwargs)


def _email(**kwargs: Any) -> Email:
    """An email address, lower-cased; blank clears it."""
    return Email(allow_blank=True, none_is_missing=False, **kwargs)


def _phone(**kwargs: Any) -> Phone:
    return Phone(none_is_missing=False, **kwargs)


def _whole_number(*, minimum: int = 0, maximum: int = MAX_INT, **kwargs: Any) -> JsonInt:
    """An integer within a column's bounds: a JSON integer, or its digits in a form."""
    return JsonInt(minimum=minimum, maximum=maximum, digits=True, none_is_missing=False, **kwargs)


def _flag(**kwargs: Any) -> JsonBool:
    """true or false (in a form: ``true``/``false``, ``1``/``0``); ``null`` is a 400."""
    return JsonBool(forms=True, error_messages={"null_given": REQUIRED}, **kwargs)


def _ref(**kwargs: Any) -> JsonUUID:
    """The id of another object, as a UUID string (``""`` and ``null`` are 400s)."""
    return JsonUUID(blank_is_none=False, none_is_missing=False, **kwargs)


def _choice(choices: Iterable[str], **kwargs: Any) -> Choice:
    return Choice(choices, none_is_missing=False, **kwargs)


#: instants an event or session may have (kept well inside every database's range)
MIN_YEAR, MAX_YEAR = 1970, 9998


def _when(**kwargs: Any) -> JsonInstant:
    """An instant an event or session may have; ``null`` is a 400."""
    return JsonInstant(min_year=MIN_YEAR, max_year=MAX_YEAR, none_is_missing=False, **kwargs)


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
    text = check_text(value, max_len=500, allow_blank=True, controls="line").strip()
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


class EventInputSchema(Schema):
    """An event's fields (POST: name, start_date and end_date required; PATCH: any).
    In a multipart form, the file fields come as files."""

    name = _line(max_len=200, required=True)
    description = _free_text()
    location = _line(max_len=500, blank=True)
    start_date = _when(required=True)
    end_date = _when(required=True, metadata={"description": "at or after start_date"})
    is_active = _flag()
    president = _whole_number(minimum=1, allow_none=True, metadata={"description": "a user id"})
    organizer_name = _line(max_len=200, blank=True)
    organizer_email = _email()
    organizer_phone = _phone()


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
    event = _ref(metadata={"description": "the event of the token (the default)"})
    name = _line(max_len=100, required=True)
    capacity = _whole_number(minimum=0)
    description = _free_text()
    location = _line(max_len=200, blank=True)
    is_active = _flag()


class RoomParticipantSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "the participant record"})
    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    badge_number = fields.String(required=True)
    first_access = Instant(required=True)


class SessionInputSchema(Schema):
    event = _ref(metadata={"description": "the event of the token (the default)"})
    room = _ref(required=True)
    title = _line(max_len=200, required=True)
    description = _free_text()
    speaker_name = _line(max_len=200, blank=True)
    speaker_title = _line(max_len=200, blank=True)
    speaker_bio = _free_text()
    speaker_photo_url = WebURL()
    start_time = _when(required=True)
    end_time = _when(required=True, metadata={"description": "after start_time"})
    theme = _line(max_len=100, blank=True)
    status = _choice(SESSION_STATUSES)
    session_type = _choice(SESSION_TYPES)
    is_paid = _flag(metadata={"description": "an atelier only"})
    price = Amount(none_is_missing=False)
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
