"""kiosk.screen.render without a display: banner colors, the name drawn, outlines,
the status bar, and hostile text that must not break the drawing."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk import screen
from kiosk.scanner import ScanEvent
from kiosk.screen import BANNER_COLORS, Banner, ScreenState, banner_for, layout, render
from shared.decision import HTTP_STATUS, Reason, Verdict

W, H = 960, 540


def gray_frame(value: int = 90) -> np.ndarray:
    return np.full((H, W, 3), value, np.uint8)


def region(img: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = rect
    return img[y : y + h, x : x + w]


def share_of(img: np.ndarray, color: tuple[int, int, int], tol: int = 12) -> float:
    close = np.all(np.abs(img.astype(int) - np.array(color)) <= tol, axis=-1)
    return float(close.mean())


def verdict(reason: Reason, name: str | None = "Amina Benali") -> Verdict:
    return Verdict(
        status="granted" if reason is Reason.GRANTED else "denied",
        reason=reason,
        http_status=HTTP_STATUS[reason],
        message="",
        decided_at="2025-11-29T10:30:00Z",
        user_id=2,
        name=name,
    )


def event(v: Verdict | None, already: bool = False) -> ScanEvent:
    return ScanEvent(
        payload=b"x",
        polygon=(),
        frame_index=0,
        source_time=0.0,
        time="",
        latency_ms=1.0,
        verdict=v,
        scan=None,
        already_scanned=already,
        error=None if v else "disk full",
    )


@pytest.mark.parametrize("outcome", ["granted", "denied", "warning"])
def test_the_banner_is_its_color_and_leaves_the_frame_alone(outcome: str) -> None:
    frame = gray_frame()
    before = frame.copy()
    img = render(frame, ScreenState(banner=Banner(outcome, "Titre", "Amina Benali")))  # type: ignore[arg-type]
    assert np.array_equal(frame, before)  # a new image; the frame is untouched
    lay = layout(W, H)
    assert share_of(region(img, lay.banner), BANNER_COLORS[outcome]) > 0.7  # type: ignore[index]
    above = img[: lay.banner[1]]
    assert np.array_equal(above, frame[: lay.banner[1]])  # nothing else drawn


def test_the_name_is_drawn() -> None:
    lay = layout(W, H)

    def subtitle(name: str | None) -> np.ndarray:
        img = render(gray_frame(), ScreenState(banner=Banner("granted", "Accès autorisé", name)))
        return region(img, lay.subtitle)

    amina, other, plain = subtitle("Amina Benali"), subtitle("Karim Haddad"), subtitle("")
    green = np.array(BANNER_COLORS["granted"])
    text = np.any(np.abs(amina.astype(int) - green) > 60, axis=-1)
    assert 0.03 < text.mean() < 0.6  # white letters on green
    assert np.abs(amina.astype(int) - other.astype(int)).mean() > 3  # a different name
    assert np.array_equal(subtitle("Amina Benali"), amina)  # the same name: the same pixels
    assert not np.array_equal(plain, amina)


def test_text_with_accents_is_not_question_marks() -> None:
    if screen.fonts().face is None:
        pytest.skip("this OpenCV has no FontFace: accents are dropped (Hershey fonts)")
    lay = layout(W, H)
    accented = render(gray_frame(), ScreenState(banner=Banner("denied", "Déjà scanné")))
    marks = render(gray_frame(), ScreenState(banner=Banner("denied", "D?j? scann?")))
    assert not np.array_equal(region(accented, lay.banner), region(marks, lay.banner))


def test_outlines_follow_the_polygon_in_the_outcome_color() -> None:
    square = ((100, 100), (300, 100), (300, 300), (100, 300))
    img = render(gray_frame(), ScreenState(outlines=((square, "denied"),)))
    edge = img[100:300, 98:103]  # the left side of the square
    assert share_of(edge, BANNER_COLORS["denied"], tol=40) > 0.2
    assert np.array_equal(img[180:220, 180:220], gray_frame()[180:220, 180:220])  # inside


def test_status_bar() -> None:
    state = ScreenState(
        status=("Porte · Salle B · Atelier", "hors ligne", "file : 3"), online=False
    )
    img = render(gray_frame(200), state)
    lay = layout(W, H)
    bar = region(img, lay.status)
    assert bar.mean() < 120  # a dark bar over a light frame
    assert np.any(np.all(np.abs(bar.astype(int) - screen.ONLINE_DOT[False]) < 10, axis=-1))
    assert np.array_equal(img[lay.status[3] + 1 :], gray_frame(200)[lay.status[3] + 1 :])


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((120, 160, 3), np.uint8),  # tiny
        np.zeros((H, W), np.uint8),  # grayscale
        np.zeros((H, W, 4), np.uint8),  # BGRA
    ],
    ids=["tiny", "gray", "bgra"],
)
def test_any_frame_renders(frame: np.ndarray) -> None:
    state = ScreenState(banner=Banner("granted", "Accès autorisé", "X" * 500), status=("a",))
    img = render(frame, state)
    assert img.shape == (*frame.shape[:2], 3) and img.dtype == np.uint8


def test_hostile_names_are_cleaned_and_cut() -> None:
    name = "Eve\x00\x1b[31m\n\t" + "é" * 300 + "\u202e"
    cleaned = screen.clean_text(name)
    assert len(cleaned) <= screen.MAX_NAME_CHARS and cleaned.endswith("…")
    assert not any(c in cleaned for c in "\x00\x1b\n\t\u202e")
    render(gray_frame(), ScreenState(banner=Banner("denied", name, name)))  # draws, no error
    assert screen.ascii_text("Déjà scanné…") == "Deja scanne..."


def test_fit_text_shrinks_then_cuts() -> None:
    line, px = screen.fit_text("Accès autorisé", 2000, 40)
    assert (line, px) == ("Accès autorisé", 40)
    line, px = screen.fit_text("Accès autorisé " * 20, 300, 40)
    assert px == 20 and line.endswith("…")
    assert screen.fonts().size(line, px)[0] <= 300


def test_banner_for_each_kind_of_verdict() -> None:
    assert banner_for(event(verdict(Reason.GRANTED))) == Banner(
        "granted", "Accès autorisé", "Amina Benali"
    )
    assert banner_for(event(verdict(Reason.GRANTED)), "en").title == "Access granted"
    assert banner_for(event(verdict(Reason.PAYMENT_REQUIRED))) == Banner(
        "warning", "Paiement requis", "Amina Benali"
    )
    assert banner_for(event(verdict(Reason.INVALID_BADGE, None))) == Banner(
        "denied", "QR code invalide", None
    )
    assert banner_for(event(verdict(Reason.GRANTED), already=True)) == Banner(
        "warning", "Déjà scanné", "Amina Benali · accès autorisé"
    )
    assert banner_for(event(verdict(Reason.NOT_IN_EVENT, None), already=True), "en") == Banner(
        "warning", "Already scanned", "Not registered for this event"
    )
    assert banner_for(event(None)) == Banner("denied", "Erreur : scan non enregistré", None)


def test_booth_banner_shows_the_organisation_after_the_name() -> None:
    granted = event(verdict(Reason.GRANTED))
    assert banner_for(granted, "fr", "MakePlus Labs").subtitle == "Amina Benali · MakePlus Labs"
    assert banner_for(granted, "fr").subtitle == "Amina Benali"


def test_note_editor_types_erases_saves_and_cancels() -> None:
    editor = screen.NoteEditor(max_len=10)
    assert editor.feed(ord("x")) is None and not editor.active  # closed: keys are ignored
    editor.open("scan-1")
    for key in b"Hello q":
        assert editor.feed(key) is None
    assert editor.text == "Hello q"  # q is text while typing, not "quit"
    editor.feed(0xFFE1)  # Shift alone (waitKeyEx's keysym) is not text
    assert editor.text == "Hello q"
    editor.feed(8)  # backspace
    editor.feed(ord("é"))  # Latin letters come through
    assert editor.text == "Hello é"
    for key in b"123456":
        editor.feed(key)
    assert len(editor.text) == 10  # bounded
    assert editor.feed(13) == ("scan-1", "Hello é123")
    assert not editor.active
    editor.open("scan-2", "old")
    editor.feed(27)  # Esc: nothing saved
    assert not editor.active and editor.feed(13) is None


@pytest.mark.parametrize(
    ("label", "out", "plate"),
    [("ENTRÉE", False, screen.DIRECTION_IN), ("SORTIE", True, screen.DIRECTION_OUT)],
)
def test_a_doors_way_is_drawn_large_on_its_own_colour(
    label: str, out: bool, plate: tuple[int, int, int]
) -> None:
    frame = np.full((720, 1280, 3), 128, np.uint8)
    img = render(frame, ScreenState(direction=(label, out)))
    x, y, w, h = screen.direction_rect(layout(1280, 720))
    region = img[y : y + h, x : x + w].reshape(-1, 3)
    plate_share = np.mean(np.all(region == plate, axis=1))
    text_share = np.mean(np.all(region > 200, axis=1))  # white letters
    assert plate_share > 0.5 and text_share > 0.03, (plate_share, text_share)
    assert h >= 0.1 * 720 and w >= 0.25 * 1280  # large: read from a few steps away
    # nothing else of the frame is touched
    outside = img.copy()
    outside[y : y + h, x : x + w] = 128
    assert np.all(outside == 128)
    # without a way (a booth), no plate
    assert np.all(render(frame, ScreenState()) == frame)
