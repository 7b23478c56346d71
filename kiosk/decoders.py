"""QR decoding behind one small interface.

A :class:`Decoder` has a ``name`` and ``decode(frame) -> list[Detection]``: give
it a webcam frame (a ``uint8`` numpy array, BGR or grayscale) and it returns
one :class:`Detection` per QR code it could read, with the code's raw payload
bytes and its corners in frame pixels.

Three implementations, each around an optional native library that is
imported only when the decoder is built:

* :class:`ZxingDecoder` (``zxing-cpp``, the ``zxing-cpp`` wheel);
* :class:`PyzbarDecoder` (``pyzbar``, which needs the system's libzbar);
* :class:`OpenCVDecoder` (``opencv``, OpenCV's QR detector).

Building one whose library cannot load raises :class:`DecoderUnavailable`
with the reason. :func:`make_decoder` never lets that stop a kiosk: it falls
back along :data:`DEFAULT_ORDER` and says which decoder is in use and why.
Nothing here is imported at module level but the standard library, so
``kiosk`` imports whatever is missing.

Payloads are returned as the exact bytes stored in the code, including
control characters and bytes that are not UTF-8, except where a library
cannot give them: OpenCV transcodes a byte segment that is not valid UTF-8
from ISO-8859-1 to UTF-8 (see :class:`OpenCVDecoder`), which is one reason it
is last in the fallback order. Deciding what a payload means is
``shared.badge.parse_badge``'s job, not a decoder's.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

ZXING = "zxing-cpp"
PYZBAR = "pyzbar"
OPENCV = "opencv"

#: The order ``make_decoder(None)`` tries decoders in: the first one that loads
#: is the default, the others are fallbacks.
#:
#: Chosen by measurement, ``.venv/bin/python bench/decode.py`` (80 frames,
#: 720p and 1080p, synthetic and photographed badges of 5 sizes, empty
#: frames; BGR in, so grayscale conversion included), on a shared 2-vCPU
#: x86-64 VM, zxing-cpp 3.1.1, zbar 0.23, OpenCV 5.0.0:
#:
#: =========  ===========  ============  ==============  ========================
#: decoder    median 720p  median 1080p  codes read      vs pyzbar (same frames)
#: =========  ===========  ============  ==============  ========================
#: zxing-cpp  1.6 ms       3.9 ms        39/44 (88.6%)   8.7x faster, +2.3 points
#: pyzbar     15.0 ms      34.5 ms       38/44 (86.4%)   1x
#: opencv     12.0 ms      56.6 ms       35/44 (79.5%)   ~0.4x on frames with a badge
#: =========  ===========  ============  ==============  ========================
#:
#: zxing-cpp with the library's defaults on the full-resolution grayscale
#: frame is both the fastest and the one that reads the most (decode +
#: ``parse_badge`` + ``decide`` on a 1080p frame with a badge: median 4.0 ms,
#: goal < 10 ms). Downscaling does not pay (``--variants``): ``max_side=960``
#: cuts zxing-cpp's 1080p time to 1.7 ms but loses 11 points of detection
#: (small codes), and the other zxing-cpp options save 1-2 ms at best. pyzbar
#: comes next (exact bytes too, but needs libzbar); OpenCV's aruco detector is
#: last: quick on empty frames, 2.5-3x slower than pyzbar once a badge is in
#: view, misses slanted or blurred badges, and cannot return non-UTF-8
#: payloads exactly (its classic detector is slower still and reads half).
DEFAULT_ORDER: tuple[str, ...] = (ZXING, PYZBAR, OPENCV)


class DecoderUnavailable(RuntimeError):
    """A decoder's library cannot be loaded here; ``reason`` says why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Detection:
    """One QR code read from a frame."""

    #: the payload exactly as stored in the code
    data: bytes
    #: the code's corner points in frame pixels (usually 4, in the code's own
    #: order: top-left, top-right, bottom-right, bottom-left)
    polygon: list[tuple[int, int]]


@runtime_checkable
class Decoder(Protocol):
    """Reads every QR code in a frame. Instances are not thread-safe: use one per thread."""

    name: str

    def decode(self, frame: np.ndarray) -> list[Detection]:
        """The QR codes in ``frame`` (``uint8``, HxW gray or HxWx3 BGR); [] if none."""
        ...


# ---------------------------------------------------------------------------
# frame preparation, shared by the implementations


def _import_cv2() -> Any:
    import cv2

    return cv2


def _to_gray(frame: np.ndarray) -> np.ndarray:
    """``frame`` as a contiguous 2-D ``uint8`` grayscale image."""
    import numpy as np

    if not isinstance(frame, np.ndarray):
        raise TypeError(f"a frame must be a numpy array, not {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"a frame must be uint8, not {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise ValueError(f"a frame must be HxW, HxWx3 (BGR) or HxWx4 (BGRA), not {frame.shape}")
    try:
        cv2 = _import_cv2()
    except ImportError:  # only on a broken OpenCV install: slower, same result
        weights = np.array([0.114, 0.587, 0.299], dtype=np.float32)
        return np.ascontiguousarray((frame[:, :, :3] @ weights + 0.5).astype(np.uint8))
    code = cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
    return cv2.cvtColor(frame, code)


def _shrink(gray: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    """``gray`` scaled down so its longer side is at most ``max_side``, and the
    factor that maps its pixels back to the frame's (1.0 when not scaled)."""
    longest = max(gray.shape[:2])
    if not max_side or longest <= max_side:
        return gray, 1.0
    factor = longest / max_side
    size = (max(1, round(gray.shape[1] / factor)), max(1, round(gray.shape[0] / factor)))
    cv2 = _import_cv2()
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), gray.shape[1] / size[0]


def _polygon(points: Any, factor: float = 1.0) -> list[tuple[int, int]]:
    return [(round(float(x) * factor), round(float(y) * factor)) for x, y in points]


class _Prepared:
    """Common frame handling: grayscale conversion, then an optional downscale."""

    name: str = ""

    def __init__(self, max_side: int | None = None) -> None:
        if max_side is not None and max_side < 64:
            raise ValueError("max_side must be at least 64 pixels (or None for no downscaling)")
        self.max_side = max_side

    def decode(self, frame: np.ndarray) -> list[Detection]:
        gray, factor = _shrink(_to_gray(frame), self.max_side)
        return self._decode_gray(gray, factor)

    def _decode_gray(self, gray: np.ndarray, factor: float) -> list[Detection]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_side={self.max_side!r})"


# ---------------------------------------------------------------------------
# zxing-cpp


class ZxingDecoder(_Prepared):
    """zxing-cpp's reader, restricted to QR codes, on the grayscale frame.

    ``try_rotate``, ``try_downscale``, ``try_invert`` and ``binarizer`` (a
    name of ``zxingcpp.Binarizer``: ``LocalAverage``, ``GlobalHistogram``,
    ``FixedThreshold``, ``BoolCast``) are passed to ``zxingcpp.read_barcodes``;
    the defaults are the library's, which measured best (see ``bench/decode.py``).
    """

    name = ZXING

    def __init__(
        self,
        max_side: int | None = None,
        *,
        try_rotate: bool = True,
        try_downscale: bool = True,
        try_invert: bool = True,
        binarizer: str = "LocalAverage",
    ) -> None:
        super().__init__(max_side)
        try:
            import zxingcpp
        except ImportError as exc:
            raise DecoderUnavailable(
                ZXING, f"cannot import zxingcpp ({exc}; pip install zxing-cpp)"
            ) from exc
        except OSError as exc:  # a native dependency of the wheel is missing
            raise DecoderUnavailable(ZXING, f"cannot load zxingcpp ({exc})") from exc
        try:
            chosen = getattr(zxingcpp.Binarizer, binarizer)
        except AttributeError:
            raise ValueError(f"unknown zxing-cpp binarizer {binarizer!r}") from None
        self._read = zxingcpp.read_barcodes
        # Badges are full-size (model 2) QR codes. zxing-cpp 3's ``QRCode`` is a
        # family that also reads Micro QR and rMQR, and it then reads phantom
        # Micro QR codes (e.g. "25309") in the finder patterns of a large code:
        # a red verdict right after the real one. zxing-cpp 2's ``QRCode`` is
        # the full-size code only (it has no ``QRCodeModel2``).
        formats = zxingcpp.BarcodeFormat
        self._formats = getattr(formats, "QRCodeModel2", formats.QRCode)
        # only what differs from the library's defaults, so that the plain
        # call works with every zxing-cpp version (option names grew over time)
        self._options: dict[str, Any] = {
            k: v
            for k, v in (
                ("try_rotate", try_rotate),
                ("try_downscale", try_downscale),
                ("try_invert", try_invert),
            )
            if not v
        }
        if binarizer != "LocalAverage":
            self._options["binarizer"] = chosen
        import numpy as np

        try:  # fail now, not on the first frame, if this version lacks an option
            self._read(np.zeros((32, 32), np.uint8), formats=self._formats, **self._options)
        except TypeError:
            asked = ", ".join(f"{k}={v}" for k, v in self._options.items())
            raise ValueError(f"this zxing-cpp does not accept {asked} (upgrade it)") from None

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self._options.items() if k != "binarizer")
        if "binarizer" in self._options:
            extra += f", binarizer={self._options['binarizer'].name!r}"
        return f"ZxingDecoder(max_side={self.max_side!r}{extra})"

    def _decode_gray(self, gray: np.ndarray, factor: float) -> list[Detection]:
        results = self._read(gray, formats=self._formats, **self._options)
        out = []
        for r in results:
            data = getattr(r, "bytes", None)  # the raw bytes; .text is transcoded
            if data is None:
                data = r.text.encode("utf-8")
            pos = r.position
            corners = [pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left]
            out.append(Detection(bytes(data), _polygon(((p.x, p.y) for p in corners), factor)))
        return out


# ---------------------------------------------------------------------------
# pyzbar


#: zbar's image format for 8-bit grayscale: fourcc("Y800")
_FOURCC_Y800 = int.from_bytes(b"Y800", "little")


def _import_pyzbar() -> Any:
    """``pyzbar.wrapper`` (pyzbar's ctypes bindings), or :class:`DecoderUnavailable`."""
    try:
        from pyzbar import pyzbar, wrapper
    except ImportError as exc:
        if "zbar shared library" in str(exc):
            reason = "libzbar not found (apt-get install libzbar0)"
        else:
            reason = f"cannot import pyzbar ({exc}; pip install pyzbar)"
        raise DecoderUnavailable(PYZBAR, reason) from exc
    except OSError as exc:  # libzbar found but it (or a dependency) does not load
        raise DecoderUnavailable(PYZBAR, f"cannot load libzbar ({exc})") from exc
    del pyzbar  # imported for its checks; the decoder calls the bindings directly
    return wrapper


class PyzbarDecoder(_Prepared):
    """zbar through pyzbar, QR codes only, on the grayscale frame.

    It does what ``pyzbar.decode(gray, symbols=[ZBarSymbol.QRCODE])`` does,
    with pyzbar's own bindings, plus one setting that call cannot make:
    zbar's binary mode (zbar >= 0.23.1). Without it zbar guesses a byte
    segment's character set (UTF-8, Shift-JIS, ISO-8859-1...) and returns
    the payload converted to UTF-8, so bytes that are not UTF-8, and even
    some UTF-8 text, come back changed. With an older zbar the decoder still
    works, with that conversion (``binary_mode`` is then False).
    """

    name = PYZBAR

    def __init__(self, max_side: int | None = None) -> None:
        super().__init__(max_side)
        wrapper = _import_pyzbar()
        self._w = wrapper
        self._qr = int(wrapper.ZBarSymbol.QRCODE)
        self._others = [int(s) for s in wrapper.ZBarSymbol if s != wrapper.ZBarSymbol.QRCODE]
        self._binary = _zbar_binary_config(wrapper)
        self.binary_mode = self._binary is not None

    def _decode_gray(self, gray: np.ndarray, factor: float) -> list[Detection]:
        w = self._w
        height, width = gray.shape
        scanner = w.zbar_image_scanner_create()
        if not scanner:
            raise MemoryError("zbar could not create an image scanner")
        try:
            cfg_enable = w.ZBarConfig.CFG_ENABLE
            for symbology in self._others:
                w.zbar_image_scanner_set_config(scanner, symbology, cfg_enable, 0)
            w.zbar_image_scanner_set_config(scanner, self._qr, cfg_enable, 1)
            if self._binary is not None:
                w.zbar_image_scanner_set_config(scanner, *self._binary)
            image = w.zbar_image_create()
            if not image:
                raise MemoryError("zbar could not create an image")
            try:
                w.zbar_image_set_format(image, _FOURCC_Y800)
                w.zbar_image_set_size(image, width, height)
                pixels = gray.ctypes.data_as(ctypes.c_void_p)
                w.zbar_image_set_data(image, pixels, width * height, None)
                if w.zbar_scan_image(scanner, image) < 0:
                    raise RuntimeError("zbar rejected the image format")
                return self._symbols(image, factor)
            finally:
                w.zbar_image_destroy(image)
        finally:
            w.zbar_image_scanner_destroy(scanner)

    def _symbols(self, image: Any, factor: float) -> list[Detection]:
        w = self._w
        out = []
        symbol = w.zbar_image_first_symbol(image)
        while symbol:
            data = ctypes.string_at(
                w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol)
            )
            points = [
                (w.zbar_symbol_get_loc_x(symbol, i), w.zbar_symbol_get_loc_y(symbol, i))
                for i in range(w.zbar_symbol_get_loc_size(symbol))
            ]
            if len(points) == 4:  # zbar goes round the other way: TL, BL, BR, TR
                points = [points[0], points[3], points[2], points[1]]
            out.append(Detection(data, _polygon(points, factor)))
            symbol = w.zbar_symbol_next(symbol)
        return out


def _zbar_binary_config(wrapper: Any) -> tuple[int, int, int] | None:
    """``(symbology, config, value)`` that turns on zbar's binary mode for QR
    codes, from zbar itself (``zbar_parse_config``); None if it has none."""
    parse: Callable[..., int] | None = getattr(wrapper, "zbar_parse_config", None)
    if parse is None:
        return None
    sym, cfg, val = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    try:
        failed = parse(b"qrcode.binary=1", ctypes.byref(sym), ctypes.byref(cfg), ctypes.byref(val))
    except (ctypes.ArgumentError, OSError):
        return None
    if failed:
        return None
    return sym.value, cfg.value, val.value


# ---------------------------------------------------------------------------
# OpenCV


class OpenCVDecoder(_Prepared):
    """OpenCV's QR detector: ``cv2.QRCodeDetectorAruco`` when this OpenCV has
    it (``aruco=None`` or True), else the classic ``cv2.QRCodeDetector``.

    Payloads come from ``detectAndDecodeBytesMulti`` where OpenCV has it
    (OpenCV 5, 4.11+), else from the text of ``detectAndDecodeMulti``
    encoded back to UTF-8. Either way OpenCV itself converts a byte segment
    that is not valid UTF-8 as if it were ISO-8859-1, so such payloads come
    back as that conversion, not as the bytes in the code; they still never
    parse as a badge.
    """

    name = OPENCV

    def __init__(self, max_side: int | None = None, *, aruco: bool | None = None) -> None:
        super().__init__(max_side)
        try:
            cv2 = _import_cv2()
        except ImportError as exc:  # e.g. libGL missing for opencv-python
            raise DecoderUnavailable(OPENCV, f"cannot import cv2 ({exc})") from exc
        has_aruco = hasattr(cv2, "QRCodeDetectorAruco")
        if aruco and not has_aruco:
            raise DecoderUnavailable(OPENCV, f"OpenCV {cv2.__version__} has no QRCodeDetectorAruco")
        self.aruco = has_aruco if aruco is None else aruco
        self._detector = cv2.QRCodeDetectorAruco() if self.aruco else cv2.QRCodeDetector()
        self._raw = hasattr(self._detector, "detectAndDecodeBytesMulti")

    def _decode_gray(self, gray: np.ndarray, factor: float) -> list[Detection]:
        if self._raw:
            ok, payloads, points, _ = self._detector.detectAndDecodeBytesMulti(gray)
        else:
            ok, texts, points, _ = self._detector.detectAndDecodeMulti(gray)
            payloads = [t.encode("utf-8", "surrogateescape") for t in texts] if ok else []
        if not ok or points is None:
            return []
        out = []
        for data, quad in zip(payloads, points, strict=False):
            if data:  # detected but not decoded: OpenCV reports an empty payload
                out.append(Detection(bytes(data), _polygon(quad.reshape(-1, 2), factor)))
        return out

    def __repr__(self) -> str:
        return f"OpenCVDecoder(max_side={self.max_side!r}, aruco={self.aruco!r})"


# ---------------------------------------------------------------------------
# choosing one

#: name -> implementation
DECODERS: dict[str, Callable[..., Decoder]] = {
    ZXING: ZxingDecoder,
    PYZBAR: PyzbarDecoder,
    OPENCV: OpenCVDecoder,
}


def _build(name: str, options: dict[str, Any]) -> Decoder:
    try:
        return DECODERS[name](**options)
    except (DecoderUnavailable, ValueError, TypeError):
        raise  # TypeError, ValueError: bad options, the caller's mistake
    except Exception as exc:  # a library that imports but breaks on first use
        raise DecoderUnavailable(name, f"failed to start ({type(exc).__name__}: {exc})") from exc


def available_decoders() -> dict[str, str | None]:
    """Every decoder, in :data:`DEFAULT_ORDER`: None if it loads here, else why not."""
    out: dict[str, str | None] = {}
    for name in DEFAULT_ORDER:
        try:
            _build(name, {})
        except DecoderUnavailable as exc:
            out[name] = exc.reason
        else:
            out[name] = None
    return out


def make_decoder(name: str | None = None, **options: Any) -> tuple[Decoder, str]:
    """The decoder ``name`` (None: the default), and a one-line note for the
    kiosk's screen and log saying which decoder is in use and why.

    When the wanted decoder cannot load, the next one in
    :data:`DEFAULT_ORDER` that can is returned instead and the note gives the
    reason, e.g. ``decoder: zxing-cpp (pyzbar unavailable: libzbar not found
    (apt-get install libzbar0))``. ``options`` (e.g. ``max_side``) go to the
    wanted decoder only, not to fallbacks. Raises ValueError for an unknown
    name, ValueError or TypeError for bad options, and
    :class:`DecoderUnavailable` only when no decoder at all loads (OpenCV is
    a hard dependency, so that is a broken install).
    """
    if name is not None and name not in DECODERS:
        known = ", ".join(DEFAULT_ORDER)
        raise ValueError(f"unknown decoder {name!r}: choose one of {known}")
    wanted = name if name is not None else DEFAULT_ORDER[0]
    order = [wanted, *(n for n in DEFAULT_ORDER if n != wanted)]
    problems: list[str] = []
    for candidate in order:
        try:
            decoder = _build(candidate, options if candidate == wanted else {})
        except DecoderUnavailable as exc:
            problems.append(f"{candidate} unavailable: {exc.reason}")
            continue
        if problems:
            why = "; ".join(problems)
        elif name is None:
            why = "default"
        else:
            why = "chosen"
        return decoder, f"decoder: {decoder.name} ({why})"
    raise DecoderUnavailable(wanted, "no QR decoder can load: " + "; ".join(problems))


__all__ = [
    "DECODERS",
    "DEFAULT_ORDER",
    "Decoder",
    "DecoderUnavailable",
    "Detection",
    "OpenCVDecoder",
    "PyzbarDecoder",
    "ZxingDecoder",
    "available_decoders",
    "make_decoder",
]
