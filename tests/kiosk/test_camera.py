"""kiosk.camera: the status bar from the store, tones, and run_kiosk headless."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from kiosk import camera
from kiosk.camera import KioskOptions, run_kiosk, status_items, tone_for
from kiosk.decide import record_scan
from kiosk.scanner import ScanEvent, Scanner
from kiosk.screen import Banner
from shared.decision import Reason
from shared.timefmt import iso
from tests.kiosk import world
from tests.kiosk.conftest import MakeStore
from tests.kiosk.test_scanner import A, FakeDecoder, ListSource
from tests.kiosk.test_screen import event, verdict

AT_TEN_THIRTY = world.NOW  # the keynote and the atelier are running


def test_status_bar_of_a_door(make_store: MakeStore) -> None:
    store = make_store(room=world.ROOM_A)
    items, online = status_items(store, "fr", AT_TEN_THIRTY)
    keynote = f"Session {world.S_KEYNOTE[:4]}"
    assert items == (
        f"Porte · Salle A · {keynote}",
        "jamais synchronisé",
        "aucune donnée synchronisée",
        "file : 0",
    )
    assert online is None
    later, _ = status_items(store, "en", AT_TEN_THIRTY + timedelta(hours=2))
    assert later[0] == "Door · Salle A · no session now"
    store.set_meta(online=True, last_sync_at=iso(AT_TEN_THIRTY))
    record_scan(store, world.qr(world.PAID), AT_TEN_THIRTY)
    items, online = status_items(store, "en", AT_TEN_THIRTY)
    assert items[1] == "online" and items[2].startswith("data from ") and items[3] == "queue: 1"
    assert online is True
    store.set_meta(revoked=True)
    items, online = status_items(store, "fr", AT_TEN_THIRTY)
    assert items[1] == "RÉVOQUÉ" and online is False


def test_status_bar_of_a_pinned_door_and_a_booth(make_store: MakeStore) -> None:
    pinned = make_store(pinned=world.S_ATELIER)
    items, _ = status_items(pinned, "fr", AT_TEN_THIRTY + timedelta(hours=5))
    assert items[0] == f"Porte · Salle B · Session {world.S_ATELIER[:4]}"  # pinned: always
    booth = make_store(mode="booth", room=None)
    items, _ = status_items(booth, "fr", AT_TEN_THIRTY)
    assert items[0] == f"Stand de Person {world.EXPOSANT}"
    assert status_items(booth, "en", AT_TEN_THIRTY)[0][0] == f"Booth of Person {world.EXPOSANT}"


@pytest.mark.parametrize(
    ("reason", "already", "tone"),
    [
        (Reason.GRANTED, False, "granted"),
        (Reason.NOT_IN_EVENT, False, "denied"),
        (Reason.PAYMENT_REQUIRED, False, "denied"),
        (Reason.GRANTED, True, "notice"),
    ],
)
def test_tones(reason: Reason, already: bool, tone: str) -> None:
    assert tone_for(event(verdict(reason), already)) == tone


def test_run_kiosk_headless_on_a_file(make_store: MakeStore) -> None:
    store = make_store(pinned=world.S_ATELIER)
    emitted: list[tuple[ScanEvent, Banner]] = []
    scanner = Scanner(FakeDecoder({i: [A] for i in range(10, 20)}), lambda p: record_scan(store, p))
    options = KioskOptions(headless=True, sound=False, lang="en")
    result = run_kiosk(
        store, ListSource(50, live=False), scanner, lambda e, b: emitted.append((e, b)), options
    )
    assert result.code == 0 and result.reason == "end of source"
    assert (result.frames_read, result.frames_processed, result.frames_dropped) == (50, 50, 0)
    assert [(e.frame_index, b.title) for e, b in emitted] == [(10, "Access granted")]
    assert result.line() == "end of source: 50 frames read, 50 decoded, 0 dropped; 1 verdicts"


def test_run_kiosk_says_when_a_camera_stops(make_store: MakeStore) -> None:
    store = make_store(pinned=world.S_ATELIER)
    scanner = Scanner(FakeDecoder({}), lambda p: record_scan(store, p))
    options = KioskOptions(headless=True, sound=False)
    result = run_kiosk(store, ListSource(5, live=True), scanner, lambda e, b: None, options)
    assert result.code == 1 and "stopped giving frames" in result.reason


class FakeWindow:
    """Records when an image is shown; never closed by the user."""

    def __init__(self, title: str = "", *, fullscreen: bool = False) -> None:
        self.shown: list[float] = []

    def show(self, image: object, wait_ms: int = 10) -> int:
        self.shown.append(time.monotonic())
        time.sleep(wait_ms / 1000)
        return -1

    def wait(self, wait_ms: int = 10) -> int:
        time.sleep(wait_ms / 1000)
        return -1

    def is_open(self) -> bool:
        return True

    def toggle_fullscreen(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_the_window_is_redrawn_while_nothing_changes(
    make_store: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a window resized or uncovered after the last frame must not stay blank: with
    # the source ended and the banner still up, the last image is shown again
    windows: list[FakeWindow] = []

    def make_window(*args: object, **kwargs: object) -> FakeWindow:
        windows.append(FakeWindow())
        return windows[-1]

    monkeypatch.setattr(camera, "Window", make_window)
    store = make_store(pinned=world.S_ATELIER)
    scanner = Scanner(FakeDecoder({4: [A]}), lambda p: record_scan(store, p))
    options = KioskOptions(headless=False, sound=False, lang="en", banner_seconds=1.6, pace=False)
    result = run_kiosk(store, ListSource(5, live=False), scanner, lambda e, b: None, options)
    assert result.code == 0 and result.reason == "end of source" and result.events == 1
    (window,) = windows
    gaps = [b - a for a, b in zip(window.shown, window.shown[1:], strict=False)]
    idle = [g for g in gaps if g > 0.2]  # redraws with nothing new to show
    assert len(idle) >= 2 and max(gaps) < camera.REDRAW_S + 0.4  # not the whole 1.6 s


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_status_items_never_raise_on_a_bare_store(make_store: MakeStore, lang: str) -> None:
    store = make_store(fill=False)
    items, _ = status_items(store, lang, AT_TEN_THIRTY)  # type: ignore[arg-type]
    assert len(items) == 4 and all(items)
