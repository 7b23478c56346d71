"""QR decoders (kiosk.decoders) on synthetic webcam frames (tests/kiosk/frames.py).

Every decoder that loads here is run on the same frames; one whose library is
missing is skipped with a message naming it (all three load on a developer's
machine and in CI).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pytest

from kiosk import decoders
from kiosk.decoders import (
    DEFAULT_ORDER,
    Decoder,
    DecoderUnavailable,
    Detection,
    make_decoder,
)
from shared.badge import Badge, BadgeError, parse_badge
from tests.kiosk import frames
from tests.kiosk.frames import RES_720P, RES_1080P, Frame, PlacedCode

PAYLOAD = frames.badge_payload(15, "A1B2C3D4")


def build(name: str, **options: object) -> Decoder:
    try:
        return decoders.DECODERS[name](**options)
    except DecoderUnavailable as exc:
        pytest.skip(f"{name} is not available here: {exc.reason}")


@pytest.fixture(params=DEFAULT_ORDER)
def decoder(request: pytest.FixtureRequest) -> Decoder:
    return build(request.param)


def assert_around(detection: Detection, code: PlacedCode) -> None:
    """The detection's polygon is the code's four corners, in the code's order
    (top-left, top-right, bottom-right, bottom-left), within a module or so."""
    assert len(detection.polygon) == 4, detection.polygon
    assert all(isinstance(v, int) for point in detection.polygon for v in point)
    found = np.array(detection.polygon, dtype=float)
    tolerance = max(4.0, 0.06 * code.side)
    distances = np.linalg.norm(found - code.corners, axis=1)
    assert (distances <= tolerance).all(), (detection.polygon, code.corners.round().tolist())


def decoded(decoder: Decoder, frame: Frame) -> dict[bytes, Detection]:
    detections = decoder.decode(frame.image)
    assert all(isinstance(d.data, bytes) for d in detections)
    by_payload = {d.data: d for d in detections}
    assert len(by_payload) == len(detections), "a code was reported twice"
    return by_payload


# ---------------------------------------------------------------------------
# reading codes


@pytest.mark.parametrize("resolution", [RES_720P, RES_1080P], ids=["720p", "1080p"])
def test_decodes_a_synthetic_badge_exactly(decoder: Decoder, resolution: tuple[int, int]) -> None:
    frame = frames.make_frame([PAYLOAD], resolution=resolution, seed=1)
    found = decoded(decoder, frame)
    assert list(found) == [PAYLOAD]
    assert_around(found[PAYLOAD], frame.codes[0])
    assert isinstance(parse_badge(found[PAYLOAD].data), Badge)


def test_grayscale_and_bgra_frames_give_the_same_result(decoder: Decoder) -> None:
    frame = frames.make_frame([PAYLOAD], seed=2)
    gray = frame.image.mean(axis=2).astype(np.uint8)
    bgra = np.dstack([frame.image, np.full(frame.image.shape[:2], 255, np.uint8)])
    for image in (gray, gray[..., None], bgra):
        assert [d.data for d in decoder.decode(image)] == [PAYLOAD]


def test_finds_two_badges_in_one_frame(decoder: Decoder) -> None:
    first, second = frames.badge_payload(1, "AAAA1111"), frames.badge_payload(2, "BBBB2222")
    frame = frames.make_frame([first, second], resolution=RES_1080P, code_px=220, seed=3)
    found = decoded(decoder, frame)
    assert set(found) == {first, second}
    for code in frame.codes:
        assert_around(found[code.payload], code)


@pytest.mark.parametrize("rotation", [30, -30, 90])
def test_survives_rotation(decoder: Decoder, rotation: float) -> None:
    frame = frames.make_frame([PAYLOAD], rotation=rotation, code_px=200, seed=4)
    found = decoded(decoder, frame)
    assert list(found) == [PAYLOAD]
    assert_around(found[PAYLOAD], frame.codes[0])


def test_survives_a_blurred_jpeg(decoder: Decoder) -> None:
    frame = frames.make_frame(
        [PAYLOAD], code_px=200, blur=1.0, contrast=0.7, noise=4, jpeg_quality=70, seed=5
    )
    assert list(decoded(decoder, frame)) == [PAYLOAD]


@pytest.fixture(scope="module")
def empty_frames() -> list[np.ndarray]:
    return [
        frames.empty_frame(RES_720P, seed=6).image,
        frames.empty_frame(RES_1080P, seed=7).image,
        frames.photographed([], resolution=RES_1080P, seed=8).image,
        np.zeros((720, 1280, 3), np.uint8),  # lens cap
        np.full((720, 1280, 3), 255, np.uint8),  # overexposed
        np.full((480, 640), 128, np.uint8),  # gray, 2-D
        np.zeros((1, 1), np.uint8),  # degenerate but valid
    ]


def test_returns_nothing_on_empty_frames(decoder: Decoder, empty_frames: list[np.ndarray]) -> None:
    for image in empty_frames:
        assert decoder.decode(image) == []


def test_rejects_what_is_not_a_frame(decoder: Decoder) -> None:
    with pytest.raises(TypeError):
        decoder.decode([[0, 0], [0, 0]])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        decoder.decode(np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError):
        decoder.decode(np.zeros((10, 10, 2), np.uint8))


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_default_decoder_reads_photographed_badges(seed: int) -> None:
    decoder, _ = make_decoder(None)
    frame = frames.photographed([PAYLOAD], resolution=RES_1080P, code_px=200, seed=seed)
    found = decoded(decoder, frame)
    assert list(found) == [PAYLOAD]
    assert_around(found[PAYLOAD], frame.codes[0])


@pytest.mark.parametrize("name", DEFAULT_ORDER)
def test_downscaling_maps_polygons_back_to_the_frame(name: str) -> None:
    decoder = build(name, max_side=960)
    frame = frames.make_frame([PAYLOAD], resolution=RES_1080P, code_px=300, rotation=20, seed=9)
    found = decoded(decoder, frame)
    assert list(found) == [PAYLOAD]
    assert_around(found[PAYLOAD], frame.codes[0])


def test_max_side_must_be_sensible() -> None:
    with pytest.raises(ValueError, match="max_side"):
        build(DEFAULT_ORDER[0], max_side=10)


# ---------------------------------------------------------------------------
# hostile payloads: the exact bytes, so the kiosk can show a red verdict

HOSTILE = {
    "large": b'{"user_id": 1, "badge_id": "' + b"USER-1-" * 170 + b'"}',
    "control": b'\x00\x01\x1b[2J\x1b[31m{"user_id": 15}\r\n\t\x7f\x08\x07',
    "not-utf8": b"\xff\xfe\x80" + PAYLOAD + b"\xc3\x28\xa0\xa1",
    "latin1": '{"name": "Ana\u00efs Caf\u00e9"}'.encode("latin-1"),
    "utf8": '{"user_id": 15, "badge_id": "USER-15-\u00c9T\u00c9 \u2713"}'.encode(),
}
#: OpenCV transcodes a byte segment that is not UTF-8 from ISO-8859-1 (documented
#: in OpenCVDecoder): it cannot return these exactly
OPENCV_LOSSY = {"not-utf8", "latin1"}


@pytest.fixture(scope="module")
def hostile_frames() -> Iterator[dict[str, Frame]]:
    out = {}
    for i, (key, payload) in enumerate(HOSTILE.items()):
        size = 760 if len(payload) > 1000 else 260
        out[key] = frames.make_frame([payload], resolution=RES_1080P, code_px=size, seed=20 + i)
    yield out


@pytest.mark.parametrize("key", list(HOSTILE))
def test_hostile_payloads_decode_to_the_exact_bytes(
    decoder: Decoder, key: str, hostile_frames: dict[str, Frame], request: pytest.FixtureRequest
) -> None:
    payload = HOSTILE[key]
    if decoder.name == decoders.OPENCV and key in OPENCV_LOSSY:
        reason = "OpenCV transcodes non-UTF-8 byte segments (ISO-8859-1 to UTF-8)"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    found = decoded(decoder, hostile_frames[key])
    assert list(found) == [payload]
    assert isinstance(parse_badge(found[payload].data), BadgeError)


def test_micro_qr_codes_are_not_read(decoder: Decoder) -> None:
    """Badges are full-size QR codes: a decoder that also reads Micro QR (zxing-cpp 3's
    ``QRCode`` family does) finds phantom ones in a large code's finder patterns
    (a red "invalid" verdict right after the real one)."""
    import segno

    micro = segno.make_micro("25309")
    modules = np.array(list(micro.matrix_iter(scale=12, border=4)), dtype=bool)
    image = np.where(modules, 0, 255).astype(np.uint8)
    frame = np.full((480, 640), 200, np.uint8)
    frame[100 : 100 + image.shape[0], 100 : 100 + image.shape[1]] = image
    assert decoder.decode(frame) == []


def test_hostile_payloads_are_long_enough_to_matter() -> None:
    assert len(HOSTILE["large"]) > 1000
    with pytest.raises(UnicodeDecodeError):
        HOSTILE["not-utf8"].decode("utf-8")


def test_opencv_lossy_payloads_still_never_parse(hostile_frames: dict[str, Frame]) -> None:
    decoder = build(decoders.OPENCV)
    for key in OPENCV_LOSSY:
        found = decoder.decode(hostile_frames[key].image)
        assert len(found) == 1
        assert isinstance(parse_badge(found[0].data), BadgeError)


# ---------------------------------------------------------------------------
# choosing a decoder


def test_available_decoders_lists_every_decoder_with_a_reason_or_none() -> None:
    available = decoders.available_decoders()
    assert list(available) == list(DEFAULT_ORDER)
    for name, reason in available.items():
        assert reason is None or (isinstance(reason, str) and reason), name


def test_default_is_the_first_of_the_default_order() -> None:
    build(DEFAULT_ORDER[0])
    decoder, note = make_decoder(None)
    assert decoder.name == DEFAULT_ORDER[0] == "zxing-cpp"
    assert note == "decoder: zxing-cpp (default)"
    assert isinstance(decoder, Decoder)


@pytest.mark.parametrize("name", DEFAULT_ORDER)
def test_each_decoder_can_be_chosen(name: str) -> None:
    build(name)  # skips when missing here
    decoder, note = make_decoder(name)
    assert decoder.name == name
    assert note == f"decoder: {name} (chosen)"


def test_options_reach_the_chosen_decoder() -> None:
    build("zxing-cpp")
    decoder, _ = make_decoder("zxing-cpp", max_side=960)
    assert decoder.max_side == 960  # type: ignore[attr-defined]


def test_unknown_name_is_a_value_error_listing_the_names() -> None:
    with pytest.raises(ValueError) as info:
        make_decoder("quirc")
    for name in DEFAULT_ORDER:
        assert name in str(info.value)


def _block_import(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make ``import module`` fail for each of ``modules`` (and their submodules)."""
    for key in [k for k in sys.modules if k.split(".")[0] in modules]:
        monkeypatch.delitem(sys.modules, key)
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def test_pyzbar_missing_falls_back_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    build("zxing-cpp")
    _block_import(monkeypatch, "pyzbar")
    monkeypatch.setitem(sys.modules, "pyzbar.pyzbar", None)
    decoder, note = make_decoder("pyzbar")
    assert decoder.name == "zxing-cpp"
    assert note.startswith("decoder: zxing-cpp (pyzbar unavailable: cannot import pyzbar")
    assert decoders.available_decoders()["pyzbar"] is not None
    assert [d.data for d in decoder.decode(frames.make_frame([PAYLOAD], seed=30).image)] == [
        PAYLOAD
    ]


def test_libzbar_missing_falls_back_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes.util

    build("zxing-cpp")
    build("pyzbar")  # pyzbar's modules are loaded, so the test can put them back
    real = ctypes.util.find_library
    monkeypatch.setattr(
        ctypes.util, "find_library", lambda name: None if name == "zbar" else real(name)
    )
    for key in [k for k in sys.modules if k.split(".")[0] == "pyzbar"]:
        monkeypatch.delitem(sys.modules, key)  # so pyzbar looks for libzbar again
    decoder, note = make_decoder("pyzbar")
    assert decoder.name == "zxing-cpp"
    assert note == (
        "decoder: zxing-cpp (pyzbar unavailable: libzbar not found (apt-get install libzbar0))"
    )
    with pytest.raises(DecoderUnavailable, match="libzbar not found"):
        decoders.PyzbarDecoder()


def test_default_missing_falls_back_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    build("pyzbar")
    build("opencv")
    _block_import(monkeypatch, "zxingcpp")
    decoder, note = make_decoder(None)
    assert decoder.name == "pyzbar"
    assert note.startswith("decoder: pyzbar (zxing-cpp unavailable: cannot import zxingcpp")

    _block_import(monkeypatch, "pyzbar")
    decoder, note = make_decoder(None)
    assert decoder.name == "opencv"
    assert "zxing-cpp unavailable" in note and "pyzbar unavailable" in note


def test_nothing_loads_is_the_only_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _block_import(monkeypatch, "zxingcpp", "pyzbar", "cv2")
    with pytest.raises(DecoderUnavailable, match="no QR decoder can load"):
        make_decoder(None)
    assert all(reason for reason in decoders.available_decoders().values())


def test_the_kiosk_package_imports_without_any_decoder_library(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    import kiosk

    _block_import(monkeypatch, "zxingcpp", "pyzbar", "cv2", "numpy")
    monkeypatch.delitem(sys.modules, "kiosk.decoders")
    monkeypatch.setattr(kiosk, "decoders", decoders)  # restored after the re-import
    module = importlib.import_module("kiosk.decoders")
    assert module.DEFAULT_ORDER == DEFAULT_ORDER


def test_bad_options_are_errors_not_fallbacks() -> None:
    build("zxing-cpp")
    with pytest.raises(ValueError, match="binarizer"):
        make_decoder("zxing-cpp", binarizer="Otsu")
    with pytest.raises(TypeError):
        make_decoder("pyzbar", try_invert=False)
    with pytest.raises(ValueError, match="max_side"):
        make_decoder(None, max_side=0)
