"""ISO 8601 times with a zone, the one wire format for instants."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """``2025-11-29T10:30:00Z`` (microseconds kept when present)."""
    if value is None:
        return None
    try:
        return as_utc(value).isoformat().replace("+00:00", "Z")
    except OverflowError:  # at the edge of datetime's range: keep the given zone
        return value.isoformat()


def parse_iso(text: str) -> datetime | None:
    """Parse an ISO 8601 instant; a value without a zone is refused (None)."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
        if value.tzinfo is None:
            return None
        return value.astimezone(UTC)
    except (ValueError, OverflowError):  # not ISO, or outside datetime's range in UTC
        return None
