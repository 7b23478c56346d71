"""kiosk.sources: video files, image directories, and cameras (through a fake capture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk import sources
from kiosk.sources import (
    CameraSource,
    ImageDirSource,
    SourceError,
    VideoSource,
    open_camera,
    parse_resolution,
)


def write_video(path: Path, n: int, fps: float = 10.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (64, 48))
    for i in range(n):
        writer.write(np.full((48, 64, 3), i * 10, np.uint8))
    writer.release()


def drain(source: Any, limit: int = 1000) -> list[sources.SourceFrame]:
    out: list[sources.SourceFrame] = []
    while len(out) < limit and (frame := source.read()) is not None:
        out.append(frame)
    return out


def test_video_frames_are_timed_by_the_file(tmp_path: Path) -> None:
    write_video(tmp_path / "v.avi", 12, fps=10)
    video = VideoSource(tmp_path / "v.avi")
    assert not video.live and video.fps == 10
    frames = drain(video)
    assert [f.index for f in frames] == list(range(12))
    assert [f.timestamp for f in frames] == pytest.approx([i / 10 for i in range(12)])
    assert frames[0].image.shape == (48, 64, 3)
    video.close()
    faster = VideoSource(tmp_path / "v.avi", fps=20)
    assert drain(faster)[-1].timestamp == pytest.approx(11 / 20)


def test_a_looped_video_keeps_counting(tmp_path: Path) -> None:
    write_video(tmp_path / "v.avi", 5, fps=10)
    frames = drain(VideoSource(tmp_path / "v.avi", loop=True), limit=12)
    assert [f.index for f in frames] == list(range(12))
    assert frames[-1].timestamp == pytest.approx(1.1)
    assert np.array_equal(frames[5].image, frames[0].image)  # the start again


def test_bad_video_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such video"):
        VideoSource(tmp_path / "missing.avi")
    (tmp_path / "junk.avi").write_bytes(b"junk" * 100)
    with pytest.raises(SourceError, match="cannot read"):
        VideoSource(tmp_path / "junk.avi")


def test_images_by_name_skipping_what_is_not_an_image(tmp_path: Path) -> None:
    for name, value in (("b.png", 20), ("a.jpg", 10), ("c.PNG", 30)):
        cv2.imwrite(str(tmp_path / name.lower()), np.full((30, 40), value, np.uint8))
    (tmp_path / "c.png").rename(tmp_path / "c.PNG")
    (tmp_path / "a2.png").write_bytes(b"not a png")
    (tmp_path / ".hidden.png").write_bytes(b"")
    (tmp_path / "readme.txt").write_text("hi")
    images = ImageDirSource(tmp_path, fps=2)
    assert [p.name for p in images.files] == ["a.jpg", "a2.png", "b.png", "c.PNG"]
    frames = drain(images)
    assert [(f.name, f.index, f.timestamp) for f in frames] == [
        ("a.jpg", 0, 0.0),
        ("b.png", 2, 1.0),
        ("c.PNG", 3, 1.5),
    ]
    assert frames[0].image.shape == (30, 40, 3)  # grayscale files come out BGR


def test_empty_or_missing_image_directories(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no image files"):
        ImageDirSource(tmp_path)
    with pytest.raises(SourceError, match="no such directory"):
        ImageDirSource(tmp_path / "nope")


class FakeCapture:
    def __init__(self, frames: int = 3, opened: bool = True) -> None:
        self.frames, self.opened = frames, opened
        self.props: dict[int, float] = {cv2.CAP_PROP_FPS: 30.0}
        self.released = False

    def isOpened(self) -> bool:  # OpenCV's name
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.frames <= 0:
            return False, None
        self.frames -= 1
        return True, np.zeros((48, 64, 3), np.uint8)

    def release(self) -> None:
        self.released = True


def test_a_camera_is_live_and_asks_for_the_resolution() -> None:
    cap = FakeCapture(frames=2)
    camera = CameraSource(1, (1280, 720), capture_factory=lambda i, b: cap, max_failures=2)
    assert camera.live and camera.fps == 30.0
    assert cap.props[cv2.CAP_PROP_FRAME_WIDTH] == 1280
    assert camera.description == "camera 1 (1280x720)"
    a, b = camera.read(), camera.read()
    assert a is not None and b is not None and b.timestamp >= a.timestamp
    assert camera.read() is None  # it stopped giving frames
    camera.close()
    assert cap.released


def test_camera_auto() -> None:
    good = open_camera("auto", capture_factory=lambda i, b: FakeCapture(frames=5))
    assert good.read() is not None
    with pytest.raises(SourceError, match="no camera found"):
        open_camera("auto", capture_factory=lambda i, b: FakeCapture(opened=False))
    with pytest.raises(SourceError, match="gave no frame"):
        open_camera("auto", capture_factory=lambda i, b: FakeCapture(frames=0), probe_s=0.1)
    with pytest.raises(SourceError, match="cannot open camera 3"):
        open_camera("3", capture_factory=lambda i, b: FakeCapture(opened=False))
    with pytest.raises(SourceError, match="camera number or 'auto'"):
        open_camera("front")


def test_parse_resolution() -> None:
    assert parse_resolution("1280x720") == (1280, 720)
    assert parse_resolution("640×480") == (640, 480)
    for bad in ("1280", "axb", "0x0", "100000x10"):
        with pytest.raises(ValueError):
            parse_resolution(bad)
