"""What the kiosk's screen says, in French (the default) and English.

One short message per :class:`shared.decision.Reason` (the banner's title
for a verdict), plus the few other texts of the screen. Every table has
every language: ``tests/kiosk/test_i18n.py`` checks it, so a new reason in
``shared`` cannot reach a screen untranslated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.decision import Reason
from shared.timefmt import parse_iso

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")
DEFAULT_LANG: Lang = "fr"

#: the banner's title for each verdict reason
REASONS: dict[Reason, dict[Lang, str]] = {
    Reason.GRANTED: {"fr": "Accès autorisé", "en": "Access granted"},
    Reason.INVALID_BADGE: {"fr": "QR code invalide", "en": "Invalid QR code"},
    Reason.SESSION_NOT_FOUND: {
        "fr": "Session introuvable",
        "en": "Session not found",
    },
    Reason.SESSION_NOT_IN_ROOM: {
        "fr": "Session hors de cette salle",
        "en": "Session not held in this room",
    },
    Reason.ACCOUNT_DISABLED: {"fr": "Compte désactivé", "en": "Account disabled"},
    Reason.REVOKED_BADGE: {
        "fr": "Badge remplacé, plus valide",
        "en": "Badge replaced, no longer valid",
    },
    Reason.UNKNOWN_BADGE: {"fr": "Badge inconnu", "en": "Unknown badge"},
    Reason.NOT_IN_EVENT: {
        "fr": "Non inscrit à cet événement",
        "en": "Not registered for this event",
    },
    Reason.PARTICIPANT_NOT_FOUND: {
        "fr": "Participant introuvable",
        "en": "Participant not found",
    },
    Reason.ROOM_NOT_ALLOWED: {
        "fr": "Salle non autorisée",
        "en": "Not allowed in this room",
    },
    Reason.PAYMENT_REQUIRED: {"fr": "Paiement requis", "en": "Payment required"},
    Reason.INVALID_SIGNATURE: {"fr": "Badge falsifié", "en": "Forged badge"},
    Reason.UNSIGNED_BADGE: {
        "fr": "Ancien badge : afficher celui de l'appli",
        "en": "Old badge: show the app's badge",
    },
}

#: every other text of the screen; ``{name}`` fields are filled by :func:`text`
TEXTS: dict[str, dict[Lang, str]] = {
    "already_scanned": {"fr": "Déjà scanné", "en": "Already scanned"},
    "earlier_granted": {"fr": "accès autorisé", "en": "access granted"},
    "store_error": {
        "fr": "Erreur : scan non enregistré",
        "en": "Error: scan not recorded",
    },
    "door": {"fr": "Porte", "en": "Door"},
    "direction_in": {"fr": "ENTRÉE", "en": "ENTRY"},
    "direction_out": {"fr": "SORTIE", "en": "EXIT"},
    "booth": {"fr": "Stand", "en": "Booth"},
    "booth_of": {"fr": "Stand de {name}", "en": "Booth of {name}"},
    "no_session": {"fr": "aucune session en cours", "en": "no session now"},
    "online": {"fr": "en ligne", "en": "online"},
    "offline": {"fr": "hors ligne", "en": "offline"},
    "never_synced": {"fr": "jamais synchronisé", "en": "never synced"},
    "revoked": {"fr": "RÉVOQUÉ", "en": "REVOKED"},
    "no_data": {"fr": "aucune donnée synchronisée", "en": "no data synced"},
    "data_today": {"fr": "données de {time}", "en": "data from {time}"},
    "data_other_day": {"fr": "données du {date} {time}", "en": "data from {date} {time}"},
    "queue": {"fr": "file : {n}", "en": "queue: {n}"},
    "end_of_source": {"fr": "fin de la vidéo", "en": "end of video"},
    "note_prompt": {
        "fr": "Note : {text}_   (Entrée : enregistrer, Échap : annuler)",
        "en": "Note: {text}_   (Enter: save, Esc: cancel)",
    },
    "note_hint": {"fr": "n : ajouter une note à cette visite", "en": "n: add a note to this visit"},
    "note_saved": {"fr": "note enregistrée", "en": "note saved"},
}


def check_lang(lang: str) -> Lang:
    """``lang`` if it is one of :data:`LANGS`, else ValueError."""
    for known in LANGS:
        if lang == known:
            return known
    raise ValueError(f"unknown language {lang!r}: choose one of {', '.join(LANGS)}")


def reason_text(reason: Reason | str, lang: Lang = DEFAULT_LANG) -> str:
    """The banner title for a verdict reason (a code outside :class:`Reason`,
    e.g. ``store_error``, is looked up in :data:`TEXTS`, else shown as is)."""
    try:
        return REASONS[Reason(reason)][lang]
    except ValueError:
        entry = TEXTS.get(str(reason))
        return entry[lang] if entry else str(reason)


def text(key: str, lang: Lang = DEFAULT_LANG, **fields: object) -> str:
    """The screen text ``key`` in ``lang``, with ``fields`` filled in."""
    template = TEXTS[key][lang]
    return template.format(**fields) if fields else template


def data_age(last_sync: str | None, lang: Lang = DEFAULT_LANG, now: datetime | None = None) -> str:
    """``données de 14:03`` (today) or ``données du 28/11 14:03``, in local time
    (``data from 14:03``, ``data from 2025-11-28 14:03`` in English)."""
    when = parse_iso(last_sync) if last_sync else None
    if when is None:
        return text("no_data", lang)
    local = when.astimezone()
    today = (now or datetime.now().astimezone()).date()
    if local.date() == today:
        return text("data_today", lang, time=f"{local:%H:%M}")
    day = f"{local:%d/%m}" if lang == "fr" else f"{local:%Y-%m-%d}"
    return text("data_other_day", lang, date=day, time=f"{local:%H:%M}")
