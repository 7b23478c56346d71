"""shared.signing: the signed badge message, key ids and the keyring (with the real
Ed25519 of ``cryptography``, as the server and the kiosks pass it)."""

from __future__ import annotations

import json

import nacl.signing
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.badge import Badge, parse_badge
from shared.signing import (
    NO_KEYS,
    Keyring,
    SignatureCheck,
    key_id,
    key_record,
    message,
    public_keys_from_records,
)

BADGE = Badge(15, "USER-15-A1B2C3D4E5F6G7H8")


def _keypair() -> tuple[ed25519.Ed25519PrivateKey, bytes]:
    private = ed25519.Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return private, public


def sign(private: ed25519.Ed25519PrivateKey, public: bytes, badge: Badge) -> Badge:
    kid = key_id(public)
    sig = private.sign(message(badge.user_id, badge.badge_id, kid))
    return Badge(badge.user_id, badge.badge_id, key_id=kid, signature=sig)


Keys = tuple[ed25519.Ed25519PrivateKey, bytes, Keyring]


@pytest.fixture
def keys() -> Keys:
    private, public = _keypair()
    return private, public, Keyring.of([public], nacl.signing)


def test_a_badge_signed_by_the_key_is_valid(keys: Keys) -> None:
    private, public, ring = keys
    signed = sign(private, public, BADGE)
    assert ring.check(signed) is SignatureCheck.VALID
    # and still after a trip through the QR text
    reparsed = parse_badge(signed.payload())
    assert isinstance(reparsed, Badge)
    assert ring.check(reparsed) is SignatureCheck.VALID


def test_an_unsigned_badge_has_no_signature_to_check(keys: Keys) -> None:
    assert keys[2].check(BADGE) is SignatureCheck.ABSENT


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"user_id": 16, "badge_id": "USER-16-A1B2C3D4E5F6G7H8"}, id="other-user"),
        pytest.param({"badge_id": "USER-15-A1B2C3D4E5F6G7H9"}, id="other-badge-id"),
    ],
)
def test_a_signature_moved_to_another_badge_is_invalid(
    keys: Keys, change: dict[str, object]
) -> None:
    private, public, ring = keys
    signed = sign(private, public, BADGE)
    data = json.loads(signed.payload()) | change
    moved = parse_badge(json.dumps(data))
    assert isinstance(moved, Badge)
    assert ring.check(moved) is SignatureCheck.INVALID


def test_a_flipped_bit_is_invalid(keys: Keys) -> None:
    private, public, ring = keys
    signed = sign(private, public, BADGE)
    assert signed.signature is not None
    flipped = bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
    bad = Badge(BADGE.user_id, BADGE.badge_id, key_id=signed.key_id, signature=flipped)
    assert ring.check(bad) is SignatureCheck.INVALID


def test_another_key_is_not_trusted(keys: Keys) -> None:
    other_private, other_public = _keypair()
    signed = sign(other_private, other_public, BADGE)
    assert keys[2].check(signed) is SignatureCheck.INVALID
    # nor a badge claiming our key id but signed by another key
    forged = Badge(
        BADGE.user_id, BADGE.badge_id, key_id=key_id(keys[1]), signature=signed.signature
    )
    assert keys[2].check(forged) is SignatureCheck.INVALID


def test_the_key_id_is_part_of_the_message() -> None:
    assert message(15, BADGE.badge_id, "0a1b2c3d") != message(15, BADGE.badge_id, "0a1b2c3e")


def test_no_keys_trusts_nothing(keys: Keys) -> None:
    private, public, _ring = keys
    assert NO_KEYS.check(sign(private, public, BADGE)) is SignatureCheck.INVALID
    assert NO_KEYS.check(BADGE) is SignatureCheck.ABSENT


def test_several_keys(keys: Keys) -> None:
    private, public, _ = keys
    old_private, old_public = _keypair()
    ring = Keyring.of([public, old_public], nacl.signing)
    assert ring.check(sign(private, public, BADGE)) is SignatureCheck.VALID
    assert ring.check(sign(old_private, old_public, BADGE)) is SignatureCheck.VALID


def test_key_records_round_trip_and_bad_ones_are_skipped() -> None:
    _p, public = _keypair()
    good = key_record(public)
    assert public_keys_from_records([good]) == {key_id(public): public}
    wrong_kid = {**good, "kid": "00000000"}
    wrong_alg = {**good, "alg": "rsa"}
    short = {**good, "public_key": "AAAA"}
    junk = [None, 3, "x", {"alg": "ed25519"}, {**good, "public_key": "@@@"}]
    assert public_keys_from_records([wrong_kid, wrong_alg, short, *junk]) == {}
    assert public_keys_from_records("not a list") == {}


def test_a_key_that_is_not_a_curve_point_verifies_nothing(keys: Keys) -> None:
    private, public, _ = keys
    signed = sign(private, public, BADGE)
    bogus = b"\xff" * 32
    ring = Keyring({signed.key_id or "": bogus}, nacl.signing)
    assert ring.check(signed) is SignatureCheck.INVALID
