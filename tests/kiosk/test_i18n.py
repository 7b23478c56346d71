"""kiosk.i18n: every verdict reason and every screen text in French and English."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from kiosk import i18n
from shared.decision import Reason


def test_every_reason_has_every_language() -> None:
    assert set(i18n.REASONS) == set(Reason)
    for reason in Reason:
        messages = i18n.REASONS[reason]
        assert set(messages) == set(i18n.LANGS), reason
        assert all(m.strip() for m in messages.values()), reason
        assert messages["fr"] != messages["en"], reason


def test_every_text_has_every_language_and_the_same_fields() -> None:
    import string

    for key, messages in i18n.TEXTS.items():
        assert set(messages) == set(i18n.LANGS), key
        fields = {
            lang: {f for _, f, _, _ in string.Formatter().parse(m) if f}
            for lang, m in messages.items()
        }
        assert fields["fr"] == fields["en"], key


def test_lookups() -> None:
    assert i18n.reason_text(Reason.PAYMENT_REQUIRED) == "Paiement requis"
    assert i18n.reason_text("payment_required", "en") == "Payment required"
    assert i18n.reason_text("store_error", "en") == "Error: scan not recorded"
    assert i18n.reason_text("something_new") == "something_new"
    assert i18n.text("queue", "fr", n=3) == "file : 3"
    assert i18n.check_lang("en") == "en"
    with pytest.raises(ValueError, match="fr, en"):
        i18n.check_lang("de")


def test_data_age() -> None:
    now = datetime.now().astimezone().replace(hour=14, minute=3)
    assert i18n.data_age(None) == "aucune donnée synchronisée"
    assert i18n.data_age(now.isoformat(), "fr", now) == "données de 14:03"
    assert i18n.data_age(now.isoformat(), "en", now) == "data from 14:03"
    before = (now - timedelta(days=1)).isoformat()
    assert i18n.data_age(before, "fr", now).startswith("données du ")
    assert i18n.data_age(before, "en", now) == f"data from {now - timedelta(days=1):%Y-%m-%d} 14:03"
