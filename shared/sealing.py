"""Sealed scans: a kiosk's outbox keeps what it scanned readable by the server only.

A scan waits in the kiosk's outbox until the server confirms it; offline, that
can be hours of badges. So the kiosk seals each scanned payload to the server's
X25519 public key before it writes it: a stolen kiosk holds sealed payloads it
cannot open, and the server opens them on upload.

The kiosk draws one X25519 key pair per run, keeps its private half in memory
only, and derives one ChaCha20-Poly1305 key from it and the server's public key
(HKDF-SHA256, RFC 5869); each scan is encrypted under that key with a fresh
nonce and its client id as associated data (a sealed payload cannot be moved to
another scan). The sealed text::

    "bgs1." + base64url(kiosk public key (32) | nonce (12) | ciphertext and tag)

``shared`` imports the standard library only: HKDF and the layout are here, the
X25519 and ChaCha20-Poly1305 primitives are those of ``cryptography`` on both
sides (``kiosk/store.py`` seals, ``server/sealing.py`` opens).
"""

from __future__ import annotations

import hashlib
import hmac

from shared.signing import b64, key_id, unb64

PREFIX = "bgs1."
ALGORITHM = "x25519"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_INFO = b"badgegate-scan-v1"
#: the longest sealed payload text: a scan payload of 2048 characters, sealed
MAX_SEALED_CHARS = len(PREFIX) + -(-4 * (KEY_BYTES + NONCE_BYTES + 4 * 2048 + TAG_BYTES) // 3)


def hkdf(secret: bytes, salt: bytes, info: bytes = _INFO, length: int = KEY_BYTES) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract, then expand to ``length`` bytes."""
    prk = hmac.new(salt, secret, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def session_key(shared_secret: bytes, kiosk_public: bytes, server_public: bytes) -> bytes:
    """The symmetric key of one kiosk run, from the X25519 shared secret."""
    return hkdf(shared_secret, salt=kiosk_public + server_public)


def aad(client_id: str) -> bytes:
    return b"badgegate-scan:" + client_id.encode("ascii")


def pack(kiosk_public: bytes, nonce: bytes, ciphertext: bytes) -> str:
    return PREFIX + b64(kiosk_public + nonce + ciphertext)


def unpack(text: str) -> tuple[bytes, bytes, bytes] | None:
    """(kiosk public key, nonce, ciphertext) of a sealed payload, or None."""
    if not text.startswith(PREFIX) or len(text) > MAX_SEALED_CHARS:
        return None
    try:
        raw = unb64(text[len(PREFIX) :])
    except ValueError:
        return None
    if len(raw) < KEY_BYTES + NONCE_BYTES + TAG_BYTES:
        return None
    head = KEY_BYTES + NONCE_BYTES
    return raw[:KEY_BYTES], raw[KEY_BYTES:head], raw[head:]


def is_sealed(text: str) -> bool:
    return text.startswith(PREFIX)


def key_record(public_key: bytes) -> dict[str, str]:
    """The server's sealing key as the wire carries it."""
    return {"kid": key_id(public_key), "alg": ALGORITHM, "public_key": b64(public_key)}


def public_key_from_record(record: object) -> bytes | None:
    if not isinstance(record, dict) or record.get("alg") != ALGORITHM:
        return None
    text = record.get("public_key")
    if not isinstance(text, str):
        return None
    try:
        raw = unb64(text)
    except ValueError:
        return None
    if len(raw) != KEY_BYTES or record.get("kid") != key_id(raw):
        return None
    return raw
