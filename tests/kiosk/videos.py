"""Test videos of badges (``cv2.VideoWriter``, MJPG in .avi) and the kiosk as a subprocess.

A video is a list of :class:`Shot` objects: some frames of the room with
zero, one or several badges (``tests.kiosk.frames``: real segno QR codes
on badge cards, rotated, blurred, noisy). Within a shot the picture moves a
few pixels from frame to frame, like a badge held in a hand, and chosen
frames can be blurred beyond reading (a hand moving too fast).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests.kiosk.frames import make_frame

#: seconds a kiosk subprocess gets before the test fails
RUN_TIMEOUT = 60.0


@dataclass(frozen=True)
class Shot:
    """``frames`` frames showing ``payloads`` (none: the empty room)."""

    payloads: Sequence[bytes | str]
    frames: int
    label: str = ""
    rotation: float = 0.0
    blur: float = 0.0
    code_px: float | None = None
    #: frames (0-based, within the shot) blurred so much that no code can be read
    smeared: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Span:
    label: str
    first: int
    last: int


def shot_frames(shot: Shot, resolution: tuple[int, int], seed: int) -> list[np.ndarray]:
    base = make_frame(
        list(shot.payloads),
        resolution=resolution,
        rotation=shot.rotation,
        blur=shot.blur,
        code_px=shot.code_px,
        seed=seed,
    ).image
    out = []
    for k in range(shot.frames):
        # a hand is never still: a few pixels of drift, frame to frame
        img = np.roll(base, (k % 4 - 2, k % 3 - 1), axis=(0, 1))
        if k in shot.smeared:
            img = cv2.GaussianBlur(img, (0, 0), 7)
        out.append(img)
    return out


def write_video(
    path: Path,
    shots: Sequence[Shot],
    *,
    fps: float = 15.0,
    resolution: tuple[int, int] = (640, 480),
    seed: int = 0,
) -> list[Span]:
    """Write the shots as an MJPG .avi; where each shot is (frame numbers)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, resolution)
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    spans = []
    index = 0
    try:
        for i, shot in enumerate(shots):
            for img in shot_frames(shot, resolution, seed + i):
                writer.write(img)
            spans.append(Span(shot.label, index, index + shot.frames - 1))
            index += shot.frames
    finally:
        writer.release()
    return spans


def kiosk_command(data_dir: Path, *args: str) -> list[str]:
    script = Path(sys.executable).with_name("badgegate-kiosk")
    prefix = [str(script)] if script.exists() else [sys.executable, "-m", "kiosk.cli"]
    return [*prefix, "--data-dir", str(data_dir), *args]


@dataclass
class Result:
    code: int
    #: stdout's JSON lines (empty when not asked to parse them)
    verdicts: list[dict[str, Any]]
    stderr: str
    stdout: str


def run_kiosk(
    data_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
    json_lines: bool = True,
) -> Result:
    """``badgegate-kiosk --data-dir DATA_DIR ARGS...`` to the end; with
    ``json_lines``, every line of its stdout must be a JSON object."""
    proc = subprocess.run(
        kiosk_command(data_dir, *args),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        check=False,
    )
    out = proc.stdout.decode()
    lines = [json.loads(line) for line in out.splitlines() if line.strip()] if json_lines else []
    return Result(proc.returncode, lines, proc.stderr.decode(), out)


def summary(verdicts: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(reason, user_id, already_scanned, source_frame) of each verdict."""
    return [(v["reason"], v["user_id"], v["already_scanned"], v["source_frame"]) for v in verdicts]
