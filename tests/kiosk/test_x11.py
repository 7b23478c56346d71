"""kiosk.x11.PaintWatch against a scripted window server and clock (the real X
server is in test_window.py)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from kiosk import x11
from kiosk.x11 import (
    CHECK_S,
    FLAT_S,
    MAX_MISSES,
    MAX_REMAPS,
    X11,
    PaintWatch,
    is_flat,
    pixel_values,
)

BLANK = np.zeros((4, 6), np.uint32)
PAINTED = np.arange(24, dtype=np.uint32).reshape(4, 6)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Server:
    """A window server whose window shows ``BLANK`` until remapped ``heal_after`` times."""

    def __init__(self, *, heal_after: int | None = 1, found_after: int = 0) -> None:
        self.heal_after = heal_after
        self.found_after = found_after
        self.finds: list[tuple[str, int]] = []
        self.reads = 0
        self.remapped: list[int] = []
        self.viewable = True

    def find_window(self, title: str, pid: int) -> int | None:
        self.finds.append((title, pid))
        return 42 if len(self.finds) > self.found_after else None

    def pixels(self, window: int) -> np.ndarray | None:
        assert window == 42
        self.reads += 1
        if not self.viewable:
            return None
        healed = self.heal_after is not None and len(self.remapped) >= self.heal_after
        return PAINTED if healed else BLANK

    def remap(self, window: int) -> None:
        self.remapped.append(window)


def run(watch: PaintWatch, clock: Clock, seconds: float, step: float = 0.05) -> None:
    """Frames shown every ``step`` for ``seconds``: one tick each."""
    for _ in range(round(seconds / step)):
        clock.now += step
        watch.tick()


def test_is_flat() -> None:
    assert is_flat(BLANK) and is_flat(np.full((3, 3), 7, np.uint32))
    assert not is_flat(PAINTED)
    one_off = BLANK.copy()
    one_off[3, 5] = 1
    assert not is_flat(one_off)


@pytest.mark.parametrize("bpp", [16, 24, 32])
def test_pixel_values_of_a_z_pixmap(bpp: int) -> None:
    # 3x2 pixels, rows padded to 4-byte lines, least significant byte first
    step = bpp // 8
    pixels = np.array([[0x0102, 0x0304, 0x0506], [0x0708, 0x090A, 0x0B0C]], np.uint32)
    if bpp > 16:
        pixels |= np.uint32(0xAA0000)
    stride = (3 * step + 3) // 4 * 4
    raw = bytearray(stride * 2)
    for r in range(2):
        for c in range(3):
            value = int(pixels[r, c]) | (0x55000000 if bpp == 32 else 0)  # padding byte
            raw[r * stride + c * step : r * stride + (c + 1) * step] = value.to_bytes(
                step, "little"
            )
    mask = {16: 0xFFFF, 24: 0xFFFFFF, 32: 0xFFFFFF}[bpp]
    got = pixel_values(bytes(raw), 3, 2, stride, bpp, mask)
    assert got.shape == (2, 3) and (got == pixels).all()


def test_idle_until_armed() -> None:
    clock, server = Clock(), Server()
    watch = PaintWatch(server, "Kiosk", pid=7, clock=clock)
    run(watch, clock, 5)
    assert not watch.armed and server.reads == 0 and server.finds == []


def test_a_painted_window_is_read_once_and_left_alone() -> None:
    clock, server = Clock(), Server(heal_after=0)
    watch = PaintWatch(server, "Kiosk", pid=7, clock=clock)
    watch.arm()
    run(watch, clock, CHECK_S - 0.1)
    assert server.reads == 0  # the first look waits for the first paint
    run(watch, clock, 10)
    assert server.finds == [("Kiosk", 7)] and server.reads == 1
    assert server.remapped == [] and not watch.armed


def test_a_blank_window_is_mapped_again_after_a_second_then_confirmed() -> None:
    clock, server = Clock(), Server(heal_after=1)
    watch = PaintWatch(server, "Kiosk", pid=7, clock=clock)
    watch.arm()
    run(watch, clock, CHECK_S + FLAT_S - 0.1)
    assert server.reads >= 2 and server.remapped == []  # flat, but not for long yet
    run(watch, clock, CHECK_S + 0.1)  # the next look after a second of flat
    assert server.remapped == [42]
    run(watch, clock, 10)
    assert server.remapped == [42] and watch.remaps == 1 and not watch.armed


def test_a_window_that_stays_blank_is_given_up_on(caplog: pytest.LogCaptureFixture) -> None:
    clock, server = Clock(), Server(heal_after=None)
    watch = PaintWatch(server, "Kiosk", pid=7, clock=clock)
    watch.arm()
    with caplog.at_level(logging.WARNING, logger=x11.__name__):
        run(watch, clock, 60)
    assert len(server.remapped) == MAX_REMAPS and not watch.armed
    assert "still blank" in caplog.text
    reads = server.reads
    run(watch, clock, 10)
    assert server.reads == reads  # no more looks


def test_a_window_not_found_is_looked_for_then_not_remapped() -> None:
    clock, server = Clock(), Server(found_after=3)
    watch = PaintWatch(server, "Kiosk", pid=7, clock=clock)
    watch.arm()
    run(watch, clock, CHECK_S * 4 + FLAT_S + 0.5)
    assert len(server.finds) >= 4 and server.remapped == [42]

    clock, lost = Clock(), Server(found_after=10**6)
    watch = PaintWatch(lost, "Kiosk", pid=7, clock=clock)
    watch.arm()
    run(watch, clock, CHECK_S * (MAX_MISSES + 5))
    assert len(lost.finds) == MAX_MISSES and lost.reads == 0 and not watch.armed


def test_an_unviewable_window_is_not_remapped() -> None:
    clock, server = Clock(), Server()
    server.viewable = False  # minimised, or on its way to the screen
    watch = PaintWatch(server, "Kiosk", pid=7, clock=clock)
    watch.arm()
    run(watch, clock, 5)
    assert server.remapped == [] and server.reads >= 5 and watch.armed
    server.viewable = True
    run(watch, clock, 5)
    assert server.remapped == [42] and not watch.armed


def test_arming_again_checks_again() -> None:
    clock, server = Clock(), Server(heal_after=1)
    watch = PaintWatch(server, "Kiosk", pid=7, clock=clock)
    watch.arm()
    run(watch, clock, 5)
    assert server.remapped == [42] and not watch.armed
    server.heal_after = 2  # the switch to full screen left it blank again
    watch.arm()
    run(watch, clock, 5)
    assert server.remapped == [42, 42] and watch.remaps == 1 and not watch.armed


def test_no_display_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    assert X11.open() is None
