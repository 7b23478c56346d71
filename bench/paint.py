"""How often the kiosk window stays blank on a busy machine, with and without the
paint watch (``kiosk.x11.PaintWatch``).

OpenCV's Qt sometimes misses the X events that tell it its window is on
screen, and then never paints it; it happens more often the busier the
machine. This starts its own X server (Xvfb), a few busy processes, and then
opens kiosk windows one after another (``kiosk.screen.Window`` showing a
green image, 640x480), alternately with the watch turned off
(``BADGEGATE_PAINT_WATCH=0``: the baseline) and on. Each window is read back
from the X server near the end of its life: it counts as blank if it is not
mostly the green it was given. Printed: blank windows per arm, the remaps the
watch made, and the ratio of blank rates. Run from the repository root::

    .venv/bin/python bench/paint.py
    .venv/bin/python bench/paint.py --windows 30 --busy 3 --seconds 4

Exit status 0 whatever the counts (a benchmark, not a test); 2 when Xvfb is
missing.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.x11 import X11
from tests.kiosk.xserver import WINDOW_GREEN, XvfbError, window_child, xvfb

TITLE = "BadgeGate paint bench"


def one_window(display: str, watch: bool, seconds: float) -> tuple[bool, int]:
    """(painted, remaps) for one window, read back ``seconds`` - 0.7 after its
    first image (the window lives ``seconds`` from then)."""
    env = {**os.environ, "DISPLAY": display, "BADGEGATE_PAINT_WATCH": "1" if watch else "0"}
    child = subprocess.Popen(
        window_child(TITLE, seconds, (640, 480)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    painted = False
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 60)
        if ready and child.stdout.readline().strip() == b"shown":  # the window is up
            time.sleep(seconds - 0.7)
            x = X11.open()
            if x is not None:
                with x:
                    window = x.find_window(TITLE, child.pid)
                    pixels = x.pixels(window) if window is not None else None
                painted = pixels is not None and float((pixels == WINDOW_GREEN).mean()) > 0.5
        out, _ = child.communicate(timeout=seconds + 30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    try:
        remaps = int(json.loads(out.decode().strip().splitlines()[-1])["remaps"] or 0)
    except (ValueError, IndexError, KeyError):
        remaps = 0
    return painted, remaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=20, help="windows per arm (default 20)")
    parser.add_argument("--busy", type=int, default=3, help="busy processes (default 3)")
    parser.add_argument("--seconds", type=float, default=4.0, help="life of a window (4 s)")
    args = parser.parse_args(argv)
    if args.windows < 1 or args.busy < 0 or args.seconds < 2.5:
        parser.error("--windows >= 1, --busy >= 0, --seconds >= 2.5")

    blank = {False: 0, True: 0}
    remaps = {False: 0, True: 0}
    with ExitStack() as stack:
        try:
            display = stack.enter_context(xvfb())
        except XvfbError as exc:
            print(exc, file=sys.stderr)
            return 2
        os.environ["DISPLAY"] = display  # for this process's own reads (kiosk.x11)
        spin = [sys.executable, "-c", "while True: pass"]
        busy = [subprocess.Popen(spin) for _ in range(args.busy)]
        for proc in busy:
            stack.callback(proc.kill)
        print(f"X server {display}, {args.busy} busy processes, {os.cpu_count()} cores")
        for n in range(args.windows):
            for watch in (False, True):  # interleaved: both arms share the noise
                painted, made = one_window(display, watch, args.seconds)
                blank[watch] += not painted
                remaps[watch] += made
            print(
                f"  {n + 1}/{args.windows}: blank without watch {blank[False]},"
                f" with watch {blank[True]} (remaps {remaps[True]})",
                flush=True,
            )

    print()
    print(f"{'arm':<16}{'windows':>8}{'blank':>7}{'rate':>8}{'remaps':>8}")
    for watch, name in ((False, "watch off (base)"), (True, "watch on")):
        rate = blank[watch] / args.windows
        print(f"{name:<16}{args.windows:>8}{blank[watch]:>7}{rate:>8.1%}{remaps[watch]:>8}")
    off, on = blank[False] / args.windows, blank[True] / args.windows
    if on:
        print(f"blank rate, watch on / watch off: {on / off if off else float('inf'):.2f}")
    else:
        print(f"blank rate, watch on / watch off: 0 / {off:.1%} (no blank window with the watch)")
    return 0


if __name__ == "__main__":
    # SIGTERM stops it like Ctrl-C: the X server and the busy processes are stopped
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
