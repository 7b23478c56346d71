"""iso() / parse_iso(): the one wire format for instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shared.timefmt import as_utc, iso, parse_iso, utcnow

PLUS_ONE = timezone(timedelta(hours=1))
MINUS_FIVE_THIRTY = timezone(-timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2025, 11, 29, 10, 30, tzinfo=UTC), "2025-11-29T10:30:00Z"),
        (datetime(2025, 11, 29, 10, 30), "2025-11-29T10:30:00Z"),
        (datetime(2025, 11, 29, 11, 30, tzinfo=PLUS_ONE), "2025-11-29T10:30:00Z"),
        (datetime(2025, 11, 29, 5, 0, tzinfo=MINUS_FIVE_THIRTY), "2025-11-29T10:30:00Z"),
        (datetime(2025, 11, 29, 0, 30, tzinfo=PLUS_ONE), "2025-11-28T23:30:00Z"),
        (datetime(2025, 11, 29, 10, 30, 0, 123456, tzinfo=UTC), "2025-11-29T10:30:00.123456Z"),
        (datetime(2025, 11, 29, 10, 30, 0, 5), "2025-11-29T10:30:00.000005Z"),
    ],
)
def test_iso(value: datetime, expected: str) -> None:
    assert iso(value) == expected


def test_iso_of_none_is_none() -> None:
    assert iso(None) is None


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([None, UTC, PLUS_ONE, MINUS_FIVE_THIRTY]),
    )
)
def test_iso_always_ends_with_z_and_round_trips(value: datetime) -> None:
    text = iso(value)
    assert text is not None
    assert text.endswith("Z")
    assert "+" not in text
    back = parse_iso(text)
    assert back == as_utc(value)
    assert back is not None and back.utcoffset() == timedelta(0)
    assert iso(back) == text


def test_as_utc() -> None:
    naive = datetime(2025, 11, 29, 10, 30)
    assert as_utc(naive) == datetime(2025, 11, 29, 10, 30, tzinfo=UTC)
    assert as_utc(naive).tzinfo is UTC
    shifted = as_utc(datetime(2025, 11, 29, 11, 30, tzinfo=PLUS_ONE))
    assert shifted.utcoffset() == timedelta(0)
    assert (shifted.hour, shifted.minute) == (10, 30)


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-29T10:30:00Z", datetime(2025, 11, 29, 10, 30, tzinfo=UTC)),
        ("2025-11-29T10:30:00z", datetime(2025, 11, 29, 10, 30, tzinfo=UTC)),
        ("2025-11-29T10:30:00+00:00", datetime(2025, 11, 29, 10, 30, tzinfo=UTC)),
        ("2025-11-29T11:30:00+01:00", datetime(2025, 11, 29, 10, 30, tzinfo=UTC)),
        ("2025-11-29T05:00:00-05:30", datetime(2025, 11, 29, 10, 30, tzinfo=UTC)),
        ("2025-11-29 10:30:00Z", datetime(2025, 11, 29, 10, 30, tzinfo=UTC)),
        (" 2025-11-29T10:30:00Z\r\n", datetime(2025, 11, 29, 10, 30, tzinfo=UTC)),
        (
            "2025-11-29T10:30:00.123456Z",
            datetime(2025, 11, 29, 10, 30, 0, 123456, tzinfo=UTC),
        ),
    ],
)
def test_parse_iso(text: str, expected: datetime) -> None:
    value = parse_iso(text)
    assert value == expected
    assert value is not None and value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2025-11-29T10:30:00", id="naive"),
        pytest.param("2025-11-29T10:30:00.123456", id="naive-micro"),
        pytest.param("2025-11-29", id="date-only"),
        pytest.param("2025-11-29 10:30", id="naive-space"),
    ],
)
def test_parse_iso_refuses_naive(text: str) -> None:
    assert parse_iso(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "Z",
        "now",
        "yesterday",
        "not a date",
        "2025-13-01T00:00:00Z",
        "2025-02-30T00:00:00Z",
        "2025-11-29T25:00:00Z",
        "2025-11-29T10:61:00Z",
        "2025-11-29T10:30:00+25:00",
        "2025-11-29T10:30:00ZZ",
        "29/11/2025 10:30",
        "1764412200",
        "２０２５-11-29T10:30:00Z",
    ],
)
def test_parse_iso_refuses_garbage(text: str) -> None:
    assert parse_iso(text) is None


@pytest.mark.parametrize(
    "value",
    [
        None,
        0,
        1764412200,
        1.5,
        b"2025-11-29T10:30:00Z",
        bytearray(b"2025-11-29T10:30:00Z"),
        ["2025-11-29T10:30:00Z"],
        datetime(2025, 11, 29, 10, 30, tzinfo=UTC),
        date(2025, 11, 29),
    ],
    ids=repr,
)
def test_parse_iso_refuses_non_str(value: object) -> None:
    assert parse_iso(value) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2025-11-29T10:30:00Z" + " " * 100, id="padded-valid"),
        pytest.param("9" * 10**6, id="megabyte-of-digits"),
        pytest.param("2025-11-29T10:30:00." + "1" * 100 + "Z", id="long-fraction"),
        pytest.param("x" * 65, id="65-chars"),
    ],
)
def test_parse_iso_refuses_huge(text: str) -> None:
    assert parse_iso(text) is None


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_parse_iso_out_of_range_instant_is_refused(text: str) -> None:
    assert parse_iso(text) is None


ISO_LIKE = st.from_regex(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}(:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,9})?)?)?)?"
    r"([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?",
    fullmatch=True,
)


@given(st.text(max_size=80) | ISO_LIKE)
@example("2025-11-29T10:30:00Z")
@example("2025-11-29T10:30:00")
def test_parse_iso_never_raises_on_text(text: str) -> None:
    value = parse_iso(text)
    assert value is None or (isinstance(value, datetime) and value.utcoffset() == timedelta(0))
