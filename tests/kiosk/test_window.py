"""The real window, under Xvfb: ``badgegate-kiosk run --video`` (not headless).

The test starts its own X server (``Xvfb -displayfd``: Xvfb picks a free
display number and tells it), runs the kiosk on a short video with one
granted badge, and checks what was on screen twice: the frame the kiosk
passed to ``cv2.imshow`` when the banner appeared (its hidden
``--screenshot`` option), and a real screenshot of the X screen taken
meanwhile with ``xwd`` (package x11-apps) when it is installed.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.screen import BANNER_COLORS, Banner, ScreenState, layout, render
from kiosk.store import KioskStore
from tests.kiosk import world
from tests.kiosk.conftest import closed_port_url, provision
from tests.kiosk.videos import Shot, kiosk_command, write_video
from tests.kiosk.xserver import WINDOW_BAR, WINDOW_GREEN, XVFB, XvfbError, window_child, xvfb

XWD = shutil.which("xwd")
SCREEN = (1280, 1024)
VIDEO = (640, 480)
GREEN = BANNER_COLORS["granted"]

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="Xvfb runs on Linux"),
    pytest.mark.skipif(XVFB is None, reason="Xvfb is not installed (apt-get install xvfb)"),
]
needs_xwd = pytest.mark.skipif(
    XWD is None, reason="xwd is not installed (apt-get install x11-apps): no X screenshot"
)


def read_xwd(data: bytes) -> np.ndarray:
    """A TrueColor XWD screenshot (``xwd -root``: 24 or 32 bits per pixel) as BGR."""
    fields = struct.unpack(">25I", data[:100])
    header_size, version, pixmap_format, _depth, width, height = fields[:6]
    byte_order, bits_per_pixel, bytes_per_line = fields[7], fields[11], fields[12]
    masks, ncolors = fields[14:17], fields[19]
    stride = bits_per_pixel // 8
    assert version == 7 and pixmap_format == 2 and stride in (3, 4), fields
    start = header_size + 12 * ncolors
    raw = np.frombuffer(data, np.uint8, height * bytes_per_line, start)
    pixels = raw.reshape(height, bytes_per_line)[:, : width * stride].reshape(height, width, stride)
    # each channel's byte in a pixel, from its mask (red 0xff0000: byte 2 if LSBFirst)
    shift = [(m & -m).bit_length() - 1 for m in masks]  # red, green, blue
    index = [s // 8 if byte_order == 0 else stride - 1 - s // 8 for s in shift]
    return np.ascontiguousarray(pixels[:, :, [index[2], index[1], index[0]]])


def share_of(img: np.ndarray, color: tuple[int, int, int], tol: int = 12) -> float:
    close = np.all(np.abs(img.astype(int) - np.array(color)) <= tol, axis=-1)
    return float(close.mean())


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A fresh X server on a display number it chose itself (free by construction)."""
    try:
        with xvfb(SCREEN) as name:
            yield name
    except XvfbError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A door kiosk (room B, the paid atelier) and a 2.4 s video: 0.4 s of room,
    1.5 s of a granted badge (Person 2), 0.5 s of room."""
    base = tmp_path_factory.mktemp("window")
    with KioskStore(base / "kiosk") as store:
        provision(store, server_url=closed_port_url(), pinned=world.S_ATELIER)
    shots = [Shot((), 6), Shot([world.qr(world.PAID)], 22, "paid"), Shot((), 8)]
    write_video(base / "door.avi", shots, fps=15, resolution=VIDEO)
    return base / "kiosk", base / "door.avi"


@dataclass
class WindowRun:
    code: int
    verdicts: list[dict[str, Any]]
    stderr: str
    #: the frame shown when the banner appeared, from the kiosk itself
    shown: np.ndarray | None
    #: the whole X screen meanwhile (None without xwd)
    screen: np.ndarray | None


BANNER_S = 6


def run_window(
    display: str,
    data_dir: Path,
    video: Path,
    shot: Path,
    *extra: str,
    settled: Callable[[np.ndarray], bool] | None = None,
) -> WindowRun:
    """Run the windowed kiosk on one badge video; grab the X screen while the
    verdict's banner is up (again every 0.1 s, for up to 5 s of its 6, until
    ``settled(screen)``: on a busy machine the window may take seconds to show
    the banner, or to go full screen)."""
    args = ["run", "--video", str(video), "--no-sound", "--banner-seconds", str(BANNER_S)]
    proc = subprocess.Popen(
        kiosk_command(data_dir, *args, "--screenshot", str(shot), *extra),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "DISPLAY": display, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        first = proc.stdout.readline() if ready else b""
        screen = None
        if first:  # the verdict is out: its banner is on screen for BANNER_S
            deadline = time.monotonic() + 2
            while not shot.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            if XWD is not None:
                grab = [XWD, "-root", "-silent", "-display", display]
                until = time.monotonic() + BANNER_S - 1
                while True:
                    done = subprocess.run(grab, capture_output=True, timeout=10)
                    screen = read_xwd(done.stdout)
                    if settled is None or settled(screen) or time.monotonic() > until:
                        break
                    time.sleep(0.1)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    lines = [json.loads(x) for x in (first + out).decode().splitlines() if x.strip()]
    shown = cv2.imread(str(shot)) if shot.exists() else None
    return WindowRun(proc.returncode, lines, err.decode(), shown, screen)


@pytest.fixture(scope="module")
def windowed(
    display: str, kiosk: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> WindowRun:
    shot = tmp_path_factory.mktemp("shots") / "banner.png"
    _x, _y, w, h = layout(*VIDEO).banner

    def banner_up(screen: np.ndarray) -> bool:  # half a banner's worth of green at least
        return share_of(screen, GREEN) * screen.shape[0] * screen.shape[1] > 0.5 * w * h

    return run_window(display, *kiosk, shot, settled=banner_up)


def changed(a: np.ndarray, b: np.ndarray) -> int:
    """How many pixels differ by more than 60 in some channel (text versus fill)."""
    return int((np.abs(a.astype(int) - b.astype(int)).max(axis=-1) > 60).sum())


def expected_banner(name: str | None) -> np.ndarray:
    """The banner region as the kiosk draws it for Person 2's verdict (or another name)."""
    w, h = VIDEO
    img = render(
        np.zeros((h, w, 3), np.uint8), ScreenState(banner=Banner("granted", "Accès autorisé", name))
    )
    x, y, bw, bh = layout(w, h).banner
    return img[y : y + bh, x : x + bw]


def test_the_window_shows_a_green_banner_with_the_name(windowed: WindowRun) -> None:
    assert windowed.code == 0, windowed.stderr
    assert [(v["reason"], v["name"]) for v in windowed.verdicts] == [("granted", "Person 2")]
    shown = windowed.shown
    assert shown is not None, "the kiosk saved no screenshot: " + windowed.stderr[-800:]
    assert shown.shape == (VIDEO[1], VIDEO[0], 3)
    x, y, w, h = layout(*VIDEO).banner
    banner = shown[y : y + h, x : x + w]
    assert share_of(banner, GREEN) > 0.6  # green dominates the banner
    # the name is drawn: the banner is the one drawn for "Person 2", pixel for
    # pixel, and clearly not the one for another name, or for no name
    assert changed(banner, expected_banner("Person 2")) < 20
    assert changed(banner, expected_banner("Person 3")) > 100  # one digit differs
    assert changed(banner, expected_banner(None)) > 1000
    assert share_of(banner, GREEN) < 0.97  # text on it, not a plain rectangle
    # the code is outlined in green above the banner, and the status bar is there
    assert share_of(shown[:y], GREEN, tol=30) > 0.001
    status = shown[: layout(*VIDEO).status[3]]
    assert status.mean() < 110  # the dark status bar


@needs_xwd
def test_a_real_x_screenshot_shows_the_same_banner(windowed: WindowRun) -> None:
    assert windowed.screen is not None and windowed.shown is not None
    screen = windowed.screen
    assert screen.shape == (SCREEN[1], SCREEN[0], 3)
    x, y, w, h = layout(*VIDEO).banner
    banner = np.ascontiguousarray(windowed.shown[y : y + h, x : x + w])
    # find the window's banner on the X screen: it is the kiosk's image, 1:1
    scores = cv2.matchTemplate(screen, banner, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    assert best > 0.95, (best, windowed.stderr[-1500:])
    on_screen = screen[by : by + h, bx : bx + w]
    assert share_of(on_screen, GREEN) > 0.6
    assert np.abs(on_screen.astype(int) - banner.astype(int)).mean() < 2.0


@needs_xwd
def test_fullscreen_fills_the_screen_even_without_a_window_manager(
    display: str, kiosk: tuple[Path, Path], tmp_path: Path
) -> None:
    # rows of the screen that are banner green from edge to edge: the banner,
    # scaled from 640 to 1280 pixels wide (a third of the 960-pixel picture)
    def green_rows(screen: np.ndarray) -> int:
        rows = [share_of(screen[r : r + 1], GREEN) for r in range(SCREEN[1])]
        return sum(1 for share in rows if share > 0.6)

    def filled(screen: np.ndarray) -> bool:
        return green_rows(screen) > 0.5 * layout(*VIDEO).banner[3] * 2

    run = run_window(display, *kiosk, tmp_path / "full.png", "--fullscreen", settled=filled)
    assert run.code == 0, run.stderr
    assert run.screen is not None
    assert filled(run.screen), (green_rows(run.screen), run.stderr[-1500:])


XDOTOOL = shutil.which("xdotool")


def _start_windowed(
    data_dir: Path, display: str, *args: str
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """``badgegate-kiosk run`` with a window on ``display``, its output piped."""
    env = {**os.environ, "DISPLAY": display, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        kiosk_command(data_dir, "run", *args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    return proc, env


def _next_verdict(proc: subprocess.Popen[bytes], seconds: float = 30) -> dict[str, Any]:
    """The next JSON line the kiosk prints, or {} if none comes in time."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], seconds)
    return json.loads(proc.stdout.readline()) if ready else {}


def _direction(data_dir: Path) -> str:
    with KioskStore(data_dir) as store:
        return store.place().direction


def _focus_command(env: dict[str, str]) -> list[str]:
    """The xdotool command that gives the kiosk's window the keyboard focus."""
    assert XDOTOOL is not None
    found = subprocess.run(
        [XDOTOOL, "search", "--sync", "--name", "BadgeGate"],
        capture_output=True,
        text=True,
        timeout=10,
        env=env,
    ).stdout.split()
    assert found, "the kiosk window was not found"
    return [XDOTOOL, "windowfocus", "--sync", found[0]]


@pytest.mark.skipif(XDOTOOL is None, reason="xdotool is not installed (apt-get install xdotool)")
def test_a_note_typed_in_the_booth_window_is_kept_for_the_visit(
    display: str, tmp_path: Path
) -> None:
    """At a booth, n then text then Enter in the real window stores the visit's note."""
    assert XDOTOOL is not None
    with KioskStore(tmp_path / "booth") as store:
        provision(store, mode="booth", room=None, server_url=closed_port_url())
    video = tmp_path / "booth.avi"
    write_video(
        video,
        [Shot((), 4), Shot([world.qr(world.PAID)], 20), Shot((), 6)],
        fps=15,
        resolution=VIDEO,
    )
    args = ["--video", str(video), "--no-sound", "--banner-seconds", "12"]
    proc, env = _start_windowed(tmp_path / "booth", display, *args)
    try:
        first = _next_verdict(proc)
        assert first.get("status") == "granted", first
        xdo = _focus_command(env)
        time.sleep(1.5)  # past the window's first seconds, when it may be mapped again
        subprocess.run(xdo, check=True, timeout=10, env=env)
        # at a person's pace (about 6 keys a second): OpenCV hands the window loop
        # one key per wait, so a burst of keys within one loop turn keeps only the
        # last (under load, "n" then "S" sent together lost the "n")
        # (and the focus given again before each burst: a window mapped again by the
        # paint watch on a busy machine gets it back, but keys sent meanwhile go nowhere)
        pace = ["--delay", "300"]
        typing = [["key", "n"], ["key", "shift+s"], ["type", *pace, "tand b4"]]
        typing.append(["key", *pace, "BackSpace", "5"])  # a typo, erased and retyped
        for keys in [*typing, ["key", "Return"]]:
            subprocess.run(xdo, check=True, timeout=10, env=env)
            subprocess.run([XDOTOOL, *keys], check=True, timeout=20, env=env)
            time.sleep(0.5)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    with KioskStore(tmp_path / "booth") as store:
        visit = store.visit(first["client_id"])
        # Shift itself is not text; case is the X setup's (lower case under Xvfb)
        assert visit is not None and visit["notes"].lower() == "stand b5", err.decode()[-1500:]
        pending = store.pending(10)
        notes = [s.notes for s in pending if str(s.client_id) == first["client_id"]]
        assert notes == [visit["notes"]]


# -- the kiosk's own X connection (kiosk.x11) -------------------------------------------

TITLE = "BadgeGate – Entrée ✓"  # not ASCII: found by its UTF-8 _NET_WM_NAME


def _until(probe: Callable[[], Any], seconds: float = 15) -> Any:
    """The first value of ``probe()`` that is not None, or its last after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _majority(pixels: np.ndarray) -> tuple[int, float]:
    """The most common pixel value and its share."""
    values, counts = np.unique(pixels, return_counts=True)
    return int(values[counts.argmax()]), float(counts.max() / pixels.size)


def test_the_kiosk_finds_reads_and_remaps_its_own_window(
    display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.x11 import X11, is_flat

    monkeypatch.setenv("DISPLAY", display)
    child = subprocess.Popen(
        window_child(TITLE),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "DISPLAY": display},
    )
    try:
        x = X11.open()
        assert x is not None
        with x:
            assert x.screen_size() == SCREEN
            window = _until(lambda: x.find_window(TITLE, child.pid))
            assert window, "the window was not found by title and process id"
            assert x.find_window(TITLE, child.pid + 1) is None
            assert x.find_window(TITLE + "!", child.pid) is None

            def painted() -> np.ndarray | None:
                """The window once X shows what was drawn: mostly (0, 200, 0) BGR,
                0x00c800 to X (Qt may be seen half way through its first paint)."""
                pixels = x.pixels(window)
                if pixels is None or is_flat(pixels):
                    return None
                value, share = _majority(pixels)
                return pixels if value == WINDOW_GREEN and share > 0.9 else None

            pixels = _until(painted)
            assert pixels is not None, ("never painted", x.pixels(window))
            assert pixels.shape == (240, 320)
            assert (pixels == 0xFFFFFF).sum() == WINDOW_BAR  # the white bar, to the pixel

            if XDOTOOL is not None:  # someone is typing in it (a booth note)
                focus = [XDOTOOL, "windowfocus", "--sync", str(window)]
                subprocess.run(focus, check=True, timeout=10, env={"DISPLAY": display})
                assert x.focus() == window
            # what the paint watch does: unmapped, the window's place is the black
            # root; mapped again, it is green only once Qt has painted it again
            x.remap(window)
            assert _until(painted) is not None
            if XDOTOOL is not None:  # and the keys typed next still reach it
                assert x.focus() == window
        out, err = child.communicate(b"stop\n", timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == 0, err.decode()[-800:]
    # the remap did not look like a closed window to the kiosk
    assert json.loads(out.splitlines()[-1])["open"] is True


@pytest.mark.skipif(XDOTOOL is None, reason="xdotool is not installed (apt-get install xdotool)")
def test_d_in_the_door_window_switches_the_scans_to_exits(display: str, tmp_path: Path) -> None:
    """At a door, d turns the next scans into exits (kept in the store): the unpaid
    badge the atelier's door refuses on the way in passes on the way out."""
    assert XDOTOOL is not None
    with KioskStore(tmp_path / "door") as store:
        provision(store, server_url=closed_port_url(), pinned=world.S_ATELIER)
    video = tmp_path / "door.avi"
    write_video(
        video,
        [
            Shot((), 4),
            Shot([world.qr(world.UNPAID)], 15),
            Shot((), 120),  # 8 s to press d
            Shot([world.qr(world.UNPAID)], 15),
            Shot((), 6),
        ],
        fps=15,
        resolution=VIDEO,
    )
    args = ["--video", str(video), "--no-sound", "--rescan-after", "1"]
    proc, env = _start_windowed(tmp_path / "door", display, *args)
    try:
        entry = _next_verdict(proc)
        assert (entry.get("reason"), entry.get("direction")) == ("payment_required", "in"), entry
        xdo = _focus_command(env)
        for _attempt in range(3):  # a key sent while the window is remapped goes nowhere
            subprocess.run(xdo, check=True, timeout=10, env=env)
            subprocess.run([XDOTOOL, "key", "d"], check=True, timeout=10, env=env)
            if _until(lambda: _direction(tmp_path / "door") == "out" or None, 2):
                break
        out = _next_verdict(proc)
        _rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert (out.get("status"), out.get("direction")) == ("granted", "out"), err.decode()[-1500:]
    with KioskStore(tmp_path / "door") as store:
        assert store.place().direction == "out"
        assert [s.direction for s in store.pending(10)] == ["in", "out"]
