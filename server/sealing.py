"""The server's scan sealing key (X25519): kiosks seal what they scan to it.

See ``shared/sealing.py``. The key comes from ``SCAN_SEALING_KEY`` (32 bytes,
base64url), or is generated on first run and kept in the instance folder
(``scan-sealing.key``, mode 600). Kiosks get its public half with every change
page and at provisioning; uploaded sealed payloads are opened here, before the
scans are judged. One key agreement per kiosk run, kept (LRU), then one
ChaCha20-Poly1305 decryption per scan.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from flask import Flask, current_app

from server.config import instance_secret
from shared import sealing
from shared.signing import b64, unb64

KEY_FILE = "scan-sealing.key"
EXTENSION = "badgegate_sealer"
#: kiosk runs whose key is kept (a few per kiosk and day)
MAX_RUNS = 4096


class CannotOpen(ValueError):
    """A sealed payload this server cannot open (another key, or tampered with)."""


@dataclass
class Opener:
    private_key: x25519.X25519PrivateKey
    public_key: bytes
    _aeads: dict[bytes, ChaCha20Poly1305] = field(default_factory=dict, repr=False)

    def key_record(self) -> dict[str, str]:
        return sealing.key_record(self.public_key)

    def _aead(self, kiosk_public: bytes) -> ChaCha20Poly1305:
        """The key of one kiosk run: one key agreement, then kept."""
        aead = self._aeads.get(kiosk_public)
        if aead is None:
            peer = x25519.X25519PublicKey.from_public_bytes(kiosk_public)
            secret = self.private_key.exchange(peer)
            aead = ChaCha20Poly1305(sealing.session_key(secret, kiosk_public, self.public_key))
            if len(self._aeads) >= MAX_RUNS:
                self._aeads.clear()
            self._aeads[kiosk_public] = aead
        return aead

    def open(self, client_id: str, text: str) -> str:
        """The payload a kiosk sealed for scan ``client_id``; :class:`CannotOpen` else."""
        parts = sealing.unpack(text)
        if parts is None:
            raise CannotOpen("not a sealed payload")
        kiosk_public, nonce, box = parts
        try:
            plain = self._aead(kiosk_public).decrypt(nonce, box, sealing.aad(client_id))
        except (InvalidTag, ValueError):
            raise CannotOpen("sealed for another key, or altered") from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:  # pragma: no cover - kiosks seal text
            raise CannotOpen("not UTF-8 text") from None


def load_opener(app: Flask) -> Opener:
    text = app.config.get("SCAN_SEALING_KEY") or instance_secret(
        app.instance_path, KEY_FILE, lambda: b64(secrets.token_bytes(32))
    )
    try:
        raw = unb64(text.strip())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise RuntimeError("SCAN_SEALING_KEY must be 32 bytes in base64url")
    private = x25519.X25519PrivateKey.from_private_bytes(raw)
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return Opener(private, public)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = load_opener(app)


def opener() -> Opener:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]
