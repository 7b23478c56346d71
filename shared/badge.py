"""Badge payloads: what the QR code on a badge carries.

The seed's format, one QR per person across all events::

    {"user_id": 15, "badge_id": "USER-15-A1B2C3D4"}

Parsing is strict and total: any input (str, bytes, or anything else) gives
either a :class:`Badge` or a :class:`BadgeError`, never an exception.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

#: A badge payload is about 50 bytes; anything far larger is not ours.
MAX_PAYLOAD_CHARS = 512

BADGE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
BADGE_RANDOM_LEN = 8
_BADGE_ID_RE = re.compile(r"USER-([1-9][0-9]{0,18})-([A-Z0-9]{8})")
_MAX_USER_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Badge:
    user_id: int
    badge_id: str

    def payload(self) -> str:
        """The exact QR content, as the seed writes it."""
        return json.dumps({"user_id": self.user_id, "badge_id": self.badge_id})


@dataclass(frozen=True, slots=True)
class BadgeError:
    """Why a payload is not a valid badge (``problem`` is for logs and screens)."""

    problem: str


def new_badge_id(user_id: int) -> str:
    """``USER-{user_id}-{8 random chars}``: unguessable, reissued on loss."""
    suffix = "".join(secrets.choice(BADGE_ALPHABET) for _ in range(BADGE_RANDOM_LEN))
    return f"USER-{user_id}-{suffix}"


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def parse_badge(raw: object) -> Badge | BadgeError:
    """Parse a scanned payload. Total: never raises."""
    if isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
        if len(data) > MAX_PAYLOAD_CHARS * 4:
            return BadgeError("payload too large")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return BadgeError("payload is not UTF-8")
    elif isinstance(raw, str):
        text = raw
    else:
        return BadgeError("payload is not text")
    if len(text) > MAX_PAYLOAD_CHARS:
        return BadgeError("payload too large")
    text = text.strip()
    if not text:
        return BadgeError("empty payload")
    if not text.startswith("{"):
        return BadgeError("payload is not a BadgeGate badge")
    try:
        obj = json.loads(text, object_pairs_hook=_reject_duplicates)
    except (ValueError, RecursionError):
        return BadgeError("payload is not valid JSON")
    if not isinstance(obj, dict) or set(obj) != {"user_id", "badge_id"}:
        return BadgeError("payload must have exactly user_id and badge_id")
    user_id = obj["user_id"]
    badge_id = obj["badge_id"]
    if type(user_id) is not int or not 0 < user_id <= _MAX_USER_ID:
        return BadgeError("user_id must be a positive integer")
    if not isinstance(badge_id, str):
        return BadgeError("badge_id must be a string")
    match = _BADGE_ID_RE.fullmatch(badge_id)
    if match is None:
        return BadgeError("badge_id is not of the form USER-<id>-<8 chars>")
    if int(match.group(1)) != user_id:
        return BadgeError("badge_id does not belong to user_id")
    return Badge(user_id=user_id, badge_id=badge_id)
