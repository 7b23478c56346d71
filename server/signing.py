"""The server's badge signing key (Ed25519) and the keyring that checks badges.

The private key signs every badge the server hands out (login, profile,
``POST /api/qr/generate/``); kiosks receive only the public keys, with every
change page. The key comes from ``BADGE_SIGNING_KEY`` (32 bytes, base64url), or
is generated on first run and kept in the instance folder
(``badge-signing.key``, mode 600), as the JWT secret is. ``BADGE_TRUSTED_KEYS``
(public keys, base64url, comma-separated) keeps badges signed by an earlier key
valid after the signing key was replaced.
"""

from __future__ import annotations

import binascii
import secrets
from dataclasses import dataclass

import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask, current_app

from server.config import instance_secret
from shared.badge import Badge
from shared.signing import Keyring, b64, key_id, key_record, message, unb64

KEY_FILE = "badge-signing.key"
EXTENSION = "badgegate_signer"


@dataclass(frozen=True)
class Signer:
    private_key: ed25519.Ed25519PrivateKey
    public_key: bytes
    kid: str
    keyring: Keyring

    def sign(self, badge: Badge) -> Badge:
        """The badge with this server's signature (Ed25519 is deterministic: the
        same badge always gets the same QR)."""
        sig = self.private_key.sign(message(badge.user_id, badge.badge_id, self.kid))
        return Badge(badge.user_id, badge.badge_id, key_id=self.kid, signature=sig)

    def key_records(self) -> list[dict[str, str]]:
        """The public keys kiosks trust, as the wire carries them."""
        return [key_record(k) for k in self.keyring.public_keys.values()]


def _raw_public(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _decode(text: str, what: str, size: int = 32) -> bytes:
    try:
        raw = unb64(text.strip())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise RuntimeError(f"{what} must be {size} bytes in base64url")
    return raw


def load_signer(app: Flask) -> Signer:
    seed_text = app.config.get("BADGE_SIGNING_KEY") or instance_secret(
        app.instance_path, KEY_FILE, lambda: b64(secrets.token_bytes(32))
    )
    private = ed25519.Ed25519PrivateKey.from_private_bytes(_decode(seed_text, "BADGE_SIGNING_KEY"))
    public = _raw_public(private)
    trusted = [public]
    for part in str(app.config.get("BADGE_TRUSTED_KEYS") or "").split(","):
        if part.strip():
            trusted.append(_decode(part, "each key of BADGE_TRUSTED_KEYS"))
    return Signer(private, public, key_id(public), Keyring.of(trusted, nacl.signing))


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = load_signer(app)


def signer() -> Signer:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def keyring() -> Keyring:
    return signer().keyring
