"""How a kiosk checks a badge offline: signed badges against verifiers, measured.

Two designs let a kiosk check a badge without holding anything a badge can be
made from:

- **signature** (what BadgeGate does): the server signs each badge with its
  Ed25519 key; the kiosk holds the public key and checks the signature
  (``shared.signing.Keyring``, libsodium through PyNaCl);
- **verifier**: the kiosk holds, per member, a salted hash of the badge id and
  hashes the scanned id to compare. A fast hash (SHA-256) is only safe for ids
  too random to brute force (the new 82-bit ids); the 8-character ids issued
  before (41 bits) need a slow hash (scrypt) so that a stolen kiosk's hashes
  cannot be reversed.

For each: the median time of one check (the baseline is the signature check,
measured in the same run), and the bytes a kiosk receives per member for it.

    .venv/bin/python bench/badge_check.py [--checks 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nacl.signing

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bench.common import print_table
from shared.badge import Badge, new_badge_id, parse_badge
from shared.signing import Keyring, SignatureCheck, b64, key_id, message

#: scrypt cost of the slow verifier: about what a kiosk can afford per scan
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def median_us(fn: Callable[[], object], count: int) -> float:
    times = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=2000, help="checks per design (2000)")
    args = parser.parse_args(argv)

    private = ed25519.Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    kid = key_id(public)
    keyring = Keyring.of([public], nacl.signing)
    # distinct badges: a keyring remembers the badges it checked, a door sees each once
    scanned_badges = []
    for n in range(args.checks):
        badge_id = new_badge_id(100_000 + n)
        sig = private.sign(message(100_000 + n, badge_id, kid))
        payload = Badge(100_000 + n, badge_id, key_id=kid, signature=sig).payload()
        parsed = parse_badge(payload)
        assert isinstance(parsed, Badge)
        scanned_badges.append(parsed)
    scanned = scanned_badges[0]
    assert keyring.check(scanned) is SignatureCheck.VALID
    unchecked = iter(scanned_badges[1:] + scanned_badges[:1])

    salt = os.urandom(16)
    fast = hashlib.sha256(salt + badge_id.encode()).digest()
    slow = hashlib.scrypt(badge_id.encode(), salt=salt, **SCRYPT, dklen=32)

    def fast_check() -> bool:
        return hmac.compare_digest(hashlib.sha256(salt + scanned.badge_id.encode()).digest(), fast)

    def slow_check() -> bool:
        got = hashlib.scrypt(scanned.badge_id.encode(), salt=salt, **SCRYPT, dklen=32)
        return hmac.compare_digest(got, slow)

    slow_count = max(20, args.checks // 100)
    sig_us = median_us(lambda: keyring.check(next(unchecked)), args.checks - 1)
    fast_us = median_us(fast_check, args.checks)
    slow_us = median_us(slow_check, slow_count)
    verifier_bytes = len(json.dumps({"salt": b64(salt), "verifier": b64(fast)}))
    rows = [
        ["signature (Ed25519)", f"{sig_us:.1f}", "1.00", 0, "any id, old or new"],
        [
            "verifier, SHA-256",
            f"{fast_us:.1f}",
            f"{fast_us / sig_us:.2f}",
            verifier_bytes,
            "82-bit ids only",
        ],
        [
            "verifier, scrypt 2^14",
            f"{slow_us:.1f}",
            f"{slow_us / sig_us:.2f}",
            verifier_bytes,
            "also 41-bit ids",
        ],
    ]
    print(f"one check, median of {args.checks} ({slow_count} for scrypt); ratio to the signature")
    print_table(["design", "µs per check", "ratio", "bytes per member", "safe for"], rows)
    print()
    print(
        f"the signed badge is {len(payload)} characters (the seed's two-field form"
        f" {len(scanned.unsigned().payload())}); a verifier adds {verifier_bytes} bytes per"
        f" member to every kiosk's feed: {verifier_bytes * 100_000 / 1e6:.1f} MB at 100,000"
    )
    print(
        "a signature also lets a kiosk accept a badge reissued after its last sync;"
        " a verifier cannot"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
