"""Badge payloads: what the QR code on a badge carries.

The seed's format, one QR per person across all events, plus the server's
signature (``shared.signing``), so that a kiosk can check a badge offline
without holding any badge id::

    {"user_id": 15, "badge_id": "USER-15-A1B2C3D4E5F6G7H8", "sig": "<key id>.<signature>"}

The seed's two-field form ``{"user_id", "badge_id"}`` is still a badge: the
server checks it against the badge id it holds (the seed's mobile client sends
that form). A kiosk holds no badge ids, so it can only check signed badges.

Badge ids are ``USER-{user_id}-{16 random chars}`` (82 random bits); ids issued
before signing have 8 random chars and keep working.

Parsing is strict and total: any input (str, bytes, or anything else) gives
either a :class:`Badge` or a :class:`BadgeError`, never an exception.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

#: A signed badge payload is about 170 bytes; anything far larger is not ours.
MAX_PAYLOAD_CHARS = 512

BADGE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: random characters of a new badge id: 36**16 is about 2**82.7
BADGE_RANDOM_LEN = 16
#: random characters of the badge ids issued before signed badges (still valid)
LEGACY_RANDOM_LEN = 8
_BADGE_ID_RE = re.compile(r"USER-([1-9][0-9]{0,18})-([A-Z0-9]{16}|[A-Z0-9]{8})")
_MAX_USER_ID = 2**63 - 1

#: ``sig``: a key id (8 hex digits) and an Ed25519 signature (64 bytes, base64url
#: without padding: 86 characters)
_SIG_RE = re.compile(r"([0-9a-f]{8})\.([A-Za-z0-9_-]{86})")
SIGNATURE_BYTES = 64


@dataclass(frozen=True, slots=True)
class Badge:
    user_id: int
    badge_id: str
    #: the key that signed it and the signature, for a signed badge
    key_id: str | None = None
    signature: bytes | None = None

    @property
    def signed(self) -> bool:
        return self.signature is not None

    def payload(self) -> str:
        """The exact QR content: the seed's two fields, and ``sig`` when signed
        (then without spaces: every character makes the code denser)."""
        data: dict[str, object] = {"user_id": self.user_id, "badge_id": self.badge_id}
        if self.signature is None:
            return json.dumps(data)
        data["sig"] = signature_text(self.key_id or "", self.signature)
        return json.dumps(data, separators=(",", ":"))

    def unsigned(self) -> Badge:
        """The seed's two-field form of this badge."""
        return Badge(self.user_id, self.badge_id)


def signature_text(key_id: str, signature: bytes) -> str:
    """The ``sig`` field: ``<key id>.<base64url signature>``."""
    return key_id + "." + base64.urlsafe_b64encode(signature).decode("ascii").rstrip("=")


@dataclass(frozen=True, slots=True)
class BadgeError:
    """Why a payload is not a valid badge (``problem`` is for logs and screens)."""

    problem: str


def new_badge_id(user_id: int) -> str:
    """``USER-{user_id}-{16 random chars}``: unguessable, reissued on loss."""
    suffix = "".join(secrets.choice(BADGE_ALPHABET) for _ in range(BADGE_RANDOM_LEN))
    return f"USER-{user_id}-{suffix}"


_FIELDS = frozenset({"user_id", "badge_id", "sig"})


def public_ref(badge_id: str | None) -> str | None:
    """A badge id without its secret part (``USER-15``): what exports and
    exposants may show. The random part is the badge's secret: whoever knows it
    can present the seed's two-field badge to an online check."""
    if not badge_id:
        return None
    head, sep, _secret = badge_id.rpartition("-")
    return head if sep and head.startswith("USER-") else None


def redacted_payload(payload: str) -> str:
    """A scanned payload as a kiosk may keep it once it is sent: a badge keeps its
    user id only (neither its badge id nor its signature), anything else as it is."""
    badge = parse_badge(payload)
    if isinstance(badge, Badge):
        return json.dumps({"user_id": badge.user_id})
    return payload


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
    if not isinstance(obj, dict) or not {"user_id", "badge_id"} <= set(obj) <= _FIELDS:
        return BadgeError("payload must have exactly user_id and badge_id (and sig)")
    user_id = obj["user_id"]
    badge_id = obj["badge_id"]
    if type(user_id) is not int or not 0 < user_id <= _MAX_USER_ID:
        return BadgeError("user_id must be a positive integer")
    if not isinstance(badge_id, str):
        return BadgeError("badge_id must be a string")
    match = _BADGE_ID_RE.fullmatch(badge_id)
    if match is None:
        return BadgeError("badge_id is not of the form USER-<id>-<16 or 8 chars>")
    if int(match.group(1)) != user_id:
        return BadgeError("badge_id does not belong to user_id")
    if "sig" not in obj:
        return Badge(user_id=user_id, badge_id=badge_id)
    sig = obj["sig"]
    found = _SIG_RE.fullmatch(sig) if isinstance(sig, str) else None
    if found is None:
        return BadgeError("sig is not of the form <key id>.<signature>")
    try:
        raw = base64.urlsafe_b64decode(found.group(2) + "==")
    except (binascii.Error, ValueError):  # pragma: no cover - the pattern admits only base64url
        return BadgeError("sig is not base64url")
    if len(raw) != SIGNATURE_BYTES or signature_text(found.group(1), raw) != sig:
        return BadgeError("sig is not of the form <key id>.<signature>")  # non-canonical
    return Badge(user_id=user_id, badge_id=badge_id, key_id=found.group(1), signature=raw)
