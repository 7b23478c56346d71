"""A short video of badges held up to a kiosk, for demos without a webcam.

``make_demo_video(path, payloads)`` writes (OpenCV ``VideoWriter``; MJPG in
``.avi``, ``mp4v`` in ``.mp4``) an empty room for ``lead`` seconds, then each
payload's QR code on a badge card, gently swaying, for ``hold`` seconds,
with ``gap`` seconds of empty room between. ``badgegate-kiosk run --video``
plays it like a camera; ``badgegate-kiosk demo-video`` is the command line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CODECS = {".avi": "MJPG", ".mkv": "MJPG", ".mp4": "mp4v"}
DEFAULT_SIZE = (1280, 720)


@dataclass(frozen=True, slots=True)
class Segment:
    """Where one payload is on screen: frames ``first`` to ``last``, both included."""

    payload: bytes
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class DemoVideo:
    path: Path
    fps: float
    frames: int
    size: tuple[int, int]
    segments: list[Segment] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def _cv2() -> Any:
    import cv2

    return cv2


def _as_bytes(payload: bytes | str) -> bytes:
    return payload if isinstance(payload, bytes) else payload.encode("utf-8")


def qr_card(payload: bytes | str, side: int, caption: str | None = None) -> np.ndarray:
    """A white badge card (BGR) with ``payload``'s QR code, about ``side`` pixels
    wide, and a caption line under it."""
    import numpy as np
    import segno

    cv2 = _cv2()
    qr = segno.make_qr(_as_bytes(payload), error="m", boost_error=False)
    modules = np.array(list(qr.matrix_iter(scale=1, border=4)), dtype=bool)
    module_px = max(2, side // modules.shape[0])
    code = np.where(modules, 0, 255).astype(np.uint8)
    code = np.kron(code, np.ones((module_px, module_px), dtype=np.uint8))
    n = code.shape[0]
    band = n // 5
    text_h = n // 6 if caption else 0
    card = np.full((band + n + text_h + n // 20, n, 3), 248, dtype=np.uint8)
    card[:band] = (140, 60, 20)  # the event's colored band
    cv2.putText(
        card, "BADGEGATE", (n // 12, band * 2 // 3), cv2.FONT_HERSHEY_DUPLEX, n / 500, (255,) * 3, 2
    )
    card[band : band + n] = code[..., None]
    if caption:  # a name: drawn as the kiosk draws names (Arabic joined, right to left)
        from kiosk import screen

        left = n // 12
        line, px = screen.fit_text(screen.clean_text(caption, 32), n - 2 * left, max(8, n // 20))
        screen.fonts().draw(
            card, line, (left, band + n + text_h * 2 // 3), (30, 30, 30), px, bold=False
        )
    return card


def room(size: tuple[int, int] = DEFAULT_SIZE) -> np.ndarray:
    """A plain room seen from the kiosk: a gradient wall, a door, a sign."""
    import numpy as np

    cv2 = _cv2()
    width, height = size
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top = np.array([200, 190, 175], dtype=np.float32)
    bottom = np.array([120, 110, 100], dtype=np.float32)
    img = np.broadcast_to(top + (bottom - top) * ramp, (height, width, 3)).astype(np.uint8).copy()
    cv2.rectangle(img, (width // 14, height // 6), (width // 4, height), (70, 90, 120), -1)
    cv2.rectangle(
        img, (width * 3 // 4, height // 10), (width * 19 // 20, height // 4), (250,) * 3, -1
    )
    cv2.putText(
        img, "Salle", (width * 3 // 4 + 12, height // 5), cv2.FONT_HERSHEY_SIMPLEX,
        height / 600, (60, 60, 60), 2, cv2.LINE_AA,
    )  # fmt: skip
    return img


def _paste(frame: np.ndarray, card: np.ndarray, center: tuple[float, float], angle: float) -> None:
    """``card`` rotated by ``angle`` degrees and pasted centered at ``center``, in place."""
    import numpy as np

    cv2 = _cv2()
    height, width = frame.shape[:2]
    ch, cw = card.shape[:2]
    matrix = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle, 1.0)
    matrix[:, 2] += (center[0] - cw / 2, center[1] - ch / 2)
    warped = cv2.warpAffine(card, matrix, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full((ch, cw), 255, np.uint8), matrix, (width, height))
    frame[mask > 127] = warped[mask > 127]


def make_demo_video(
    path: str | Path,
    payloads: Sequence[bytes | str],
    fps: float = 15,
    *,
    hold: float = 1.5,
    gap: float = 1.0,
    lead: float = 0.5,
    size: tuple[int, int] = DEFAULT_SIZE,
    captions: Sequence[str] | None = None,
) -> DemoVideo:
    """Write the demo video at ``path``; see the module doc. Raises ValueError for
    an unknown container or bad timings, OSError if OpenCV cannot write it."""
    cv2 = _cv2()
    out = Path(path)
    codec = CODECS.get(out.suffix.lower())
    if codec is None:
        raise ValueError(f"write a {', '.join(CODECS)} file, not {out.name!r}")
    if fps <= 0 or hold <= 0 or gap < 0 or lead < 0:
        raise ValueError("fps and hold must be positive, gap and lead not negative")
    width, height = size
    background = room(size)
    side = int(height * 0.42)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*codec), float(fps), (width, height))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {out} ({codec})")
    frames = 0
    segments: list[Segment] = []

    def empty(seconds: float) -> None:
        nonlocal frames
        for _ in range(round(seconds * fps)):
            writer.write(background)
            frames += 1

    try:
        empty(lead)
        for i, payload in enumerate(payloads):
            caption = captions[i] if captions is not None and i < len(captions) else None
            card = qr_card(payload, side, caption)
            n = max(1, round(hold * fps))
            first = frames
            for k in range(n):
                t = k / fps
                frame = background.copy()
                sway = math.sin(2 * math.pi * t / 2.4)
                center = (width / 2 + sway * width * 0.04, height * 0.52 + sway * height * 0.01)
                _paste(frame, card, center, angle=5.0 * sway)
                writer.write(frame)
                frames += 1
            segments.append(Segment(_as_bytes(payload), first, frames - 1))
            empty(gap)
    finally:
        writer.release()
    return DemoVideo(out, float(fps), frames, (width, height), segments)
