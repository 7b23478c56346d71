"""Where frames come from: a webcam, a video file, or a directory of images.

A :class:`FrameSource` gives :class:`SourceFrame` objects one at a time
(``read()``, None at the end) and says whether it is ``live``:

* :class:`CameraSource` is live: frames keep coming whether or not anyone
  takes them, so the scanner keeps only the latest one (frames it has no time
  for are dropped). Its timestamps are the kiosk's monotonic clock.
* :class:`VideoSource` and :class:`ImageDirSource` are not: every frame is
  processed, in order, and a frame's timestamp is the source's own time
  (``index / fps``), so a run on the same file always gives the same result.
  Images are taken in the order of their file names, ``fps`` apart
  (default one per second).

Sources are not thread-safe: one thread reads a source.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: image files :class:`ImageDirSource` reads (lower-case suffixes)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})
DEFAULT_RESOLUTION = (1280, 720)
#: a video file that does not say its frame rate is taken to have this one
FALLBACK_FPS = 15.0
DEFAULT_IMAGE_FPS = 1.0
#: a camera that fails this many reads in a row is gone
CAMERA_MAX_FAILURES = 50
#: ``--camera auto``: how long camera 0 gets to deliver its first frame
CAMERA_PROBE_S = 5.0


class SourceError(RuntimeError):
    """A source cannot be opened (no such camera, not a video file, empty directory...)."""


@dataclass(frozen=True, slots=True)
class SourceFrame:
    """One frame: a BGR ``uint8`` image and where it is in its source."""

    image: np.ndarray
    #: 0-based position in the source (for images: in the sorted file list)
    index: int
    #: seconds, on the source's clock (``index / fps`` for files; monotonic for a camera)
    timestamp: float
    #: when it was read, on this process's ``time.monotonic()`` clock
    captured: float = field(default_factory=time.monotonic)
    #: the image's file name, for :class:`ImageDirSource`
    name: str | None = None


@runtime_checkable
class FrameSource(Protocol):
    #: True for a camera: frames are dropped rather than queued
    live: bool
    #: frames per second on the source's clock (None: unknown, for a camera)
    fps: float | None
    #: for logs and screens, e.g. ``camera 0 (1280x720)``
    description: str

    def read(self) -> SourceFrame | None:
        """The next frame, or None when there are no more."""
        ...

    def close(self) -> None: ...


def _cv2() -> Any:
    import cv2

    return cv2


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV logs a warning per backend that fails to open a camera: hush them."""
    cv2 = _cv2()
    logging_mod = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_mod is None:
        yield
        return
    previous = logging_mod.getLogLevel()
    logging_mod.setLogLevel(logging_mod.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging_mod.setLogLevel(previous)


def parse_resolution(text: str) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)``; ValueError otherwise."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"a resolution is WIDTHxHEIGHT, e.g. 1280x720, not {text!r}") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise ValueError(f"resolution {text!r} is out of range")
    return width, height


# ---------------------------------------------------------------------------
# camera


def _default_backend(cv2: Any) -> int:
    """V4L2 on Linux (no probing of other backends); the platform's default elsewhere."""
    if sys.platform.startswith("linux"):
        return int(cv2.CAP_V4L2)
    return int(cv2.CAP_ANY)


CaptureFactory = Callable[[int, int], Any]


def _open_capture(index: int, backend: int) -> Any:
    return _cv2().VideoCapture(index, backend)


class CameraSource:
    """A webcam through ``cv2.VideoCapture``: live, timestamped on the monotonic clock.

    ``resolution`` is asked for (the camera may pick the nearest it has);
    ``capture_factory(index, backend)`` builds the capture (tests pass a fake).
    """

    live = True

    def __init__(
        self,
        index: int = 0,
        resolution: tuple[int, int] | None = DEFAULT_RESOLUTION,
        *,
        backend: int | None = None,
        capture_factory: CaptureFactory | None = None,
        max_failures: int = CAMERA_MAX_FAILURES,
    ) -> None:
        self.index = index
        self.max_failures = max_failures
        cv2 = _cv2()
        factory = capture_factory or _open_capture
        with _quiet_opencv():
            cap = factory(index, _default_backend(cv2) if backend is None else backend)
        if cap is None or not cap.isOpened():
            raise SourceError(f"cannot open camera {index}")
        if resolution is not None:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, resolution[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, resolution[1])
        with contextlib.suppress(Exception):  # a small driver buffer: fresher frames
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps: float | None = fps if math.isfinite(fps) and fps > 0 else None
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        self.description = f"camera {index} ({width}x{height})"
        self._index = 0

    def read(self) -> SourceFrame | None:
        failures = 0
        while failures < self.max_failures:
            ok, image = self._cap.read()
            if ok and image is not None and image.size:
                now = time.monotonic()
                frame = SourceFrame(_as_bgr(image), self._index, now, now)
                self._index += 1
                return frame
            failures += 1
            time.sleep(0.02)
        log.error("camera %d gave no frame %d times in a row: stopping", self.index, failures)
        return None

    def close(self) -> None:
        self._cap.release()


def open_camera(
    spec: str | int,
    resolution: tuple[int, int] | None = DEFAULT_RESOLUTION,
    *,
    capture_factory: CaptureFactory | None = None,
    probe_s: float = CAMERA_PROBE_S,
) -> CameraSource:
    """The camera ``spec``: an index, or ``"auto"``: camera 0 if it opens *and*
    delivers a frame within ``probe_s`` seconds, else :class:`SourceError`."""
    if isinstance(spec, str) and spec.strip().lower() == "auto":
        try:
            camera = CameraSource(0, resolution, capture_factory=capture_factory, max_failures=1)
        except SourceError:
            raise SourceError("no camera found (camera 0 does not open)") from None
        deadline = time.monotonic() + probe_s
        first: SourceFrame | None = None
        while first is None and time.monotonic() < deadline:
            first = camera.read()
        if first is None:
            camera.close()
            raise SourceError(f"camera 0 opens but gave no frame within {probe_s:g} s")
        camera.max_failures = CAMERA_MAX_FAILURES
        return camera
    try:
        index = int(spec)
    except ValueError:
        raise SourceError(f"--camera takes a camera number or 'auto', not {spec!r}") from None
    if index < 0:
        raise SourceError(f"camera number {index} is negative")
    return CameraSource(index, resolution, capture_factory=capture_factory)


# ---------------------------------------------------------------------------
# files


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """A 3-channel BGR ``uint8`` image (grayscale and BGRA are converted)."""
    import numpy as np

    cv2 = _cv2()
    if image.dtype != np.uint8:  # 16-bit PNG or TIFF
        scale = (
            255.0 / max(float(np.iinfo(image.dtype).max), 1.0) if image.dtype.kind in "ui" else 1
        )
        image = np.clip(image.astype(np.float32) * scale, 0, 255).astype(np.uint8)
    out: np.ndarray = image
    if image.ndim == 2:
        out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        out = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        out = cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    return out


class VideoSource:
    """A video file, frame by frame; a frame's timestamp is ``index / fps``.

    ``fps`` overrides the file's own frame rate (default: the file's, else
    :data:`FALLBACK_FPS`). ``loop`` starts over at the end, with timestamps
    and indexes that keep growing (a looped video is a longer video).
    """

    live = False

    def __init__(self, path: str | Path, *, fps: float | None = None, loop: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"no such video file: {self.path}")
        cv2 = _cv2()
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SourceError(f"cannot read {self.path} as a video")
        if fps is None:
            found = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
            fps = found if math.isfinite(found) and 0 < found <= 1000 else FALLBACK_FPS
        if not (math.isfinite(fps) and fps > 0):
            raise SourceError(f"frame rate must be positive, not {fps}")
        self.fps: float | None = fps
        self.loop = loop
        self.description = f"video {self.path.name} ({fps:g} fps)"
        self._index = 0
        self._in_pass = 0  # frames read in this pass of a loop

    def read(self) -> SourceFrame | None:
        ok, image = self._cap.read()
        if not ok and self.loop and self._in_pass > 0:
            self._cap.set(_cv2().CAP_PROP_POS_FRAMES, 0)
            self._in_pass = 0
            ok, image = self._cap.read()
        if not ok or image is None:
            return None
        assert self.fps is not None
        frame = SourceFrame(_as_bgr(image), self._index, self._index / self.fps)
        self._index += 1
        self._in_pass += 1
        return frame

    def close(self) -> None:
        self._cap.release()


def image_files(directory: Path) -> list[Path]:
    """The image files in ``directory`` (not hidden ones), sorted by name."""
    return sorted(
        (
            p
            for p in directory.iterdir()
            if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
        ),
        key=lambda p: p.name,
    )


class ImageDirSource:
    """The images of a directory, sorted by file name, ``1 / fps`` seconds apart.

    A file that cannot be read as an image is skipped (with a warning); the
    others keep their position in the sorted list as their index.
    """

    live = False

    def __init__(
        self, directory: str | Path, *, fps: float | None = None, loop: bool = False
    ) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise SourceError(f"no such directory: {self.directory}")
        self.files: Sequence[Path] = image_files(self.directory)
        if not self.files:
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            raise SourceError(f"no image files ({suffixes}) in {self.directory}")
        fps = DEFAULT_IMAGE_FPS if fps is None else fps
        if not (math.isfinite(fps) and fps > 0):
            raise SourceError(f"frame rate must be positive, not {fps}")
        self.fps: float | None = fps
        self.loop = loop
        self.description = f"{len(self.files)} images in {self.directory}"
        self._next = 0

    def read(self) -> SourceFrame | None:
        cv2 = _cv2()
        assert self.fps is not None
        skipped = 0
        while True:
            position = self._next
            n = len(self.files)
            if position >= n and not (self.loop and skipped < n):
                return None
            self._next += 1
            path = self.files[position % n]
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # EXIF orientation applied
            if image is None or not image.size:
                log.warning("skipping %s: not an image OpenCV can read", path.name)
                skipped += 1
                continue
            return SourceFrame(_as_bgr(image), position, position / self.fps, name=path.name)

    def close(self) -> None:
        pass
