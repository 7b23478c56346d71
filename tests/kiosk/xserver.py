"""A throwaway X server (Xvfb) for the window tests and ``bench/paint.py``."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
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
