"""The schema layer's one set of body fields (``server.schema``): what each makes
of ``null``, ``""`` and a multipart form's strings, as the endpoints rely on."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from server.errors import APIError
from server.schema import (
    REQUIRED,
    Amount,
    Choice,
    Email,
    JsonBool,
    JsonInt,
    JsonUUID,
    Phone,
    Schema,
    Text,
    load,
)


class Body(Schema):
    name = Text(controls="line")
    strict_name = Text(controls="line", none_is_missing=False)
    count = JsonInt(minimum=0, maximum=10)
    form_count = JsonInt(minimum=0, maximum=10, digits=True)
    flag = JsonBool()
    loose_flag = JsonBool(none_is_missing=True)
    form_flag = JsonBool(forms=True, error_messages={"null_given": REQUIRED})
    ref = JsonUUID()
    strict_ref = JsonUUID(blank_is_none=False, none_is_missing=False)
    nullable_count = JsonInt(minimum=1, allow_none=True)
    email = Email()
    blank_email = Email(allow_blank=True)
    phone = Phone()
    status = Choice(["b", "a"])
    amount = Amount()
    price = Amount(none_is_missing=False)


def _fields(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(APIError) as caught:
        load(Body(), body)
    assert caught.value.status == 400
    return caught.value.fields or {}


def test_null_is_not_given_unless_the_field_says_otherwise() -> None:
    assert load(Body(), {"name": None, "count": None, "ref": None, "loose_flag": None}) == {}
    assert _fields({"strict_name": None}) == {"strict_name": REQUIRED}
    assert _fields({"flag": None}) == {"flag": "must be true or false"}
    assert _fields({"form_flag": None}) == {"form_flag": REQUIRED}
    assert _fields({"strict_ref": None}) == {"strict_ref": REQUIRED}
    assert load(Body(), {"nullable_count": None}) == {"nullable_count": None}


def test_blank_and_form_strings() -> None:
    assert load(Body(), {"ref": ""}) == {}
    assert _fields({"strict_ref": ""}) == {"strict_ref": "must be a valid UUID"}
    assert load(Body(), {"form_count": "7", "form_flag": " TRUE "}) == {
        "form_count": 7,
        "form_flag": True,
    }
    assert load(Body(), {"form_flag": "0"}) == {"form_flag": False}
    assert _fields({"count": "7"}) == {"count": "must be an integer"}
    assert _fields({"form_count": "11"}) == {"form_count": "must be between 0 and 10"}
    assert _fields({"form_count": "+1"}) == {"form_count": "must be an integer"}
    assert _fields({"flag": "true"}) == {"flag": "must be true or false"}
    assert _fields({"form_flag": "yes"}) == {"form_flag": "must be true or false"}
    assert load(Body(), {"blank_email": "  ", "phone": ""}) == {"blank_email": "", "phone": ""}
    assert _fields({"email": " "}) == {"email": "must not be blank"}
    assert load(Body(), {"email": " A@Example.ORG "}) == {"email": "a@example.org"}
    assert _fields({"phone": "call me"})["phone"].startswith("must be a telephone number")


def test_text_and_choices_refuse_what_a_database_cannot_take() -> None:
    assert _fields({"name": "a\x00b"}) == {"name": "must not contain NUL characters"}
    assert _fields({"name": "a\nb"}) == {"name": "must not contain control characters"}
    assert _fields({"status": "c"}) == {"status": "must be one of: b, a"}  # their order
    ref = uuid.uuid4()
    assert load(Body(), {"ref": str(ref), "status": "a"}) == {"ref": ref, "status": "a"}


def test_one_money_reader_for_prices_and_payments() -> None:
    assert load(Body(), {"amount": "5000", "price": 12.5}) == {
        "amount": Decimal("5000.00"),
        "price": Decimal("12.50"),
    }
    assert load(Body(), {"amount": " 0.10 "}) == {"amount": Decimal("0.10")}
    assert load(Body(), {"amount": None}) == {}
    assert _fields({"price": None}) == {"price": REQUIRED}
    assert _fields({"amount": "12.345"}) == {"amount": "must have at most 2 decimal places"}
    assert _fields({"amount": "-1"}) == {"amount": "must be between 0 and 99999999.99"}
    assert _fields({"amount": "100000000"}) == {"amount": "must be between 0 and 99999999.99"}
    problem = 'must be a decimal amount like "5000.00"'
    for bad in (True, "NaN", "1e2", "Infinity", [], "٣", "1_000", "１", "0x10", ".5"):
        assert _fields({"price": bad}) == {"price": problem}, bad
    assert _fields({"amount": "9" * 21}) == {"amount": "must be at most 99999999.99"}
