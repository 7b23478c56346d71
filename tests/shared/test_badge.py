"""parse_badge / new_badge_id: strict, total parsing of the QR payload."""

from __future__ import annotations

import base64
import json
import re
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared import badge as badge_module
from shared.badge import (
    BADGE_ALPHABET,
    BADGE_RANDOM_LEN,
    MAX_PAYLOAD_CHARS,
    Badge,
    BadgeError,
    new_badge_id,
    parse_badge,
    public_ref,
    redacted_payload,
)

PAYLOAD = '{"user_id": 15, "badge_id": "USER-15-A1B2C3D4"}'
BADGE = Badge(user_id=15, badge_id="USER-15-A1B2C3D4")
BADGE_ID_FORMAT = re.compile(r"USER-(\d+)-([A-Z0-9]{16}|[A-Z0-9]{8})")

# problem texts, as parse_badge words them
NOT_TEXT = "payload is not text"
NOT_UTF8 = "payload is not UTF-8"
EMPTY = "empty payload"
TOO_LARGE = "payload too large"
NOT_OURS = "payload is not a BadgeGate badge"
BAD_JSON = "payload is not valid JSON"
BAD_KEYS = "payload must have exactly user_id and badge_id (and sig)"
BAD_USER_ID = "user_id must be a positive integer"
BADGE_ID_NOT_STR = "badge_id must be a string"
BAD_FORMAT = "badge_id is not of the form USER-<id>-<16 or 8 chars>"
NOT_HIS = "badge_id does not belong to user_id"


def payload(user_id: object = 15, badge_id: object = "USER-15-A1B2C3D4") -> str:
    return json.dumps({"user_id": user_id, "badge_id": badge_id})


# --------------------------------------------------------------------------- valid


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(PAYLOAD, id="str"),
        pytest.param(PAYLOAD.encode(), id="bytes"),
        pytest.param(bytearray(PAYLOAD.encode()), id="bytearray"),
        pytest.param(memoryview(PAYLOAD.encode()), id="memoryview"),
        pytest.param(PAYLOAD + "\r\n", id="crlf-keyboard-wedge"),
        pytest.param(PAYLOAD + "\n", id="lf"),
        pytest.param(PAYLOAD + "\r", id="cr"),
        pytest.param("  \t" + PAYLOAD + " \r\n", id="surrounding-whitespace"),
        pytest.param((PAYLOAD + "\r\n").encode(), id="bytes-crlf"),
        pytest.param(bytearray(b" " + PAYLOAD.encode() + b"\r\n"), id="bytearray-crlf"),
        pytest.param('{"user_id":15,"badge_id":"USER-15-A1B2C3D4"}', id="compact-json"),
        pytest.param('{"badge_id": "USER-15-A1B2C3D4", "user_id": 15}', id="keys-reordered"),
        pytest.param('{\n  "user_id": 15,\n  "badge_id": "USER-15-A1B2C3D4"\n}', id="pretty-json"),
        pytest.param('{"user_id": 15, "badge_id": "\\u0055SER-15-A1B2C3D4"}', id="json-escape"),
    ],
)
def test_valid_payloads(raw: object) -> None:
    assert parse_badge(raw) == BADGE


def test_payload_is_the_seed_format_exactly() -> None:
    assert BADGE.payload() == PAYLOAD
    assert parse_badge(BADGE.payload()) == BADGE


@pytest.mark.parametrize(
    "badge",
    [
        Badge(1, "USER-1-AAAAAAAA"),
        Badge(15, "USER-15-00000000"),
        Badge(999_999, "USER-999999-ZZZZ9999"),
        Badge(10**17, "USER-100000000000000000-A1B2C3D4"),
        Badge(10**18 - 1, "USER-999999999999999999-A1B2C3D4"),
    ],
    ids=lambda b: b.badge_id,
)
def test_payload_round_trip(badge: Badge) -> None:
    assert parse_badge(badge.payload()) == badge
    assert parse_badge(badge.payload().encode()) == badge


def test_parsed_badge_has_exact_types() -> None:
    parsed = parse_badge(PAYLOAD)
    assert isinstance(parsed, Badge)
    assert type(parsed.user_id) is int
    assert type(parsed.badge_id) is str


@pytest.mark.parametrize("user_id", [1, 7, 15, 123_456, 10**17])
def test_new_badge_id_format(user_id: int) -> None:
    badge_id = new_badge_id(user_id)
    match = BADGE_ID_FORMAT.fullmatch(badge_id)
    assert match is not None, badge_id
    assert int(match.group(1)) == user_id
    assert len(match.group(2)) == BADGE_RANDOM_LEN == 16  # 36**16 > 2**82
    assert set(match.group(2)) <= set(string.ascii_uppercase + string.digits)
    assert parse_badge(Badge(user_id, badge_id).payload()) == Badge(user_id, badge_id)


def test_badge_alphabet_is_upper_and_digits() -> None:
    assert sorted(BADGE_ALPHABET) == sorted(string.ascii_uppercase + string.digits)


def test_new_badge_id_is_random() -> None:
    ids = [new_badge_id(15) for _ in range(200)]
    # 36**8 possible suffixes: a repeat in 200 draws means it is not random.
    assert len(set(ids)) == len(ids)
    # 1,600 random characters cover nearly all 36 of the alphabet.
    used = {c for badge_id in ids for c in badge_id.rsplit("-", 1)[1]}
    assert len(used) >= 30
    assert used & set(string.digits)
    assert used & set(string.ascii_uppercase)


@pytest.mark.parametrize("user_id", [10**18, 2**63 - 1])
def test_nineteen_digit_user_id_round_trips(user_id: int) -> None:
    badge = Badge(user_id, new_badge_id(user_id))
    assert parse_badge(badge.payload()) == badge


def test_user_id_above_int64_is_refused() -> None:
    too_big = 2**63
    assert parse_badge(payload(too_big, f"USER-{too_big}-A1B2C3D4")) == BadgeError(BAD_USER_ID)


# ----------------------------------------------------------------------- rejected

REJECTED = [
    # not text at all
    pytest.param(None, NOT_TEXT, id="none"),
    pytest.param(15, NOT_TEXT, id="int"),
    pytest.param(1.5, NOT_TEXT, id="float"),
    pytest.param(["USER-15-A1B2C3D4"], NOT_TEXT, id="list"),
    pytest.param({"user_id": 15, "badge_id": "USER-15-A1B2C3D4"}, NOT_TEXT, id="dict"),
    pytest.param(BADGE, NOT_TEXT, id="badge-object"),
    pytest.param(object(), NOT_TEXT, id="object"),
    # bytes that are not UTF-8
    pytest.param(b"\xff\xfe{", NOT_UTF8, id="invalid-utf8"),
    pytest.param(PAYLOAD.encode("utf-16"), NOT_UTF8, id="utf16"),
    pytest.param(b'{"user_id": 15, "badge_id": "USER-15-A1B2C3D\xe9"}', NOT_UTF8, id="latin1"),
    # nothing there
    pytest.param("", EMPTY, id="empty"),
    pytest.param(b"", EMPTY, id="empty-bytes"),
    pytest.param("   ", EMPTY, id="spaces"),
    pytest.param("\r\n", EMPTY, id="crlf-only"),
    pytest.param(" \t\r\n\x0b\x0c ", EMPTY, id="whitespace-only"),
    pytest.param(b"\r\n", EMPTY, id="bytes-crlf-only"),
    # too large
    pytest.param("{" + " " * MAX_PAYLOAD_CHARS, TOO_LARGE, id="str-over-limit"),
    pytest.param(PAYLOAD + " " * MAX_PAYLOAD_CHARS, TOO_LARGE, id="str-padded-valid"),
    pytest.param("x" * 10**6, TOO_LARGE, id="str-megabyte"),
    pytest.param(b"{" + b" " * (MAX_PAYLOAD_CHARS * 4), TOO_LARGE, id="bytes-over-limit"),
    pytest.param(b"x" * 10**6, TOO_LARGE, id="bytes-megabyte"),
    pytest.param(b"\xff" * 10**6, TOO_LARGE, id="bytes-megabyte-not-utf8"),
    pytest.param(b"{" + b" " * 1000, TOO_LARGE, id="bytes-over-char-limit"),
    pytest.param("{" + "[" * 100_000, TOO_LARGE, id="deep-nesting"),
    pytest.param('{"a":' + "[" * 100_000, TOO_LARGE, id="deep-nesting-in-value"),
    # not ours
    pytest.param("https://example.com/badge?user_id=15", NOT_OURS, id="url"),
    pytest.param("USER-15-A1B2C3D4", NOT_OURS, id="bare-badge-id"),
    pytest.param("Hello, world!", NOT_OURS, id="plain-text"),
    pytest.param("WIFI:T:WPA;S:venue;P:secret;;", NOT_OURS, id="wifi-qr"),
    pytest.param("BEGIN:VCARD\nFN:Awa\nEND:VCARD", NOT_OURS, id="vcard"),
    pytest.param('[15, "USER-15-A1B2C3D4"]', NOT_OURS, id="json-array"),
    pytest.param('"USER-15-A1B2C3D4"', NOT_OURS, id="json-string"),
    pytest.param("15", NOT_OURS, id="json-number"),
    pytest.param("null", NOT_OURS, id="json-null"),
    pytest.param("\x00" + PAYLOAD, NOT_OURS, id="leading-nul"),
    pytest.param("\ufeff" + PAYLOAD, NOT_OURS, id="leading-bom"),
    # starts like ours, is not JSON
    pytest.param("{", BAD_JSON, id="lone-brace"),
    pytest.param("{user_id: 15}", BAD_JSON, id="unquoted-keys"),
    pytest.param("{'user_id': 15, 'badge_id': 'USER-15-A1B2C3D4'}", BAD_JSON, id="python-repr"),
    pytest.param(PAYLOAD[:-1], BAD_JSON, id="truncated"),
    pytest.param(PAYLOAD + ",", BAD_JSON, id="trailing-comma"),
    pytest.param(PAYLOAD + PAYLOAD, BAD_JSON, id="two-payloads"),
    pytest.param(PAYLOAD + "\x00", BAD_JSON, id="trailing-nul"),
    pytest.param(PAYLOAD + "\x07", BAD_JSON, id="trailing-bell"),
    pytest.param("{" + "[" * 500, BAD_JSON, id="nesting-within-limit"),
    pytest.param('{"a":' + "[" * 500, BAD_JSON, id="unclosed-arrays"),
    pytest.param(
        '{"user_id": 15, "user_id": 15, "badge_id": "USER-15-A1B2C3D4"}',
        BAD_JSON,
        id="duplicate-user-id",
    ),
    pytest.param(
        '{"user_id": 16, "badge_id": "USER-15-A1B2C3D4", "user_id": 15}',
        BAD_JSON,
        id="duplicate-user-id-last-wins-attack",
    ),
    pytest.param(
        '{"user_id": 15, "badge_id": "USER-15-A1B2C3D4", "badge_id": "USER-15-A1B2C3D4"}',
        BAD_JSON,
        id="duplicate-badge-id",
    ),
    pytest.param(
        '{"user_id": 15, "badge_id": "USER-15-A1B2\nC3D4"}', BAD_JSON, id="raw-newline-in-string"
    ),
    pytest.param(
        '{"user_id": 15, "badge_id": "USER-15-A1B2C3D4\x00"}', BAD_JSON, id="raw-nul-in-string"
    ),
    pytest.param(
        '{"user_id": 15, "badge_id": "USER-15-A1B2C3D4\x1b"}', BAD_JSON, id="raw-escape-in-string"
    ),
    # JSON, wrong shape
    pytest.param("{}", BAD_KEYS, id="empty-object"),
    pytest.param('{"user_id": 15}', BAD_KEYS, id="missing-badge-id"),
    pytest.param('{"badge_id": "USER-15-A1B2C3D4"}', BAD_KEYS, id="missing-user-id"),
    pytest.param(
        '{"user_id": 15, "badge_id": "USER-15-A1B2C3D4", "role": "organisateur"}',
        BAD_KEYS,
        id="extra-key",
    ),
    pytest.param('{"User_id": 15, "badge_id": "USER-15-A1B2C3D4"}', BAD_KEYS, id="key-wrong-case"),
    pytest.param(
        '{"user_id ": 15, "badge_id": "USER-15-A1B2C3D4"}', BAD_KEYS, id="key-trailing-space"
    ),
    pytest.param('{"user_id": {"user_id": 15}}', BAD_KEYS, id="nested-object"),
    # user_id
    pytest.param(payload(True, "USER-1-A1B2C3D4"), BAD_USER_ID, id="user-id-true"),
    pytest.param(payload(False, "USER-0-A1B2C3D4"), BAD_USER_ID, id="user-id-false"),
    pytest.param(payload(15.0), BAD_USER_ID, id="user-id-float"),
    pytest.param(
        '{"user_id": 1.5e1, "badge_id": "USER-15-A1B2C3D4"}', BAD_USER_ID, id="user-id-exp"
    ),
    pytest.param('{"user_id": NaN, "badge_id": "USER-15-A1B2C3D4"}', BAD_USER_ID, id="user-id-nan"),
    pytest.param(
        '{"user_id": Infinity, "badge_id": "USER-15-A1B2C3D4"}', BAD_USER_ID, id="user-id-inf"
    ),
    pytest.param(payload("15"), BAD_USER_ID, id="user-id-string"),
    pytest.param(payload(None), BAD_USER_ID, id="user-id-null"),
    pytest.param(payload([15]), BAD_USER_ID, id="user-id-list"),
    pytest.param(payload(0, "USER-0-A1B2C3D4"), BAD_USER_ID, id="user-id-zero"),
    pytest.param('{"user_id": -0, "badge_id": "USER-0-A1B2C3D4"}', BAD_USER_ID, id="user-id-neg-0"),
    pytest.param(payload(-15), BAD_USER_ID, id="user-id-negative"),
    pytest.param(payload(2**63, "USER-15-A1B2C3D4"), BAD_USER_ID, id="user-id-2**63"),
    pytest.param(payload(10**100, "USER-15-A1B2C3D4"), BAD_USER_ID, id="user-id-huge"),
    # badge_id type
    pytest.param(payload(15, None), BADGE_ID_NOT_STR, id="badge-id-null"),
    pytest.param(payload(15, 15), BADGE_ID_NOT_STR, id="badge-id-int"),
    pytest.param(payload(15, ["USER-15-A1B2C3D4"]), BADGE_ID_NOT_STR, id="badge-id-list"),
    pytest.param(payload(15, {"id": "USER-15-A1B2C3D4"}), BADGE_ID_NOT_STR, id="badge-id-dict"),
    pytest.param(payload(15, True), BADGE_ID_NOT_STR, id="badge-id-bool"),
    # badge_id format
    pytest.param(payload(15, ""), BAD_FORMAT, id="badge-id-empty"),
    pytest.param(payload(15, "USER-15-a1b2c3d4"), BAD_FORMAT, id="lowercase-suffix"),
    pytest.param(payload(15, "USER-15-A1B2c3D4"), BAD_FORMAT, id="one-lowercase-char"),
    pytest.param(payload(15, "user-15-A1B2C3D4"), BAD_FORMAT, id="lowercase-prefix"),
    pytest.param(payload(15, "USER-15-A1B2C3D"), BAD_FORMAT, id="suffix-7-chars"),
    pytest.param(payload(15, "USER-15-A1B2C3D4E"), BAD_FORMAT, id="suffix-9-chars"),
    pytest.param(payload(15, "USER-15-"), BAD_FORMAT, id="suffix-missing"),
    pytest.param(payload(15, "USER-15-A1B2-3D4"), BAD_FORMAT, id="suffix-dash"),
    pytest.param(payload(15, "USER-15-A1B2C3D$"), BAD_FORMAT, id="suffix-symbol"),
    pytest.param(payload(15, "USER-15-A1B2C3DÉ"), BAD_FORMAT, id="suffix-accented"),
    pytest.param(payload(15, "USER-15-Ａ1B2C3D4"), BAD_FORMAT, id="suffix-fullwidth"),
    pytest.param(payload(15, "USER15A1B2C3D4"), BAD_FORMAT, id="no-dashes"),
    pytest.param(payload(15, "USER_15_A1B2C3D4"), BAD_FORMAT, id="underscores"),
    pytest.param(payload(15, "USER-015-A1B2C3D4"), BAD_FORMAT, id="leading-zero"),
    pytest.param(payload(15, "USER-+15-A1B2C3D4"), BAD_FORMAT, id="plus-sign"),
    pytest.param(payload(15, "USER- 15-A1B2C3D4"), BAD_FORMAT, id="space-in-number"),
    pytest.param(payload(15, "USER-١٥-A1B2C3D4"), BAD_FORMAT, id="arabic-digits"),
    pytest.param(payload(15, "USER-15-A1B2C3D4 "), BAD_FORMAT, id="trailing-space"),
    pytest.param(payload(15, " USER-15-A1B2C3D4"), BAD_FORMAT, id="leading-space"),
    pytest.param(payload(15, "USER-15-A1B2C3D4\n"), BAD_FORMAT, id="trailing-newline"),
    pytest.param(payload(15, "USER-15-A1B2C3D4\x00"), BAD_FORMAT, id="escaped-nul"),
    pytest.param(payload(15, "USER-15-A1B2\x00C3D4"), BAD_FORMAT, id="escaped-nul-inside"),
    pytest.param(payload(15, "USER-15-A1B2C3D\x1b"), BAD_FORMAT, id="escaped-control"),
    pytest.param(payload(15, "USER-15-A1B2C3D4\u200b"), BAD_FORMAT, id="zero-width-space"),
    pytest.param(payload(15, "ADMIN-15-A1B2C3D4"), BAD_FORMAT, id="other-prefix"),
    pytest.param(payload(15, "USER-15-A1B2C3D4-X"), BAD_FORMAT, id="extra-part"),
    # badge_id of another user
    pytest.param(payload(15, "USER-16-A1B2C3D4"), NOT_HIS, id="other-user"),
    pytest.param(payload(1, "USER-15-A1B2C3D4"), NOT_HIS, id="prefix-of-other"),
    pytest.param(payload(15, "USER-1-A1B2C3D4"), NOT_HIS, id="other-is-prefix"),
    pytest.param(payload(150, "USER-15-A1B2C3D4"), NOT_HIS, id="trailing-zero"),
]


@pytest.mark.parametrize(("raw", "problem"), REJECTED)
def test_rejected(raw: object, problem: str) -> None:
    result = parse_badge(raw)
    assert isinstance(result, BadgeError)
    assert result.problem == problem


REJECTED_TEXT = [
    p for p in REJECTED if isinstance(p.values[0], str) and len(p.values[0]) <= MAX_PAYLOAD_CHARS
]


@pytest.mark.parametrize(("raw", "problem"), REJECTED_TEXT)
def test_rejected_as_bytes_too(raw: str, problem: str) -> None:
    """The same text scanned as UTF-8 bytes gets the same answer."""
    assert parse_badge(raw.encode()) == BadgeError(problem)


def test_bytes_limit_counts_bytes_then_chars() -> None:
    # 2-byte UTF-8 characters: within the byte cap, over the char cap.
    raw = ("{" + "é" * (MAX_PAYLOAD_CHARS + 100)).encode()
    assert len(raw) <= MAX_PAYLOAD_CHARS * 4
    assert parse_badge(raw) == BadgeError(TOO_LARGE)


def test_payload_at_size_limit_is_not_refused_for_size() -> None:
    raw = PAYLOAD + " " * (MAX_PAYLOAD_CHARS - len(PAYLOAD))
    assert len(raw) == MAX_PAYLOAD_CHARS
    assert parse_badge(raw) == BADGE
    assert parse_badge(raw.encode()) == BADGE


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"a":' + "[" * 100_000, id="arrays"),
        pytest.param('{"a":' + "[" * 100_000 + "]" * 100_000 + "}", id="closed-arrays"),
        pytest.param('{"a":' * 100_000, id="objects"),
    ],
)
def test_deep_nesting_without_size_cap_does_not_raise(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even if the size cap is raised, nesting that blows json's recursion is refused."""
    monkeypatch.setattr(badge_module, "MAX_PAYLOAD_CHARS", 10**7)
    assert parse_badge(raw) == BadgeError(BAD_JSON)


def test_badge_and_error_are_frozen() -> None:
    with pytest.raises(AttributeError):
        BADGE.user_id = 16  # type: ignore[misc]
    with pytest.raises(AttributeError):
        BadgeError("x").problem = "y"  # type: ignore[misc]


# --------------------------------------------------------------------- properties

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.from_regex(r"USER-[0-9]{1,4}-[A-Z0-9a-z]{7,9}", fullmatch=True)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# objects shaped like ours, with values that may or may not be right
BADGE_SHAPED = st.fixed_dictionaries(
    {
        "user_id": st.integers(min_value=-2, max_value=20) | JSON_SCALARS,
        "badge_id": st.from_regex(r"USER-[0-9]{1,2}-[A-Z0-9]{8}", fullmatch=True) | JSON_SCALARS,
    },
    optional={"extra": JSON_VALUES},
)


def _check_total(raw: object) -> None:
    result = parse_badge(raw)
    assert type(result) in (Badge, BadgeError)
    if isinstance(result, Badge):
        match = BADGE_ID_FORMAT.fullmatch(result.badge_id)
        assert match is not None
        assert int(match.group(1)) == result.user_id > 0
        # anything accepted is exactly reproducible from its canonical payload
        assert parse_badge(result.payload()) == result
    else:
        assert isinstance(result.problem, str)
        assert result.problem


@settings(max_examples=500)
@given(st.text())
@example(PAYLOAD)
@example("{" + "[" * 100_000)
def test_parse_never_raises_on_text(raw: str) -> None:
    _check_total(raw)


@settings(max_examples=500)
@given(st.binary())
@example(PAYLOAD.encode())
@example(b"\xed\xa0\x80")  # a UTF-8 encoded surrogate
def test_parse_never_raises_on_binary(raw: bytes) -> None:
    _check_total(raw)
    _check_total(bytearray(raw))


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES | BADGE_SHAPED, st.booleans(), st.sampled_from(["", " ", "\r\n", "\n"]))
def test_parse_never_raises_on_json(value: object, ascii_only: bool, suffix: str) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only) + suffix
    _check_total(text)
    _check_total(text.encode())


@given(st.one_of(st.none(), st.integers(), st.floats(), st.lists(st.integers()), st.tuples()))
def test_parse_never_raises_on_non_text(raw: object) -> None:
    assert parse_badge(raw) == BadgeError(NOT_TEXT)


USER_IDS = st.integers(min_value=1, max_value=2**63 - 1) | st.integers(min_value=1, max_value=999)
VALID_BADGES = st.builds(
    lambda user_id, suffix: Badge(user_id, f"USER-{user_id}-{suffix}"),
    USER_IDS,
    st.text(alphabet=BADGE_ALPHABET, min_size=8, max_size=8),
)


@given(VALID_BADGES, st.sampled_from(["", "\r\n", "\n", " "]))
def test_every_valid_badge_round_trips(badge: Badge, suffix: str) -> None:
    assert parse_badge(badge.payload()) == badge
    assert parse_badge(badge.payload() + suffix) == badge
    assert parse_badge((badge.payload() + suffix).encode()) == badge


@given(USER_IDS)
def test_new_badge_id_always_parses(user_id: int) -> None:
    badge = Badge(user_id, new_badge_id(user_id))
    assert parse_badge(badge.payload()) == badge


# --------------------------------------------------------------------------- signed

SIG = bytes(range(64))
SIG_TEXT = "0a1b2c3d." + base64.urlsafe_b64encode(SIG).decode().rstrip("=")
SIGNED = Badge(15, "USER-15-A1B2C3D4E5F6G7H8", key_id="0a1b2c3d", signature=SIG)


def signed_payload(**changes: object) -> str:
    data: dict[str, object] = {"user_id": 15, "badge_id": SIGNED.badge_id, "sig": SIG_TEXT}
    data.update(changes)
    return json.dumps(data)


def test_signed_badge_round_trips() -> None:
    assert parse_badge(signed_payload()) == SIGNED
    assert parse_badge(SIGNED.payload()) == SIGNED
    assert SIGNED.signed and not SIGNED.unsigned().signed
    assert parse_badge(SIGNED.unsigned().payload()) == SIGNED.unsigned()


def test_legacy_eight_char_ids_still_parse() -> None:
    assert parse_badge(PAYLOAD) == BADGE
    legacy_signed = Badge(15, "USER-15-A1B2C3D4", key_id="0a1b2c3d", signature=SIG)
    assert parse_badge(legacy_signed.payload()) == legacy_signed


@pytest.mark.parametrize(
    "sig",
    [
        pytest.param(None, id="null"),
        pytest.param(12, id="number"),
        pytest.param("", id="empty"),
        pytest.param(SIG_TEXT[:-1], id="short"),
        pytest.param(SIG_TEXT + "A", id="long"),
        pytest.param(SIG_TEXT.upper(), id="key-id-uppercase"),
        pytest.param(SIG_TEXT.replace(".", ":"), id="separator"),
        pytest.param(SIG_TEXT[:-1] + "B", id="non-canonical-base64"),
        pytest.param(SIG_TEXT[:9] + "+" + SIG_TEXT[10:], id="not-base64url"),
        pytest.param(SIG_TEXT + "\n", id="trailing-newline"),
    ],
)
def test_malformed_signatures_are_invalid_badges(sig: object) -> None:
    result = parse_badge(signed_payload(sig=sig))
    assert isinstance(result, BadgeError)
    assert result.problem == "sig is not of the form <key id>.<signature>"


def test_unknown_fields_beside_sig_are_refused() -> None:
    assert parse_badge(signed_payload(kid="0a1b2c3d")) == BadgeError(BAD_KEYS)


def test_public_ref_hides_the_random_part() -> None:
    assert public_ref("USER-15-A1B2C3D4E5F6G7H8") == "USER-15"
    assert public_ref("USER-15-A1B2C3D4") == "USER-15"
    assert public_ref(None) is None
    assert public_ref("garbage") is None


def test_redacted_payload_keeps_only_the_user_id() -> None:
    assert json.loads(redacted_payload(SIGNED.payload())) == {"user_id": 15}
    assert json.loads(redacted_payload(PAYLOAD)) == {"user_id": 15}
    assert redacted_payload("not a badge") == "not a badge"
