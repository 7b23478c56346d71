"""A throwaway X server (Xvfb), and a process showing a kiosk window, for the
window tests and ``bench/paint.py``."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

XVFB = shutil.which("Xvfb")


class XvfbError(RuntimeError):
    """Xvfb is missing or did not start; the message says why."""


@contextmanager
def xvfb(size: tuple[int, int] = (1280, 1024)) -> Iterator[str]:
    """A fresh X server on a display number it chose itself (free by construction:
    ``Xvfb -displayfd``); yields the display name (``":N"``), stops the server after."""
    if XVFB is None:
        raise XvfbError("Xvfb is not installed (apt-get install xvfb)")
    read_end, write_end = os.pipe()
    screen = f"{size[0]}x{size[1]}x24"
    proc = subprocess.Popen(
        [XVFB, "-displayfd", str(write_end), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 15)
        number = os.read(read_end, 64).decode().strip() if ready else ""
        if not number:
            proc.kill()
            err = proc.communicate(timeout=5)[1].decode()
            raise XvfbError(f"Xvfb did not start: {err[-500:]}")
        yield f":{number}"
    finally:
        os.close(read_end)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


#: a process showing a kiosk window (kiosk.screen.Window): a green image with a
#: white bar; it says "shown" after the first image, runs ``seconds`` (0: until a
#: line on stdin) and ends with one JSON line: {"open": ..., "remaps": ...}
_WINDOW_CHILD = """
import json, select, sys, time
import numpy as np
from kiosk.screen import Window
title, seconds, width, height = sys.argv[1], float(sys.argv[2]), *map(int, sys.argv[3:5])
image = np.zeros((height, width, 3), np.uint8)
image[:] = (0, 200, 0)
image[10:30, 10:200] = 255
window = Window(title)
window.show(image, 15)
print("shown", flush=True)
end = time.monotonic() + seconds
while window.is_open():
    if seconds and time.monotonic() >= end:
        break
    if not seconds and select.select([sys.stdin], [], [], 0)[0]:
        break
    window.show(image, 15)
print(json.dumps({"open": window.is_open(), "remaps": window.watch and window.watch.remaps}))
window.close()
"""
#: the child's green, (0, 200, 0) BGR, as a 24-bit X server stores it
WINDOW_GREEN = 0x00C800
#: pixels of the child's white bar
WINDOW_BAR = 20 * 190


def window_child(title: str, seconds: float = 0, size: tuple[int, int] = (320, 240)) -> list[str]:
    """The command of a window process (see ``_WINDOW_CHILD``)."""
    return [sys.executable, "-c", _WINDOW_CHILD, title, str(seconds), str(size[0]), str(size[1])]
