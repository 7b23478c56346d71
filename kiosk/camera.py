"""The camera kiosk: a frame source, the scanning pipeline, the screen, the tones.

:func:`run_kiosk` wires :mod:`kiosk.sources`, :mod:`kiosk.scanner`,
:mod:`kiosk.screen` and :mod:`kiosk.sound` together and runs until the
source ends (a file), the window is closed (``q``, Esc, or the close button),
or Ctrl-C. The caller (``badgegate-kiosk run``) owns the store and the
syncer and prints each verdict through ``emit``; decoding never runs on the
thread that draws the window (see :class:`kiosk.scanner.Pipeline`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.i18n import DEFAULT_LANG, Lang, data_age, text
from kiosk.scanner import Pipeline, ScanEvent, Scanner
from kiosk.screen import Banner, NoteEditor, ScreenState, Window, banner_for, render
from kiosk.sound import Beeper, Tone
from shared.sync import pick_session
from shared.timefmt import utcnow

if TYPE_CHECKING:
    import numpy as np

    from kiosk.sources import FrameSource
    from kiosk.store import KioskStore

log = logging.getLogger(__name__)

DEFAULT_BANNER_S = 3.0
#: outlines older than this are not drawn (the decoder has moved on)
OUTLINE_TTL_S = 0.4
#: the status bar is read from the store at most this often
STATUS_REFRESH_S = 1.0
#: the last image is shown again this often even when nothing changed: a window
#: resized (going full screen) or uncovered is never left blank
REDRAW_S = 0.5
#: ``--screenshot`` may also come from this variable
SCREENSHOT_ENV = "BADGEGATE_KIOSK_SCREENSHOT"

EmitFn = Callable[[ScanEvent, Banner], None]


@dataclass(slots=True)
class KioskOptions:
    headless: bool = False
    fullscreen: bool = False
    lang: Lang = DEFAULT_LANG
    banner_seconds: float = DEFAULT_BANNER_S
    #: play a tone per verdict (where the machine can)
    sound: bool = True
    #: save each rendered frame that first shows a new banner here
    #: (``{n}`` in the name: the verdict's number, else the file is overwritten)
    screenshot: str | None = None
    #: play a file at its frame rate (default: in a window, yes; headless, no)
    pace: bool | None = None
    title: str = "BadgeGate"


@dataclass(slots=True)
class RunResult:
    #: 0: the source ended or the window was closed; 1: the source or the scanner failed
    code: int
    frames_read: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    events: int = 0
    #: why the run stopped, for the log line
    reason: str = ""
    screenshots: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.reason}: {self.frames_read} frames read, {self.frames_processed} decoded,"
            f" {self.frames_dropped} dropped; {self.events} verdicts"
        )


def tone_for(event: ScanEvent) -> Tone:
    if event.already_scanned:
        return "notice"
    return "granted" if event.outcome == "granted" else "denied"


def direction_label(way: str, lang: Lang = DEFAULT_LANG) -> tuple[str, bool]:
    """The door's way as the window shows it: its label and whether it is an exit."""
    return text("direction_out" if way == "out" else "direction_in", lang), way == "out"


def status_items(
    store: KioskStore, lang: Lang = DEFAULT_LANG, now: datetime | None = None
) -> tuple[tuple[str, ...], bool | None]:
    """The status bar: (place, online state, data age, queue) and the online flag."""
    meta = store.meta()
    at = now or utcnow()
    offset = meta.get("clock_offset_ms")
    if offset:
        with contextlib.suppress(ValueError):
            at += timedelta(milliseconds=int(offset))
    if meta.get("mode") == "booth":
        who = None
        exposant = meta.get("exposant_user_id")
        if exposant and exposant.isdigit():
            member = store.member(int(exposant))
            who = member.get("name") if member else None
        place = text("booth_of", lang, name=who) if who else text("booth", lang)
    else:
        room_id = meta.get("room_id")
        room = meta.get("room_name")
        if not room and room_id:
            record = store.room(room_id)
            room = str(record.get("name")) if record and record.get("name") else room_id
        pinned = meta.get("pinned_session_id")
        if pinned:
            session = store.session(pinned)
        elif room_id:
            session = pick_session(store.sessions_in_room(room_id, at), room_id, at)
        else:
            session = None
        title = session.get("title") if session else None
        parts = [text("door", lang), room or "?", str(title) if title else text("no_session", lang)]
        place = " · ".join(parts)
    online_flag = meta.get("online")
    online: bool | None = None if online_flag is None else online_flag == "1"
    if meta.get("revoked") == "1":
        state, online = text("revoked", lang), False
    elif online is None:
        state = text("never_synced", lang)
    else:
        state = text("online" if online else "offline", lang)
    items = (
        place,
        state,
        data_age(meta.get("last_sync_at"), lang),
        text("queue", lang, n=store.queue_length()),
    )
    return items, online


class _Latest:
    """The last event, handed from the decode thread to the display."""

    def __init__(self) -> None:
        self.event: ScanEvent | None = None
        self.count = 0
        self.lock = threading.Lock()

    def set(self, event: ScanEvent) -> None:
        with self.lock:
            self.event = event
            self.count += 1

    def get(self) -> tuple[ScanEvent | None, int]:
        with self.lock:
            return self.event, self.count


def _save(path: str, number: int, image: np.ndarray) -> str:
    """Write ``image`` to ``path`` (``{n}`` -> ``number``) atomically; the path written."""
    import cv2

    target = Path(path.replace("{n}", str(number)))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.stem}.partial{target.suffix or '.png'}")
    if not cv2.imwrite(str(partial), image):
        raise OSError(f"cannot write {partial}")
    os.replace(partial, target)
    return str(target)


def _placeholder(width: int = 1280, height: int = 720) -> np.ndarray:
    import numpy as np

    return np.full((height, width, 3), 32, dtype=np.uint8)


def run_kiosk(
    store: KioskStore,
    source: FrameSource,
    scanner: Scanner,
    emit: EmitFn,
    options: KioskOptions,
) -> RunResult:
    """Scan ``source`` until it ends, the window closes, or KeyboardInterrupt (re-raised
    after a clean stop). ``scanner.on_event`` is set here: each event is emitted,
    beeped and shown."""
    lang = options.lang
    latest = _Latest()
    beeper = Beeper(options.sound)

    def on_event(event: ScanEvent) -> None:
        banner = banner_for(event, lang, _organisation(store, event))
        latest.set(event)
        emit(event, banner)
        beeper.play(tone_for(event))

    scanner.on_event = on_event
    pace = (not options.headless) if options.pace is None else options.pace
    pipeline = Pipeline(source, scanner, pace=pace)
    result = RunResult(code=0)
    pipeline.start()
    try:
        if options.headless:
            while not pipeline.wait(0.2):
                pass
            result.reason = "end of source"
        else:
            _window_loop(store, source, scanner, pipeline, latest, options, result)
    finally:
        pipeline.stop()
        beeper.close()
        result.frames_read = pipeline.frames_read
        result.frames_processed = pipeline.frames_processed
        result.frames_dropped = pipeline.frames_dropped
        result.events = latest.get()[1]
    if pipeline.error is not None:
        result.code, result.reason = 1, f"stopped by an error ({pipeline.error!r})"
    elif source.live and result.reason in ("end of source", ""):
        result.code, result.reason = 1, f"{source.description} stopped giving frames"
    return result


def _organisation(store: KioskStore, event: ScanEvent) -> str | None:
    """The visitor's organisation, shown at a booth (None elsewhere or unknown)."""
    verdict = event.verdict
    if verdict is None or verdict.user_id is None or not verdict.granted:
        return None
    try:
        if store.place().mode != "booth":
            return None
        member = store.member(verdict.user_id)
    except Exception:
        return None
    return str(member.get("organisation") or "") or None if member else None


def _visit_id(event: ScanEvent | None) -> str | None:
    """The scan id of a granted, newly recorded visit (the one a note goes to)."""
    if event is None or event.scan is None or event.already_scanned or event.verdict is None:
        return None
    return str(event.scan.client_id) if event.verdict.granted else None


def _booth_note(
    editor: NoteEditor,
    event: ScanEvent | None,
    banner: Banner | None,
    since_saved: float,
    lang: Lang,
) -> str | None:
    """The line above the banner at a booth: the note being typed, or a hint."""
    if editor.active:
        return text("note_prompt", lang).format(text=editor.text)
    if since_saved < 2.0:
        return text("note_saved", lang)
    if banner is not None and _visit_id(event) is not None:
        return text("note_hint", lang)
    return None


def _window_loop(
    store: KioskStore,
    source: FrameSource,
    scanner: Scanner,
    pipeline: Pipeline,
    latest: _Latest,
    options: KioskOptions,
    result: RunResult,
) -> None:
    lang = options.lang
    window = Window(options.title, fullscreen=options.fullscreen)
    screenshot = options.screenshot
    shot_for = 0  # the event count last captured
    status: tuple[str, ...] = ()
    online: bool | None = None
    status_at = float("-inf")
    status_for = -1  # the event count when the status bar was read
    drawn: tuple[object, ...] = ()  # what the window shows now
    drawn_at = float("-inf")
    booth = store.place().mode == "booth"
    way = store.place().direction
    editor = NoteEditor()
    saved_at = float("-inf")
    try:
        while True:
            now = time.monotonic()
            event, count = latest.get()
            if now - status_at >= STATUS_REFRESH_S or count != status_for:
                status_at, status_for = now, count  # a verdict changes the queue length
                try:
                    status, online = status_items(store, lang)
                except Exception:  # the status bar must never stop the scanning
                    log.exception("status bar")
            frame = pipeline.latest
            banner = None
            if event is not None and now - event.monotonic < options.banner_seconds:
                banner = banner_for(event, lang, _organisation(store, event))
            overlay = scanner.overlay
            outlines = overlay.codes if now - overlay.monotonic < OUTLINE_TTL_S else ()
            done = pipeline.finished.is_set()
            note = text("end_of_source", lang) if done and not source.live else None
            if booth:
                note = _booth_note(editor, event, banner, now - saved_at, lang) or note
            way_label = None if booth else direction_label(way, lang)
            visible = (
                frame.index if frame is not None else None,
                count if banner is not None else None,
                overlay.frame_index if outlines else None,
                status,
                online,
                note,
                way,
            )
            if visible == drawn and now - drawn_at < REDRAW_S:
                key = window.wait(15)  # nothing new to draw: only handle the window's events
            else:
                drawn, drawn_at = visible, now
                image = frame.image if frame is not None else _placeholder()
                shown = render(
                    image, ScreenState(outlines, banner, status, online, note, way_label)
                )
                key = window.show(shown, 15)
                if screenshot and banner is not None and count != shot_for:
                    shot_for = count  # the exact image shown, when a new banner appears
                    try:
                        result.screenshots.append(_save(screenshot, count, shown))
                    except Exception as exc:
                        log.warning("screenshot not saved: %s", exc)
            if editor.active:
                typed = editor.feed(key)
                if typed is not None:
                    try:
                        store.set_note(*typed)
                        saved_at = time.monotonic()
                    except Exception as exc:  # a note must never stop the scanning
                        log.warning("note not saved: %s", exc)
                drawn = ()  # redraw the typed text
                continue
            if booth and key in (ord("n"), ord("N")) and _visit_id(event) is not None:
                editor.open(_visit_id(event) or "")
                drawn = ()
                continue
            if key in (ord("q"), ord("Q"), 27):
                result.reason = "closed (key)"
                return
            if key in (ord("f"), ord("F")):
                window.toggle_fullscreen()
            if not booth and key in (ord("d"), ord("D")):
                way = "out" if way == "in" else "in"
                try:
                    store.set_meta(direction=way)  # the next scans go this way
                except Exception as exc:
                    log.warning("direction not saved: %s", exc)
                    way = store.place().direction
                drawn = ()
            if not window.is_open():
                result.reason = "closed (window)"
                return
            if done and (banner is None or pipeline.error is not None):
                result.reason = "end of source"
                return
    finally:
        window.close()
