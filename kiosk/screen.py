"""The kiosk's screen: the camera image, the codes outlined, a verdict banner, a status bar.

:func:`render` is pure: ``render(frame, state)`` returns a new BGR image and
needs no display, so it is tested directly; :class:`Window` only shows what
it is given (an OpenCV ``imshow`` window, optionally full screen).

Layout (see :func:`layout`): a status bar along the top (mode, room and
session or booth, online or not, data age, queue length), and for a few
seconds after a verdict a banner over the bottom third: green with the
person's name for granted, red with the reason for denied, amber for
payment required, an old unsigned badge and "already scanned". Text is drawn with OpenCV's own
font engine where it has one (OpenCV 5 ``cv2.FontFace``: accents and any
Unicode), else with the Hershey fonts (ASCII: accents are dropped).

A line with right-to-left letters (Arabic, Hebrew) is drawn with Pillow and a
system TrueType font that has them (DejaVu Sans), from :func:`display_text`:
Arabic letters in their joined forms, the line in the bidi algorithm's visual
order. OpenCV 5.1's ``FontFace`` joins Arabic letters itself but lays out a
right-to-left line with Latin in it wrongly ("أحمد (ACME)"), its built-in font
has no presentation forms, and the Hershey fonts have no Arabic at all.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import arabic_reshaper

# python-bidi's pure Python algorithm: its Rust one (``bidi.get_display``) leaves
# out rule L4, so brackets in right-to-left runs would not be mirrored
from bidi.algorithm import get_display

from kiosk.i18n import DEFAULT_LANG, Lang, reason_text, text
from kiosk.scanner import Outcome, Polygon, ScanEvent
from kiosk.x11 import X11, PaintWatch

if TYPE_CHECKING:
    import numpy as np

BGR = tuple[int, int, int]

#: banner fill per outcome (BGR)
BANNER_COLORS: dict[Outcome, BGR] = {
    "granted": (56, 158, 22),  # green
    "denied": (40, 40, 208),  # red
    "warning": (0, 168, 247),  # amber
}
#: text on each banner: white on green and red, near-black on amber (contrast)
BANNER_TEXT: dict[Outcome, BGR] = {
    "granted": (255, 255, 255),
    "denied": (255, 255, 255),
    "warning": (20, 20, 20),
}
#: outline of a code with no verdict (yet)
UNDECIDED_OUTLINE: BGR = (255, 210, 0)
STATUS_BG: BGR = (24, 24, 24)
STATUS_TEXT: BGR = (240, 240, 240)
#: the direction label's plates: an entry dark green, an exit blue; white text
DIRECTION_IN: BGR = (40, 120, 30)
DIRECTION_OUT: BGR = (150, 70, 20)
DIRECTION_TEXT: BGR = (255, 255, 255)
ONLINE_DOT: dict[bool | None, BGR] = {
    True: (70, 200, 70),
    False: (60, 60, 230),
    None: (150, 150, 150),
}

#: a name longer than this is cut (a store record is not ours to trust blindly)
MAX_NAME_CHARS = 60


@dataclass(frozen=True, slots=True)
class Banner:
    outcome: Outcome
    title: str
    subtitle: str | None = None


@dataclass(frozen=True, slots=True)
class ScreenState:
    """Everything drawn over a frame."""

    #: codes to outline: (polygon in frame pixels, outcome or None if undecided)
    outlines: tuple[tuple[Polygon, Outcome | None], ...] = ()
    banner: Banner | None = None
    #: status bar items, left to right
    status: tuple[str, ...] = ()
    #: the dot at the start of the status bar: online (green), offline (red), unknown (gray)
    online: bool | None = None
    #: a small line just above the banner area (e.g. "end of video")
    note: str | None = None
    #: a door's way, drawn large under the status bar: the label ("ENTRÉE") and
    #: whether it is an exit (another colour, so a glance tells them apart)
    direction: tuple[str, bool] | None = None


Rect = tuple[int, int, int, int]  # x, y, width, height


@dataclass(frozen=True, slots=True)
class Layout:
    status: Rect
    banner: Rect
    #: the banner's two text lines (title: the verdict; subtitle: the name)
    title: Rect
    subtitle: Rect


def layout(width: int, height: int) -> Layout:
    """Where things go on a ``width`` x ``height`` frame."""
    status_h = max(22, round(height * 0.06))
    banner_h = max(80, round(height * 0.32))
    banner_y = height - banner_h
    pad = max(4, round(banner_h * 0.08))
    line_h = (banner_h - 3 * pad) // 2
    title = (pad, banner_y + pad, width - 2 * pad, line_h)
    subtitle = (pad, banner_y + 2 * pad + line_h, width - 2 * pad, line_h)
    return Layout((0, 0, width, status_h), (0, banner_y, width, banner_h), title, subtitle)


# ---------------------------------------------------------------------------
# text


def _cv2() -> Any:
    import cv2

    return cv2


def clean_text(value: str, limit: int = MAX_NAME_CHARS) -> str:
    """Printable text on one line: control characters become spaces, runs of
    spaces one, and more than ``limit`` characters end with an ellipsis."""
    chars = [" " if unicodedata.category(c)[0] in "CZ" else c for c in value]
    line = " ".join("".join(chars).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def ascii_text(value: str) -> str:
    """``value`` for the Hershey fonts: accents dropped, other non-ASCII as ``?``."""
    out = []
    for ch in unicodedata.normalize("NFKD", value.replace("…", "...")):
        if unicodedata.combining(ch):
            continue
        out.append(ch if 32 <= ord(ch) < 127 else "?")
    return "".join(out)


#: explicit bidi formatting: embeddings, overrides, isolates and their ends. They
#: reorder the text after them, so a name carrying one could flip the rest of a line.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: LRM, RLM, ALM: invisible letters of one direction, reordering nothing by themselves
BIDI_MARKS = frozenset("\u200e\u200f\u061c")
#: a line that has one of these bidi classes has right-to-left letters
_RTL_CLASSES = frozenset(("R", "AL"))


def is_rtl(line: str) -> bool:
    """Whether ``line`` has right-to-left letters (Arabic, Hebrew...)."""
    return any(unicodedata.bidirectional(c) in _RTL_CLASSES for c in line)


@lru_cache(maxsize=512)
def display_text(logical: str) -> str:
    """``logical`` as drawn by a font engine that neither joins letters nor
    reorders them: Arabic letters in their joined forms (presentation forms,
    ``arabic_reshaper``) and the line in visual order, left to right (the
    Unicode bidi algorithm of ``python-bidi``, mirroring brackets in right-to-left
    runs). The base direction is the first strong letter's: "أحمد (ACME)" is a
    right-to-left line, "Dr. أحمد" a left-to-right one.

    Bidi controls are dropped first (a name cannot reorder the text around it);
    LRM/RLM/ALM count as letters and are dropped from the result. A line with no
    right-to-left letter comes back as it is, less those characters."""
    line = "".join(c for c in logical if c not in BIDI_CONTROLS)
    if is_rtl(line):
        line = get_display(arabic_reshaper.reshape(line))
    return "".join(c for c in line if c not in BIDI_MARKS)


def plain_text(logical: str) -> str:
    """``logical`` for an engine that orders and joins letters itself (OpenCV 5's
    ``FontFace``), or cannot draw them (Hershey): bidi controls and marks dropped."""
    return "".join(c for c in logical if c not in BIDI_CONTROLS and c not in BIDI_MARKS)


def _truetype_file(name: str) -> str | None:
    for folder in _FONT_DIRS:
        for candidate in (os.path.join(folder, name), os.path.join(folder, "dejavu", name)):
            if os.path.isfile(candidate):
                return candidate
    return None


class _Fonts:
    """Measure and draw a line of text ``px`` pixels high (cap height and
    descenders included), with ``cv2.FontFace`` if there is one; a line with
    right-to-left letters with Pillow and :data:`TRUETYPE` if that font is there.

    Lines are given in logical order; the engine chosen for a line draws and
    measures the same string, :func:`display_text`'s for the TrueType path."""

    #: (regular, bold) fonts with Arabic and Hebrew letters, in :data:`_FONT_DIRS`
    TRUETYPE = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")

    def __init__(self) -> None:
        cv2 = _cv2()
        self.face: Any = None
        if hasattr(cv2, "FontFace"):
            try:
                self.face = cv2.FontFace("sans")
            except Exception:  # a build without its fonts
                self.face = None
        regular = _truetype_file(self.TRUETYPE[0])
        #: TrueType font files by boldness, or empty (then no right-to-left shaping)
        self.truetype: dict[bool, str] = {}
        if regular is not None:
            self.truetype = {False: regular, True: _truetype_file(self.TRUETYPE[1]) or regular}
        self._pil: dict[tuple[int, bool], Any] = {}

    def uses_truetype(self, line: str) -> bool:
        return bool(self.truetype) and is_rtl(line)

    def _pil_font(self, px: int, bold: bool) -> Any:
        from PIL import ImageFont

        key = (px, bold)
        if key not in self._pil:
            # BASIC: the text is already shaped and in visual order (display_text)
            basic = ImageFont.Layout.BASIC
            self._pil[key] = ImageFont.truetype(self.truetype[bold], px, layout_engine=basic)
        return self._pil[key]

    def _hershey(self, px: int, bold: bool) -> tuple[int, float, int]:
        cv2 = _cv2()
        font = cv2.FONT_HERSHEY_DUPLEX
        thickness = max(1, round(px / (14 if bold else 22)))
        scale = cv2.getFontScaleFromHeight(font, max(4, round(px * 0.72)), thickness)
        return font, scale, thickness

    def size(self, line: str, px: int, bold: bool = False) -> tuple[int, int]:
        cv2 = _cv2()
        if self.uses_truetype(line):
            _left, top, right, bottom = self._pil_font(px, bold).getbbox(
                display_text(line), anchor="ls"
            )
            return int(max(0, right)), int(bottom - top)
        line = plain_text(line)
        if self.face is not None:
            x, _y, w, h = cv2.getTextSize(
                (0, 0), line, (0, px), self.face, px, 700 if bold else 400
            )
            return int(w + max(0, x)), int(h)
        font, scale, thickness = self._hershey(px, bold)
        (w, h), base = cv2.getTextSize(ascii_text(line), font, scale, thickness)
        return int(w), int(h + base)

    def draw(
        self, img: np.ndarray, line: str, org: tuple[int, int], color: BGR, px: int, bold: bool
    ) -> None:
        """Draw ``line`` with its baseline at ``org`` (x, y)."""
        cv2 = _cv2()
        if self.uses_truetype(line):
            self._draw_truetype(img, display_text(line), org, color, px, bold)
            return
        line = plain_text(line)
        if self.face is not None:
            cv2.putText(img, line, org, color, self.face, px, 700 if bold else 400)
            return
        font, scale, thickness = self._hershey(px, bold)
        cv2.putText(img, ascii_text(line), org, font, scale, color, thickness, cv2.LINE_AA)

    def _draw_truetype(
        self, img: np.ndarray, visual: str, org: tuple[int, int], color: BGR, px: int, bold: bool
    ) -> None:
        """Draw ``visual`` (shaped, in visual order) with Pillow: its coverage
        is blended in ``color`` into ``img``, in place."""
        import numpy as np
        from PIL import Image, ImageDraw

        font = self._pil_font(px, bold)
        left, top, right, bottom = font.getbbox(visual, anchor="ls")
        if right <= left or bottom <= top:
            return
        mask = Image.new("L", (right - left, bottom - top), 0)
        ImageDraw.Draw(mask).text((-left, -top), visual, fill=255, font=font, anchor="ls")
        x0, y0 = org[0] + left, org[1] + top
        height, width = img.shape[:2]
        cx0, cy0 = max(0, x0), max(0, y0)
        cx1, cy1 = min(width, x0 + mask.width), min(height, y0 + mask.height)
        if cx1 <= cx0 or cy1 <= cy0:
            return
        alpha = np.asarray(mask, dtype=np.float32)[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        alpha = alpha[..., None] / 255.0  # img is BGR: height x width x 3
        region = img[cy0:cy1, cx0:cx1]
        ink = np.array(color, dtype=np.float32)
        region[...] = np.rint(region * (1.0 - alpha) + ink * alpha).astype(np.uint8)


@lru_cache(maxsize=1)
def fonts() -> _Fonts:
    return _Fonts()


def fit_text(line: str, max_width: int, px: int, bold: bool = False) -> tuple[str, int]:
    """``line`` and a size at most ``px`` that fits in ``max_width``: the size
    shrinks down to half, then the line is cut with an ellipsis.

    ``line`` is in logical order and so is the cut: a name keeps its start and
    the ellipsis is at its logical end (the left one, for a right-to-left line).
    Widths are those of the string drawn (:meth:`_Fonts.size`)."""
    f = fonts()
    size = px
    while size > px // 2 and f.size(line, size, bold)[0] > max_width:
        size = max(px // 2, int(size * 0.9))
    if f.size(line, size, bold)[0] <= max_width:
        return line, size
    cut = line
    while len(cut) > 1 and f.size(cut + "…", size, bold)[0] > max_width:
        cut = cut[: max(1, int(len(cut) * 0.9))] if len(cut) > 20 else cut[:-1]
    return cut.rstrip() + "…", size


def _text_in(
    img: np.ndarray, line: str, rect: Rect, color: BGR, *, bold: bool, center: bool
) -> None:
    x, y, w, h = rect
    px = max(8, round(h * 0.8))
    line, px = fit_text(line, w, px, bold)
    tw, _th = fonts().size(line, px, bold)
    left = x + (w - tw) // 2 if center else x
    baseline = y + (h + round(px * 0.62)) // 2  # cap height ~0.7 px, centered
    fonts().draw(img, line, (left, baseline), color, px, bold)


# ---------------------------------------------------------------------------
# drawing


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    import numpy as np

    cv2 = _cv2()
    out: np.ndarray
    if frame.ndim == 2:
        out = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 4:
        out = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    else:
        out = np.array(frame, dtype=np.uint8, copy=True)
    return out


def draw_outlines(
    img: np.ndarray, outlines: tuple[tuple[Polygon, Outcome | None], ...], thickness: int
) -> None:
    import numpy as np

    cv2 = _cv2()
    for polygon, outcome in outlines:
        if len(polygon) < 2:
            continue
        color = BANNER_COLORS[outcome] if outcome else UNDECIDED_OUTLINE
        pts = np.array(polygon, dtype=np.int32).reshape(-1, 1, 2)
        cv2.polylines(img, [pts], True, (255, 255, 255), thickness + 4, cv2.LINE_AA)
        cv2.polylines(img, [pts], True, color, thickness, cv2.LINE_AA)


def status_line(items: tuple[str, ...]) -> str:
    """The status bar's text: ``items`` cleaned, left to right. LRMs around the
    separators keep two right-to-left items in that order (the bidi algorithm
    would otherwise read them, and the dot between, as one right-to-left run)."""
    sep = "\u200e   ·   \u200e"
    return "\u200e" + sep.join(clean_text(i, 120) for i in items if i)


def draw_status(img: np.ndarray, rect: Rect, items: tuple[str, ...], online: bool | None) -> None:
    cv2 = _cv2()
    x, y, w, h = rect
    region = img[y : y + h, x : x + w]
    shade = region.copy()
    shade[:] = STATUS_BG
    cv2.addWeighted(shade, 0.75, region, 0.25, 0, dst=region)
    r = max(3, h // 5)
    cv2.circle(img, (x + h // 2, y + h // 2), r, ONLINE_DOT[online], -1, cv2.LINE_AA)
    line = status_line(items)
    _text_in(img, line, (x + h, y + 1, w - h - 4, h - 2), STATUS_TEXT, bold=False, center=False)


def draw_banner(img: np.ndarray, lay: Layout, banner: Banner) -> None:
    cv2 = _cv2()
    x, y, w, h = lay.banner
    cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), BANNER_COLORS[banner.outcome], -1)
    color = BANNER_TEXT[banner.outcome]
    if banner.subtitle:
        _text_in(img, clean_text(banner.title, 80), lay.title, color, bold=True, center=True)
        _text_in(img, clean_text(banner.subtitle), lay.subtitle, color, bold=False, center=True)
    else:  # one line, centered, somewhat larger than a title
        tx, ty, tw, th = lay.title
        both = lay.subtitle[1] + lay.subtitle[3] - ty
        line_h = min(both, round(th * 1.3))
        rect = (tx, ty + (both - line_h) // 2, tw, line_h)
        _text_in(img, clean_text(banner.title, 80), rect, color, bold=True, center=True)


def render(frame: np.ndarray, state: ScreenState) -> np.ndarray:
    """``frame`` with ``state`` drawn over it, as a new BGR image (``frame`` is not changed)."""
    img = _as_bgr(frame)
    height, width = img.shape[:2]
    lay = layout(width, height)
    draw_outlines(img, state.outlines, max(2, round(min(width, height) / 160)))
    if state.status:
        draw_status(img, lay.status, state.status, state.online)
    if state.note:
        note_h = max(14, lay.status[3] - 4)
        top = lay.banner[1] - note_h - 4
        _text_in(
            img, state.note, (8, top, width - 16, note_h), STATUS_TEXT, bold=False, center=False
        )
    if state.direction is not None:
        draw_direction(img, lay, *state.direction)
    if state.banner is not None:
        draw_banner(img, lay, state.banner)
    return img


def direction_rect(lay: Layout) -> Rect:
    """Where the direction label goes: the top right corner, under the status bar."""
    width = lay.status[2]
    height = max(28, round(lay.banner[3] * 0.45))
    label_w = max(120, round(width * 0.28))
    return (width - label_w - 8, lay.status[3] + 8, label_w, height)


def draw_direction(img: np.ndarray, lay: Layout, label: str, out: bool) -> None:
    """The door's way, large, on a coloured plate (white text)."""
    cv2 = _cv2()
    x, y, w, h = direction_rect(lay)
    plate = DIRECTION_OUT if out else DIRECTION_IN
    cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), plate, -1)  # corners inclusive
    pad = max(2, h // 10)
    _text_in(
        img,
        label,
        (x + pad, y + pad, w - 2 * pad, h - 2 * pad),
        DIRECTION_TEXT,
        bold=True,
        center=True,
    )


# ---------------------------------------------------------------------------
# verdict -> banner


def banner_for(
    event: ScanEvent, lang: Lang = DEFAULT_LANG, organisation: str | None = None
) -> Banner:
    """The banner for an event, in ``lang``: see the module doc for the colors.

    At a booth the visitor's organisation follows the name."""
    verdict = event.verdict
    if verdict is None:
        return Banner("denied", text("store_error", lang), None)
    name = clean_text(verdict.name) if verdict.name else None
    if name and organisation:
        name = f"{name} · {clean_text(organisation)}"
    what = reason_text(verdict.reason, lang)
    if event.already_scanned:
        earlier = text("earlier_granted", lang) if verdict.granted else what
        subtitle = f"{name} · {earlier}" if name else earlier
        return Banner("warning", text("already_scanned", lang), subtitle)
    return Banner(event.outcome, what, name)


class NoteEditor:
    """Typing a note for the last visit in the window (booth kiosks).

    ``n`` opens the editor; printable keys type, Backspace erases, Enter gives
    the text to save, Esc cancels. While it is open, every key is text (``q``
    does not quit). Pure: it only interprets key codes, as ``cv2.waitKeyEx``
    gives them (modifier and function keys are 0xff00 and up: ignored).

    OpenCV's key events carry no reliable case under every X setup (under Xvfb
    with xdotool, capitals arrive in lower case): ``leads note`` sets an exact
    note from the command line.
    """

    ENTER = (10, 13)
    BACKSPACE = (8, 127)
    ESC = 27

    def __init__(self, max_len: int = 500) -> None:
        self.max_len = max_len
        self.client_id: str | None = None
        self.text = ""

    @property
    def active(self) -> bool:
        return self.client_id is not None

    def open(self, client_id: str, text: str = "") -> None:
        self.client_id, self.text = client_id, text

    def feed(self, key: int) -> tuple[str, str] | None:
        """Take a key; return ``(client_id, text)`` when the note is to be saved."""
        if self.client_id is None or key < 0:
            return None
        if key == self.ESC:
            self.client_id, self.text = None, ""
        elif key in self.ENTER:
            done = (self.client_id, self.text.strip())
            self.client_id, self.text = None, ""
            return done
        elif key in self.BACKSPACE:
            self.text = self.text[:-1]
        elif (32 <= key < 127 or 160 <= key < 0x3000) and len(self.text) < self.max_len:
            self.text += chr(key)
        return None


def banner_message(banner: Banner) -> str:
    """The banner as one line of text (the ``message`` of a printed verdict)."""
    return banner.title


# ---------------------------------------------------------------------------
# the window


_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype", "/usr/share/fonts")


def _qt_fonts() -> None:
    """opencv-python's Qt looks for fonts in its own (empty) folder and complains
    on every window: point it at the system's fonts, unless told otherwise."""
    if "QT_QPA_FONTDIR" in os.environ:
        return
    for candidate in _FONT_DIRS:
        if os.path.isdir(candidate):
            os.environ["QT_QPA_FONTDIR"] = candidate
            return


#: set to 0 to turn the paint watch off (see kiosk.x11)
PAINT_WATCH_ENV = "BADGEGATE_PAINT_WATCH"


class Window:
    """An OpenCV window showing rendered frames. Must be used from one thread
    (the main one, for most GUI back ends). On X, a :class:`~kiosk.x11.PaintWatch`
    makes sure the window is painted (the Qt of OpenCV's wheels can miss it)."""

    def __init__(self, title: str = "BadgeGate", *, fullscreen: bool = False) -> None:
        cv2 = _cv2()
        _qt_fonts()
        self.title = title
        self.fullscreen = False
        flags = cv2.WINDOW_GUI_NORMAL  # no toolbar or status bar (Qt builds)
        flags |= (cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO) if fullscreen else cv2.WINDOW_AUTOSIZE
        cv2.namedWindow(title, flags)
        self._resizable = fullscreen
        self._x11 = X11.open()
        self.watch: PaintWatch | None = None
        if self._x11 is not None and os.environ.get(PAINT_WATCH_ENV, "1") != "0":
            self.watch = PaintWatch(self._x11, title)
        self._shown = False
        if fullscreen:
            self.toggle_fullscreen()

    def show(self, image: np.ndarray, wait_ms: int = 10) -> int:
        """Show ``image``, handle window events for ``wait_ms``; the key pressed or -1."""
        cv2 = _cv2()
        cv2.imshow(self.title, image)
        if not self._shown and self.watch is not None:
            self.watch.arm()
        self._shown = True
        return self.wait(wait_ms)

    def wait(self, wait_ms: int = 10) -> int:
        """Handle window events for ``wait_ms`` without drawing; the key pressed or -1."""
        key = int(_cv2().waitKeyEx(max(1, wait_ms)))
        if self.watch is not None:
            self.watch.tick()
        return key

    def is_open(self) -> bool:
        """False once the user closed the window."""
        if not self._shown:
            return True
        try:
            return float(_cv2().getWindowProperty(self.title, _cv2().WND_PROP_VISIBLE)) >= 1
        except Exception:  # the window is gone
            return False

    def toggle_fullscreen(self) -> None:
        """Full screen on or off. A window manager does it; with none (a bare X
        session, as kiosks often run) the window is also sized to the screen."""
        cv2 = _cv2()
        if not self._resizable:
            return  # an autosized window shows the image 1:1 and cannot be resized
        self.fullscreen = not self.fullscreen
        mode = cv2.WINDOW_FULLSCREEN if self.fullscreen else cv2.WINDOW_NORMAL
        cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN, mode)
        size = self._x11.screen_size() if self.fullscreen and self._x11 is not None else None
        if size is not None and size[0] > 0 and size[1] > 0:
            cv2.moveWindow(self.title, 0, 0)
            cv2.resizeWindow(self.title, *size)
        if self._shown and self.watch is not None:
            self.watch.arm()

    def close(self) -> None:
        cv2 = _cv2()
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except Exception:
            pass
        if self._x11 is not None:
            self._x11.close()
            self._x11 = None
