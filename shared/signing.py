"""Signed badges: what the server signs, and how anyone checks it (standard library only).

The server signs each badge with its Ed25519 key (``server/signing.py``); kiosks
hold only the public keys (they come with every change page) and check a
scanned badge with :class:`Keyring`. A kiosk then needs no badge id at all: a
badge it can check was made by the server, and the revoked-badge list says
which of those were replaced.

The signed message binds the key, the user and the badge id::

    b"badgegate-badge-v1\\n" + key_id + b"\\n" + user_id + b"\\n" + badge_id

``shared`` imports the standard library only, so the Ed25519 primitive is handed
in by each side: both pass the same module, PyNaCl's ``nacl.signing``
(libsodium: its check measured twice as fast as OpenSSL's here, and a door
checks a signature per scan), and this module holds every rule, so the server
and the kiosks accept exactly the same badges.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import ModuleType
from typing import Any

from shared.badge import Badge

ALGORITHM = "ed25519"
#: checked badges remembered by a keyring (about 10 MB at most)
MAX_SEEN = 50_000
PUBLIC_KEY_BYTES = 32
_DOMAIN = b"badgegate-badge-v1\n"


class SignatureCheck(StrEnum):
    """What the signature of a scanned badge says."""

    ABSENT = "absent"  # the seed's two-field form: no signature to check
    VALID = "valid"  # signed by a key the checker holds
    INVALID = "invalid"  # a signature that does not verify, or of an unknown key


def key_id(public_key: bytes) -> str:
    """A public key's id: the first 4 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:8]


def message(user_id: int, badge_id: str, kid: str) -> bytes:
    """The bytes the server signs for a badge."""
    return _DOMAIN + f"{kid}\n{user_id}\n{badge_id}".encode("ascii")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_record(public_key: bytes) -> dict[str, str]:
    """A public key as the wire carries it (change pages, provisioning)."""
    return {"kid": key_id(public_key), "alg": ALGORITHM, "public_key": b64(public_key)}


def public_keys_from_records(records: object) -> dict[str, bytes]:
    """The usable keys of a list of :func:`key_record` dicts (others are skipped)."""
    keys: dict[str, bytes] = {}
    if not isinstance(records, list):
        return keys
    for rec in records:
        if not isinstance(rec, dict) or rec.get("alg") != ALGORITHM:
            continue
        raw_key = rec.get("public_key")
        if not isinstance(raw_key, str):
            continue
        try:
            raw = unb64(raw_key)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == PUBLIC_KEY_BYTES and rec.get("kid") == key_id(raw):
            keys[key_id(raw)] = raw
    return keys


@dataclass(frozen=True)
class Keyring:
    """The public keys a checker trusts, with the Ed25519 module it was given
    (``nacl.signing``: ``VerifyKey(raw).verify(message, signature)``)."""

    public_keys: Mapping[str, bytes]
    ed25519: ModuleType | None = None
    _loaded: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: badges already checked: a person is scanned at several doors a day, and the
    #: server judges every uploaded scan again (an Ed25519 check is ~0.1 ms)
    _seen: dict[tuple[str, bytes, int, str], SignatureCheck] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, public_keys: Iterable[bytes], ed25519: ModuleType) -> Keyring:
        return cls({key_id(k): k for k in public_keys}, ed25519)

    def check(self, badge: Badge) -> SignatureCheck:
        """Does ``badge`` carry a valid signature of one of these keys? Never raises."""
        if badge.signature is None:
            return SignatureCheck.ABSENT
        memo = (badge.key_id or "", badge.signature, badge.user_id, badge.badge_id)
        known = self._seen.get(memo)
        if known is None:
            known = self._check(badge)
            if len(self._seen) >= MAX_SEEN:
                self._seen.clear()
            self._seen[memo] = known
        return known

    def _check(self, badge: Badge) -> SignatureCheck:
        assert badge.signature is not None
        kid = badge.key_id or ""
        key = self._loaded.get(kid)
        if key is None:
            raw = self.public_keys.get(kid)
            if raw is None or self.ed25519 is None:
                return SignatureCheck.INVALID
            try:
                key = self.ed25519.VerifyKey(raw)
            except Exception:  # not a key: no badge verifies with it
                return SignatureCheck.INVALID
            self._loaded[kid] = key
        try:
            key.verify(message(badge.user_id, badge.badge_id, kid), badge.signature)
        except Exception:  # BadSignatureError (or a key libsodium refuses)
            return SignatureCheck.INVALID
        return SignatureCheck.VALID


#: a keyring that trusts no key: every signature is INVALID, unsigned badges ABSENT
NO_KEYS = Keyring({})
