"""Synthetic webcam frames with badge QR codes, for the decoder tests and
``bench/decode.py``.

A frame is what a kiosk's webcam gives: a BGR ``uint8`` image of 1280x720 or
1920x1080 showing a cluttered room (gradient, shapes, text, noise) and,
optionally, one or more badges: a white card with a QR code on it (segno,
error level M), worn in front of a darker torso. The code can be scaled,
rotated in the image plane (:func:`cv2.warpAffine`) or tilted out of it
(:func:`cv2.warpPerspective`); the whole frame can then be blurred, relit,
noised and JPEG re-compressed. :func:`photographed` combines all of these the
way a cheap laptop webcam at a door does.

Everything is deterministic for a given ``seed``. Each :class:`Frame` records
where its codes are (the four corners of each symbol, quiet zone excluded),
so tests can check the polygons a decoder reports.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import segno

RES_720P = (1280, 720)
RES_1080P = (1920, 1080)

#: quiet zone around a code, in modules (the QR standard asks for 4)
QUIET_ZONE = 4

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WORDS = ["Salle B", "Keynote 14:00", "EXIT", "Tech Summit", "Wi-Fi: summit", "Atelier", "Room 2"]


@dataclass(frozen=True)
class PlacedCode:
    """A code drawn into a frame: its payload and where its symbol's corners are."""

    payload: bytes
    #: 4x2 float array, the symbol's corners in frame pixels (the code's own
    #: top-left, top-right, bottom-right, bottom-left), quiet zone excluded
    corners: np.ndarray

    @property
    def side(self) -> float:
        """Mean length of the symbol's four sides, in frame pixels."""
        c = self.corners
        return float(np.mean([np.linalg.norm(c[i] - c[(i + 1) % 4]) for i in range(4)]))


@dataclass(frozen=True)
class Frame:
    """A BGR frame and the codes in it (none for an empty frame)."""

    image: np.ndarray
    codes: tuple[PlacedCode, ...]
    label: str = ""

    @property
    def payloads(self) -> list[bytes]:
        return [c.payload for c in self.codes]


def badge_payload(user_id: int = 15, suffix: str = "A1B2C3D4E5F6G7H8") -> bytes:
    """A badge as the server issues it (signed, with the test key of
    ``tests.kiosk.world``), as UTF-8 bytes: what a phone or a printed badge shows."""
    from tests.kiosk.world import signed

    return signed(user_id, f"USER-{user_id}-{suffix}").encode()


@functools.lru_cache(maxsize=64)
def qr_modules(payload: bytes | str, error: str = "m") -> np.ndarray:
    """The QR symbol's modules (True = dark), without a quiet zone.

    ``bytes`` are encoded as they are (byte mode, no ECI), so any byte string,
    UTF-8 or not, round-trips; ``str`` is left to segno's mode choice.
    """
    qr = segno.make_qr(payload, error=error, boost_error=False)
    modules = np.array(list(qr.matrix_iter(scale=1, border=0)), dtype=bool)
    modules.flags.writeable = False  # cached: shared between callers
    return modules


def qr_image(payload: bytes | str, *, module_px: int = 8, error: str = "m") -> np.ndarray:
    """A grayscale image of the code (black on white) with its quiet zone."""
    modules = np.pad(qr_modules(payload, error), QUIET_ZONE, constant_values=False)
    img = np.where(modules, 0, 255).astype(np.uint8)
    return np.kron(img, np.ones((module_px, module_px), dtype=np.uint8))


# ---------------------------------------------------------------------------
# pieces


def background(resolution: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A room seen from a door: a gradient, posters, lines, signs, and patterns
    that are not QR codes (a checkerboard, stripes)."""
    width, height = resolution
    # a linear gradient between two colors, computed small and scaled up
    sw, sh = width // 8, height // 8
    xx = np.arange(sw, dtype=np.float32)[None, :]
    yy = np.arange(sh, dtype=np.float32)[:, None]
    angle = rng.uniform(0, 2 * math.pi)
    ramp = xx * math.cos(angle) + yy * math.sin(angle)
    ramp -= ramp.min()
    ramp /= max(float(ramp.max()), 1e-6)
    c0 = rng.uniform(60, 200, size=3).astype(np.float32)
    c1 = rng.uniform(60, 200, size=3).astype(np.float32)
    small = (c0 + (c1 - c0) * ramp[..., None]).astype(np.uint8)
    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    scale = height / 720
    for _ in range(int(rng.integers(6, 12))):  # furniture and posters
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(40, 400) * scale), int(rng.integers(40, 300) * scale)
        color = tuple(int(v) for v in rng.integers(0, 256, size=3))
        cv2.rectangle(img, (x0, y0), (x0 + w, y0 + h), color, -1)
    for _ in range(int(rng.integers(6, 14))):  # edges, cables, door frame
        p0 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        color = tuple(int(v) for v in rng.integers(0, 256, size=3))
        cv2.line(img, p0, p1, color, int(rng.integers(1, 6)), cv2.LINE_AA)
    for _ in range(int(rng.integers(2, 5))):  # round things
        center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        color = tuple(int(v) for v in rng.integers(0, 256, size=3))
        cv2.circle(img, center, int(rng.integers(10, 80) * scale), color, -1, cv2.LINE_AA)
    for _ in range(int(rng.integers(3, 7))):  # signs
        org = (int(rng.integers(0, width - 200)), int(rng.integers(30, height)))
        color = tuple(int(v) for v in rng.integers(0, 256, size=3))
        word = _WORDS[int(rng.integers(0, len(_WORDS)))]
        cv2.putText(img, word, org, _FONT, rng.uniform(0.6, 2.0) * scale, color, 2, cv2.LINE_AA)
    # high-contrast patterns that are not QR codes: a checkerboard and stripes
    cell = int(rng.integers(6, 16) * scale)
    x0, y0 = int(rng.integers(0, width - 8 * cell)), int(rng.integers(0, height - 8 * cell))
    board = (np.indices((8 * cell, 8 * cell)) // cell).sum(axis=0) % 2 * 255
    img[y0 : y0 + 8 * cell, x0 : x0 + 8 * cell] = board.astype(np.uint8)[..., None]
    bars = rng.integers(1, 5, size=30) * max(1, int(2 * scale))
    x = int(rng.integers(0, width - int(bars.sum()) - 1))
    y = int(rng.integers(0, height - int(60 * scale)))
    for i, w in enumerate(bars):
        if i % 2 == 0:
            img[y : y + int(60 * scale), x : x + int(w)] = 20
        x += int(w)
    return img


def badge_card(
    payload: bytes | str, module_px: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A printed badge: a white card with a colored band, the code and a name line.

    Returns the BGR card and the symbol's corners in card pixels (4x2 float).
    """
    code = qr_image(payload, module_px=module_px)
    side = code.shape[0]
    quiet = QUIET_ZONE * module_px
    margin = side // 8
    band = side // 3
    card_w = side + 2 * margin
    card_h = band + side + side // 3 + margin
    card = np.full((card_h, card_w, 3), 250, dtype=np.uint8)
    band_color = tuple(int(v) for v in rng.integers(0, 200, size=3))
    card[:band] = band_color
    text_scale = side / 400
    thick = max(1, side // 200)
    cv2.putText(card, "TECH SUMMIT", (margin, band * 2 // 3), _FONT, text_scale, (255,) * 3, thick)
    card[band : band + side, margin : margin + side] = code[..., None]
    name_y = band + side + side // 5
    cv2.putText(card, "Amina Benali", (margin, name_y), _FONT, text_scale, (30,) * 3, thick)
    x0, y0 = margin + quiet, band + quiet
    x1, y1 = margin + side - quiet, band + side - quiet
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    return card, corners


def _projected(
    points: np.ndarray, center_xy: np.ndarray, tilt: float, turn: float, focal: float
) -> np.ndarray:
    """``points`` (Nx2, relative to the card's center) turned by ``tilt`` degrees
    about the horizontal axis and ``turn`` about the vertical one, seen by a
    pinhole camera of focal length ``focal`` (pixels) at distance ``focal``."""
    t, u = math.radians(tilt), math.radians(turn)
    rx = np.array([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]])
    ry = np.array([[math.cos(u), 0, math.sin(u)], [0, 1, 0], [-math.sin(u), 0, math.cos(u)]])
    pts3 = np.c_[points, np.zeros(len(points))] @ (ry @ rx).T
    z = pts3[:, 2] + focal
    return np.c_[focal * pts3[:, 0] / z, focal * pts3[:, 1] / z] + center_xy


def _paste(frame: np.ndarray, patch: np.ndarray, matrix: np.ndarray, perspective: bool) -> None:
    """``patch`` warped by ``matrix`` (3x3) and alpha-blended into ``frame``, in place."""
    height, width = frame.shape[:2]
    ph, pw = patch.shape[:2]
    outline = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float64).reshape(1, 4, 2)
    box = cv2.perspectiveTransform(outline, matrix).reshape(4, 2)
    x0, y0 = np.maximum(np.floor(box.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(box.max(axis=0)).astype(int) + 2, [width, height])
    if x1 <= x0 or y1 <= y0:
        return  # entirely outside the frame
    # warp into the bounding box only: shift the destination by (-x0, -y0)
    shifted = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64) @ matrix
    size = (int(x1 - x0), int(y1 - y0))
    mask = np.full((ph, pw), 255, dtype=np.uint8)
    if perspective:
        warped = cv2.warpPerspective(patch, shifted, size, flags=cv2.INTER_LINEAR)
        alpha = cv2.warpPerspective(mask, shifted, size, flags=cv2.INTER_LINEAR)
    else:
        warped = cv2.warpAffine(patch, shifted[:2], size, flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(mask, shifted[:2], size, flags=cv2.INTER_LINEAR)
    a = alpha.astype(np.float32)[..., None] / 255.0
    region = frame[y0:y1, x0:x1]
    region[...] = (region * (1 - a) + warped * a).astype(np.uint8)


@dataclass(frozen=True)
class Pose:
    """Where and how a badge's symbol sits in the frame."""

    center: tuple[float, float]
    code_px: float
    rotation: float = 0.0
    tilt: float = 0.0
    turn: float = 0.0


def _draw_torso(frame: np.ndarray, pose: Pose, rng: np.random.Generator) -> None:
    """The person wearing the badge: a dark rounded shape below and around it."""
    color = tuple(int(v) for v in rng.integers(10, 90, size=3))
    card_side = pose.code_px * 1.6
    axes = (int(card_side * 1.5), int(card_side * 2.2))
    center = (int(pose.center[0]), int(pose.center[1] + card_side * 1.4))
    cv2.ellipse(frame, center, axes, -0.3 * pose.rotation, 0, 360, color, -1, cv2.LINE_AA)


def place_badge(
    frame: np.ndarray, payload: bytes | str, pose: Pose, rng: np.random.Generator
) -> PlacedCode:
    """Draw a badge into ``frame`` (in place): its symbol about ``pose.code_px``
    pixels wide at ``pose.center``, rotated ``pose.rotation`` degrees
    (counter-clockwise) in the image plane, tilted and turned out of it."""
    n_modules = qr_modules(payload).shape[0]
    # render at 1-2x the target size so the warp only shrinks a little
    module_px = max(2, math.ceil(2 * pose.code_px / n_modules))
    card, code_corners = badge_card(payload, module_px, rng)
    card_h, card_w = card.shape[:2]
    scale = pose.code_px / (n_modules * module_px)
    src = np.array([[0, 0], [card_w, 0], [card_w, card_h], [0, card_h]], dtype=np.float64)
    # the code's center, not the card's, goes to ``pose.center``
    rel = (src - code_corners.mean(axis=0)) * scale
    dst = _projected(rel, np.zeros(2), pose.tilt, pose.turn, focal=1.2 * frame.shape[1])
    theta = math.radians(pose.rotation)
    rot = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    dst = dst @ rot.T + np.asarray(pose.center, dtype=np.float64)
    matrix = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    matrix = matrix.astype(np.float64)
    _paste(frame, card, matrix, perspective=bool(pose.tilt or pose.turn))
    corners = cv2.perspectiveTransform(code_corners.reshape(1, 4, 2), matrix).reshape(4, 2)
    data = payload if isinstance(payload, bytes) else payload.encode()
    return PlacedCode(payload=data, corners=corners)


# ---------------------------------------------------------------------------
# camera effects


def relight(image: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Uneven lighting: full brightness near a random light spot, down to
    ``1 - amount`` far from it."""
    height, width = image.shape[:2]
    lx, ly = rng.uniform(0, width), rng.uniform(0, height)
    sw, sh = width // 8, height // 8  # a smooth field: computed small, scaled up
    xx = np.arange(sw, dtype=np.float32)[None, :] * 8 - lx
    yy = np.arange(sh, dtype=np.float32)[:, None] * 8 - ly
    dist = np.sqrt(xx * xx + yy * yy)
    gain = 1.0 - amount * dist / max(float(dist.max()), 1e-6)
    gain8 = np.repeat((gain * 255).astype(np.uint8)[..., None], image.shape[2], axis=2)
    field = cv2.resize(gain8, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(image, field, scale=1 / 255)


def adjust(image: np.ndarray, brightness: float = 0.0, contrast: float = 1.0) -> np.ndarray:
    """``contrast * pixel + brightness``, around mid-gray for the contrast."""
    return cv2.addWeighted(image, contrast, image, 0.0, 128.0 * (1 - contrast) + brightness)


def add_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian sensor noise of standard deviation ``sigma`` gray levels."""
    noise = np.empty(image.shape, dtype=np.int16)
    cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))  # OpenCV's generator: much faster
    cv2.randn(noise, 0.0, float(sigma))
    return cv2.add(image, noise, dtype=cv2.CV_8U)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` after a JPEG round trip at ``quality`` (0-100)."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _finish(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    blur: float,
    brightness: float,
    contrast: float,
    lighting: float,
    noise: float,
    jpeg_quality: int | None,
) -> np.ndarray:
    if lighting:
        image = relight(image, lighting, rng)
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    if brightness or contrast != 1.0:
        image = adjust(image, brightness, contrast)
    if noise:
        image = add_noise(image, noise, rng)
    if jpeg_quality is not None:
        image = jpeg(image, jpeg_quality)
    return image


# ---------------------------------------------------------------------------
# frames


def make_frame(
    payloads: Sequence[bytes | str] = (),
    *,
    resolution: tuple[int, int] = RES_720P,
    code_px: float | None = None,
    centers: Sequence[tuple[float, float]] | None = None,
    rotation: float = 0.0,
    tilt: float = 0.0,
    turn: float = 0.0,
    blur: float = 0.0,
    brightness: float = 0.0,
    contrast: float = 1.0,
    lighting: float = 0.0,
    noise: float = 2.0,
    jpeg_quality: int | None = None,
    seed: int = 0,
    label: str = "",
) -> Frame:
    """A frame with one badge per payload (none: an empty frame).

    ``code_px`` is the symbol's side in pixels (default: a quarter of the
    frame's height); badges are spread left to right unless ``centers`` says
    where. Effects are applied in the order lighting, blur,
    brightness/contrast, noise, JPEG.
    """
    rng = np.random.default_rng(seed)
    width, height = resolution
    image = background(resolution, rng)
    side = code_px if code_px is not None else height / 4
    if centers is None:
        n = len(payloads)
        centers = [
            (
                width * (i + 1) / (n + 1) + rng.uniform(-0.03, 0.03) * width,
                height * 0.45 + rng.uniform(-0.05, 0.05) * height,
            )
            for i in range(n)
        ]
    poses = [Pose(center=c, code_px=side, rotation=rotation, tilt=tilt, turn=turn) for c in centers]
    for pose in poses:  # people first, so no one stands in front of another's badge
        _draw_torso(image, pose, rng)
    codes = [place_badge(image, p, pose, rng) for p, pose in zip(payloads, poses, strict=True)]
    image = _finish(
        image,
        rng,
        blur=blur,
        brightness=brightness,
        contrast=contrast,
        lighting=lighting,
        noise=noise,
        jpeg_quality=jpeg_quality,
    )
    return Frame(image=image, codes=tuple(codes), label=label)


def empty_frame(
    resolution: tuple[int, int] = RES_720P, *, seed: int = 0, **effects: float
) -> Frame:
    """A frame of the room with nobody's badge in it."""
    return make_frame((), resolution=resolution, seed=seed, label="empty", **effects)


#: what :func:`photographed` does to a frame, on top of the badge's own pose
PHOTO_EFFECTS: dict[str, float] = {
    "blur": 1.1,
    "lighting": 0.45,
    "contrast": 0.8,
    "brightness": -10.0,
    "noise": 5.0,
    "jpeg_quality": 75,
}


def photographed(
    payloads: Sequence[bytes | str] = (),
    *,
    resolution: tuple[int, int] = RES_720P,
    code_px: float | None = None,
    seed: int = 0,
    blur: float | None = None,
    label: str = "photographed",
) -> Frame:
    """A badge as a laptop webcam at a door sees it: held at a slant (rotation,
    tilt and turn drawn from ``seed``), slightly out of focus (``blur``, the
    Gaussian sigma in pixels: more for a badge held too close to a fixed-focus
    webcam), unevenly lit, noisy and JPEG-compressed. With no payload: the same
    camera, no badge."""
    rng = np.random.default_rng(seed + 7919)
    return make_frame(
        payloads,
        resolution=resolution,
        code_px=code_px,
        rotation=float(rng.uniform(-20, 20)),
        tilt=float(rng.uniform(15, 30)),
        turn=float(rng.uniform(-20, 20)),
        seed=seed,
        label=label,
        blur=PHOTO_EFFECTS["blur"] if blur is None else blur,
        lighting=PHOTO_EFFECTS["lighting"],
        contrast=PHOTO_EFFECTS["contrast"],
        brightness=PHOTO_EFFECTS["brightness"],
        noise=PHOTO_EFFECTS["noise"],
        jpeg_quality=int(PHOTO_EFFECTS["jpeg_quality"]),
    )
