"""Arabic names on the kiosk's screen: letters joined, the line right to left.

:func:`kiosk.screen.display_text` is checked against presentation forms written
out by hand; the banner the kiosk draws is compared, pixel by pixel, with a
reference drawn independently (Pillow with libraqm, which shapes and orders the
text itself, or the hand-written presentation forms), and with the wrong,
unshaped left-to-right drawing, which must not match."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk import screen
from kiosk.screen import BANNER_COLORS, Banner, ScreenState, display_text, layout, render

W, H = 960, 540

AHMED = "أحمد"
AHMED_BEN_ALI = "أحمد بن علي"
# the glyphs of each word, right to left on screen, so written here left to right:
# أحمد: alef with hamza above (isolated FE83), hah initial FEA3, meem medial FEE4, dal final FEAA
AHMED_VISUAL = "\ufeaa\ufee4\ufea3\ufe83"
# بن: beh initial FE91, noon final FEE6; علي: ain initial FECB, lam medial FEE0, yeh final FEF2
BEN_VISUAL = "\ufee6\ufe91"
ALI_VISUAL = "\ufef2\ufee0\ufecb"
AHMED_BEN_ALI_VISUAL = f"{ALI_VISUAL} {BEN_VISUAL} {AHMED_VISUAL}"

MIXED = [
    ("Dr. أحمد بن علي", "ltr"),  # first strong letter Latin: a left-to-right line
    ("أحمد (ACME)", "rtl"),  # first strong letter Arabic: a right-to-left line
]


def needs_truetype() -> None:
    if not screen.fonts().truetype:
        pytest.skip("no TrueType font with Arabic letters on this machine (DejaVu Sans)")


# ---------------------------------------------------------------------------
# display_text


def test_letters_take_their_joining_forms_right_to_left() -> None:
    # محمد: meem initial FEE3, hah medial FEA4, meem medial FEE4, dal final FEAA
    assert display_text("محمد") == "\ufeaa\ufee4\ufea4\ufee3"
    assert display_text(AHMED) == AHMED_VISUAL
    assert display_text(AHMED_BEN_ALI) == AHMED_BEN_ALI_VISUAL
    # lam + alef is one ligature (FEFB isolated, FEFC final)
    assert display_text("لا سلام") == "\ufee1\ufefc\ufeb3 \ufefb"


def test_latin_runs_stay_left_to_right() -> None:
    assert display_text("Dr. أحمد بن علي") == f"Dr. {AHMED_BEN_ALI_VISUAL}"
    # a right-to-left line: the name on the right, the organisation on its left,
    # its brackets mirrored back to read "(ACME)"
    assert display_text("أحمد (ACME)") == f"(ACME) {AHMED_VISUAL}"
    assert display_text("أحمد 2024") == f"2024 {AHMED_VISUAL}"


def test_text_without_right_to_left_letters_is_unchanged() -> None:
    for line in ("Amina Benali", "Accès autorisé", "file : 3", "Zoë (ACME) · 12"):
        assert display_text(line) == line


def test_bidi_controls_cannot_reorder_the_line() -> None:
    # overrides, embeddings and isolates are dropped: they would reverse the Latin text
    assert display_text("\u202eAmina Benali\u202c") == "Amina Benali"
    assert display_text("\u2067Amina\u2069 Benali") == "Amina Benali"
    assert display_text("\u202dأحمد\u202c") == AHMED_VISUAL  # an override cannot unjoin
    assert display_text("x \u202bأحمد abc\u202c") == f"x {AHMED_VISUAL} abc"
    # marks are letters without a glyph: they count for the direction, then go
    assert display_text("\u200fAmina") == "Amina"
    for line in (display_text("\u202e\u2066\u200e\u061cأحمد\u2069"), screen.clean_text("\u202eA")):
        assert not set(line) & (screen.BIDI_CONTROLS | screen.BIDI_MARKS)


def test_status_items_stay_left_to_right() -> None:
    room, session = "قاعة أ", "جلسة ب"
    line = display_text(screen.status_line((room, session, "en ligne")))
    assert line == f"{display_text(room)}   ·   {display_text(session)}   ·   en ligne"


def test_a_long_name_is_cut_at_its_logical_end() -> None:
    name = "محمد عبد الرحمن بن عبد العزيز آل سعود " * 3
    line, px = screen.fit_text(screen.clean_text(name, 200), 300, 30)
    assert line.endswith("…") and name.startswith(line[:-1])  # the start is kept
    visual = display_text(line)
    assert visual.startswith("…")  # on the left, the end of a right-to-left line
    assert visual.endswith(display_text("محمد"))  # the first word on the right
    assert screen.fonts().size(line, px)[0] <= 300  # measured as drawn


# ---------------------------------------------------------------------------
# pixels


def reference(line: str, px: int, *, direction: str | None = None) -> np.ndarray:
    """``line`` drawn by Pillow alone in the kiosk's TrueType font: its coverage, 0 to 1.

    With a ``direction``, libraqm (HarfBuzz, FriBidi) shapes and orders ``line``
    itself, without kerning (the kiosk draws shaped text with Pillow's basic
    layout, which leaves out the font's Latin kerning pairs: not what is tested
    here). Without, ``line`` is drawn as it is: no shaping, left to right."""
    from PIL import Image, ImageDraw, ImageFont

    engine = ImageFont.Layout.RAQM if direction else ImageFont.Layout.BASIC
    font = ImageFont.truetype(screen.fonts().truetype[False], px, layout_engine=engine)
    canvas = Image.new("L", (px * (len(line) + 2), 3 * px), 0)
    draw = ImageDraw.Draw(canvas)
    if direction:
        draw.text((px, 2 * px), line, 255, font, "ls", direction=direction, features=["-kern"])
    else:
        draw.text((px, 2 * px), line, 255, font, "ls")
    return np.asarray(canvas, dtype=np.float64) / 255.0


def subtitle_ink(name: str) -> tuple[np.ndarray, int]:
    """The kiosk's banner with ``name`` as its subtitle: the text's coverage, 0 to
    1, in the subtitle's area, and the text size used."""
    lay = layout(W, H)
    img = render(
        np.full((H, W, 3), 90, np.uint8),
        ScreenState(banner=Banner("granted", "Accès autorisé", name)),
    )
    _x, _y, w, h = lay.subtitle
    title_bottom, banner_bottom = lay.title[1] + lay.title[3], lay.banner[1] + lay.banner[3]
    area = img[title_bottom:banner_bottom].astype(
        np.float64
    )  # tall letters rise above the subtitle
    green = np.array(BANNER_COLORS["granted"], dtype=np.float64)
    coverage = ((area - green) / (255.0 - green)).mean(axis=-1)  # white text on green
    _line, px = screen.fit_text(name, w, max(8, round(h * 0.8)))
    return np.clip(coverage, 0.0, 1.0), px


def crop(coverage: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(coverage > 0.1)
    return coverage[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def likeness(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two drawings of a line are, 0 to 1: their ink, cropped, slightly
    blurred (antialiasing) and correlated, at the best of a few pixels' shifts
    (rasterizers may place a glyph a pixel apart)."""
    import cv2

    a, b = crop(a), crop(b)
    height, width = max(a.shape[0], b.shape[0]) + 4, max(a.shape[1], b.shape[1]) + 4
    pa, pb = (
        np.pad(m, ((2, height - 2 - m.shape[0]), (2, width - 2 - m.shape[1]))) for m in (a, b)
    )
    pa, pb = (cv2.GaussianBlur(m, (0, 0), 1.0) for m in (pa, pb))
    best = -1.0
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            qa, qb = np.roll(pa, (dy, dx), axis=(0, 1)) - pa.mean(), pb - pb.mean()
            best = max(best, float((qa * qb).sum() / np.sqrt((qa * qa).sum() * (qb * qb).sum())))
    return best


def test_the_banner_draws_an_arabic_name_joined_right_to_left() -> None:
    needs_truetype()
    drawn, px = subtitle_ink(AHMED_BEN_ALI)
    by_hand = reference(AHMED_BEN_ALI_VISUAL, px)  # presentation forms, no shaping engine
    assert likeness(drawn, by_hand) > 0.95
    unshaped = reference(AHMED_BEN_ALI, px)  # isolated letters, left to right
    assert likeness(drawn, unshaped) < 0.6


@pytest.mark.parametrize("name", [AHMED_BEN_ALI, *(n for n, _d in MIXED)])
def test_the_banner_matches_a_shaping_engine(name: str) -> None:
    needs_truetype()
    from PIL import features

    if not features.check("raqm"):
        pytest.skip("Pillow without libraqm: no independent shaping engine")
    import arabic_reshaper

    drawn, px = subtitle_ink(name)
    assert likeness(drawn, reference(name, px, direction=dict(MIXED).get(name, "rtl"))) > 0.95
    # the wrong drawings: isolated letters left to right; joined, but left to right
    assert likeness(drawn, reference(name, px)) < 0.6
    assert likeness(drawn, reference(arabic_reshaper.reshape(name), px)) < 0.6


def test_a_hostile_name_cannot_flip_its_line() -> None:
    img = np.zeros((80, 600, 3), np.uint8)
    plain, hostile = img.copy(), img.copy()
    # fonts().draw directly: no clean_text before it
    screen.fonts().draw(plain, "Dr. أحمد · Amina", (10, 60), (255, 255, 255), 36, False)
    screen.fonts().draw(
        hostile, "\u202eDr. \u2067أحمد · Amina", (10, 60), (255, 255, 255), 36, False
    )
    assert np.array_equal(plain, hostile)
    state = ScreenState(banner=Banner("granted", "Accès autorisé", "\u202eAmina Benali"))
    same = ScreenState(banner=Banner("granted", "Accès autorisé", "Amina Benali"))
    frame = np.full((H, W, 3), 90, np.uint8)
    assert np.array_equal(render(frame, state), render(frame, same))


def test_without_a_truetype_font_fontface_is_given_the_logical_text() -> None:
    """OpenCV 5's FontFace joins and orders Arabic letters itself (its font has no
    presentation forms: shaped text would come out as question marks)."""
    import cv2

    fonts = screen._Fonts()
    if fonts.face is None:
        pytest.skip("this OpenCV has no FontFace")
    fonts.truetype = {}
    img, expected = np.zeros((80, 400, 3), np.uint8), np.zeros((80, 400, 3), np.uint8)
    fonts.draw(img, "\u202e" + AHMED_BEN_ALI, (10, 60), (255, 255, 255), 36, False)
    cv2.putText(expected, AHMED_BEN_ALI, (10, 60), (255, 255, 255), fonts.face, 36, 400)
    assert np.array_equal(img, expected)


def test_arabic_without_any_font_for_it_still_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    fonts = screen._Fonts()
    fonts.truetype, fonts.face = {}, None  # the Hershey fonts: question marks, no error
    monkeypatch.setattr(screen, "fonts", lambda: fonts)
    state = ScreenState(banner=Banner("granted", "أ", "أحمد"), status=("قاعة",))
    img = render(np.zeros((H, W, 3), np.uint8), state)
    assert img.shape == (H, W, 3)
