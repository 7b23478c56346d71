"""Uploaded files are what they claim to be, or a 400 that names the field.

The seed's file fields come in two kinds:

- **PDF** (``programme_file``, ``guide_file``, ``plan_file``): the file starts
  with a PDF header, ends with ``%%EOF`` (an upload cut short does not), is not
  also a ZIP archive or an HTML page, opens with pypdf (a real parse: the
  cross-reference table, the trailer, the page tree), is not encrypted, has a
  page, and carries no JavaScript. It is stored as it came.
- **Image** (``logo``, ``banner``): PNG, JPEG or WebP, checked by Pillow
  (header, then a full decode), at most ``UPLOAD_MAX_IMAGE_PIXELS`` pixels
  (read from the header, before anything is decoded: a decompression bomb is
  refused without being inflated), turned upright by its EXIF orientation,
  then re-encoded in its own format without its metadata (EXIF with any GPS
  position, XMP, text chunks, comments; the colour profile is kept). An
  animated image keeps its first frame.

The file's name and its declared content type, when they say anything
specific, must agree with what the bytes are. Each kind has a size limit
(``UPLOAD_MAX_PDF_BYTES``, ``UPLOAD_MAX_IMAGE_BYTES``), counted as the upload
is copied in chunks: a large upload is never held in memory, and is refused
as soon as it passes the limit. Nothing is stored unless every check passes.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, Literal, cast

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import DictionaryObject
from werkzeug.datastructures import FileStorage

from server.errors import APIError, validation_error
from server.storage import FileTooLarge, Storage, copy_limited, get_storage

log = logging.getLogger(__name__)

Kind = Literal["pdf", "image"]

#: the seed's file fields and what each must hold
FIELD_KINDS: dict[str, Kind] = {
    "programme_file": "pdf",
    "guide_file": "pdf",
    "plan_file": "pdf",
    "logo": "image",
    "banner": "image",
}

#: the config key of each kind's size limit, in bytes
SIZE_LIMIT_KEYS: dict[Kind, str] = {
    "pdf": "UPLOAD_MAX_PDF_BYTES",
    "image": "UPLOAD_MAX_IMAGE_BYTES",
}

#: declared types that say nothing about the content
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
_PDF_TYPES = {"application/pdf", "application/x-pdf", "application/acrobat"}
#: Pillow's format name -> (stored extension, content type, the names and types it goes by)
_IMAGE_FORMATS: dict[str, tuple[str, str, set[str], set[str]]] = {
    "PNG": ("png", "image/png", {"png"}, {"image/png", "image/x-png"}),
    "JPEG": (
        "jpg",
        "image/jpeg",
        {"jpg", "jpeg", "jpe", "jfif"},
        {"image/jpeg", "image/jpg", "image/pjpeg"},
    ),
    "WEBP": ("webp", "image/webp", {"webp"}, {"image/webp"}),
}
_LABELS = {"PNG": "a PNG", "JPEG": "a JPEG", "WEBP": "a WebP"}
_IMAGE_EXTENSIONS = set().union(*(names for _e, _t, names, _m in _IMAGE_FORMATS.values()))
_IMAGE_TYPES = set().union(*(types for _e, _t, _n, types in _IMAGE_FORMATS.values()))

#: a PDF reader finds the header at the start (a file with something before it is refused)
_PDF_HEADER = b"%PDF-"
_EOF_WINDOW = 1024
#: what a browser's sniffing would take for a page (checked in the first bytes)
_HTML_MARKERS = (b"<html", b"<!doctype", b"<script", b"<body", b"<head", b"<iframe", b"<svg")

NOT_A_PDF = "must be a PDF file."
NOT_AN_IMAGE = "must be a PNG, JPEG or WebP image."


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An accepted upload, as stored."""

    field: str
    name: str
    url: str
    content_type: str
    size: int


def size_limit(kind: Kind) -> int:
    return int(current_app.config[SIZE_LIMIT_KEYS[kind]])


def human_size(n: int) -> str:
    """``10485760`` is ``"10 MB"``, ``100000`` is ``"97.7 KB"``."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} bytes"


def _extension(filename: str | None) -> str | None:
    if not filename or "." not in filename.strip(". "):
        return None
    return filename.rsplit(".", 1)[1].strip().lower() or None


def _declared_type(upload: FileStorage) -> str:
    return (upload.mimetype or "").strip().lower()


def _spool(field: str, upload: FileStorage, limit: int) -> IO[bytes]:
    """The upload copied to a temporary file, within ``limit`` bytes."""
    spooled = tempfile.TemporaryFile()  # noqa: SIM115  (returned open; the caller closes it)
    try:
        size = copy_limited(cast(BinaryIO, upload.stream), cast(BinaryIO, spooled), limit)
    except FileTooLarge:
        spooled.close()
        raise validation_error(field, f"must be at most {human_size(limit)}.") from None
    except BaseException:
        spooled.close()
        raise
    if size == 0:
        spooled.close()
        raise validation_error(field, "The submitted file is empty.")
    spooled.seek(0)
    return spooled


# ---------------------------------------------------------------------------
# PDF


def _has_javascript(reader: PdfReader) -> bool:
    root = reader.trailer.get("/Root")
    root = root.get_object() if root is not None else None
    if not isinstance(root, DictionaryObject):
        return False
    if "/AA" in root:
        return True
    names = root.get("/Names")
    names = names.get_object() if names is not None else None
    if isinstance(names, DictionaryObject) and "/JavaScript" in names:
        return True
    action = root.get("/OpenAction")
    action = action.get_object() if action is not None else None
    return isinstance(action, DictionaryObject) and (
        "/JS" in action or action.get("/S") == "/JavaScript"
    )


def check_pdf(field: str, fh: IO[bytes]) -> int:
    """400 naming ``field`` unless ``fh`` (seekable) is a plain, readable PDF.
    Returns its page count; leaves ``fh`` at its start."""
    fh.seek(0)
    head = fh.read(_EOF_WINDOW)
    if not head.startswith(_PDF_HEADER):
        raise validation_error(field, NOT_A_PDF)
    lowered = head.lower()
    if any(marker in lowered for marker in _HTML_MARKERS):
        raise validation_error(field, "must be a PDF file, not a web page.")
    end = fh.seek(0, 2)
    fh.seek(max(0, end - _EOF_WINDOW))
    if b"%%EOF" not in fh.read():
        raise validation_error(field, "The PDF file is incomplete (it was cut short).")
    fh.seek(0)
    if zipfile.is_zipfile(fh):  # a ZIP's directory is at its end: a PDF with one appended
        raise validation_error(field, "must be a PDF file, not a PDF and an archive in one.")
    fh.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(fh, strict=False)
            if reader.is_encrypted:
                raise validation_error(field, "The PDF file must not be password protected.")
            pages = len(reader.pages)
            if pages:
                reader.pages[0].mediabox  # noqa: B018  (the first page's object parses)
            javascript = _has_javascript(reader)
    except APIError:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, OSError, RecursionError):
        log.info("upload %s: not a readable PDF", field, exc_info=True)
        raise validation_error(field, "The PDF file is damaged or not a PDF.") from None
    if pages == 0:
        raise validation_error(field, "The PDF file has no pages.")
    if javascript:
        raise validation_error(field, "The PDF file must not contain JavaScript.")
    fh.seek(0)
    return pages


def _check_pdf_claims(field: str, upload: FileStorage) -> None:
    extension = _extension(upload.filename)
    if extension is not None and extension != "pdf":
        raise validation_error(field, f"{NOT_A_PDF[:-1]}; the file's name ends in .{extension}.")
    declared = _declared_type(upload)
    if declared not in _GENERIC_TYPES and declared not in _PDF_TYPES:
        raise validation_error(field, f"{NOT_A_PDF[:-1]}; it was sent as {declared}.")


# ---------------------------------------------------------------------------
# images


@dataclass(frozen=True, slots=True)
class CleanImage:
    """An image re-encoded without its metadata, in a temporary file (at its start)."""

    data: IO[bytes]
    extension: str
    content_type: str
    width: int
    height: int


def _open_image(field: str, fh: IO[bytes], max_pixels: int) -> Image.Image:
    fh.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(fh, formats=list(_IMAGE_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise validation_error(field, f"The image has more than {max_pixels} pixels.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise validation_error(field, NOT_AN_IMAGE) from None
    width, height = image.size
    if width < 1 or height < 1:
        raise validation_error(field, NOT_AN_IMAGE)
    if width * height > max_pixels:
        raise validation_error(field, f"The image has more than {max_pixels} pixels.")
    return image


def clean_image(field: str, fh: IO[bytes], *, max_pixels: int) -> CleanImage:
    """400 naming ``field`` unless ``fh`` is a whole PNG, JPEG or WebP image of at
    most ``max_pixels``; else the image re-encoded without metadata."""
    image = _open_image(field, fh, max_pixels)
    image_format = _format_of(field, image)
    try:
        image.verify()  # checksums, structure (PNG's CRCs)
        image = _open_image(field, fh, max_pixels)  # verify() leaves it unusable
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()  # the whole image decodes: a truncated one does not
        upright = ImageOps.exif_transpose(image) or image
        upright.load()
    except APIError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombWarning):
        raise validation_error(field, "The image is damaged or incomplete.") from None
    extension, content_type, _names, _types = _IMAGE_FORMATS[image_format]
    out = tempfile.TemporaryFile()  # noqa: SIM115  (returned open in CleanImage)
    try:
        _encode(upright, image_format, image.info, out)
    except (OSError, ValueError):
        out.close()
        raise validation_error(field, "The image could not be processed.") from None
    out.seek(0)
    return CleanImage(out, extension, content_type, upright.width, upright.height)


def _encode(image: Image.Image, image_format: str, info: dict[str, Any], out: IO[bytes]) -> None:
    """Write ``image`` to ``out`` with pixels, palette, transparency and colour
    profile only."""
    clean = image.copy()
    kept = {k: info[k] for k in ("transparency", "icc_profile") if k in info}
    clean.info = dict(kept)
    options: dict[str, Any] = {"exif": b""}
    if "icc_profile" in kept:
        options["icc_profile"] = kept["icc_profile"]
    if image_format == "JPEG":
        if clean.mode not in ("L", "RGB", "CMYK"):
            clean = clean.convert("RGB")
        clean.save(out, "JPEG", quality=90, optimize=True, **options)
    elif image_format == "WEBP":
        if clean.mode not in ("RGB", "RGBA"):
            has_alpha = clean.mode in ("LA", "PA", "RGBa") or "transparency" in kept
            clean = clean.convert("RGBA" if has_alpha else "RGB")
        clean.save(out, "WEBP", quality=90, method=4, **options)
    else:
        if clean.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            clean = clean.convert("RGBA")
        if "transparency" in kept and clean.mode in ("1", "L", "P", "RGB"):
            options["transparency"] = kept["transparency"]
        clean.save(out, "PNG", optimize=False, **options)


def _check_image_claims(field: str, upload: FileStorage, image_format: str) -> None:
    _ext, _type, names, types = _IMAGE_FORMATS[image_format]
    what = _LABELS[image_format]
    extension = _extension(upload.filename)
    if extension is not None and extension not in names:
        raise validation_error(
            field, f"The file's name ends in .{extension} but it is {what} image."
        )
    declared = _declared_type(upload)
    if declared not in _GENERIC_TYPES and declared not in types:
        raise validation_error(field, f"The file was sent as {declared} but it is {what} image.")


def _check_image_name(field: str, upload: FileStorage) -> None:
    extension = _extension(upload.filename)
    if extension is not None and extension not in _IMAGE_EXTENSIONS:
        raise validation_error(field, f"{NOT_AN_IMAGE[:-1]}; the file's name ends in .{extension}.")
    declared = _declared_type(upload)
    if declared not in _GENERIC_TYPES and declared not in _IMAGE_TYPES:
        raise validation_error(field, f"{NOT_AN_IMAGE[:-1]}; it was sent as {declared}.")


# ---------------------------------------------------------------------------


def kind_of(field: str) -> Kind:
    try:
        return FIELD_KINDS[field]
    except KeyError:
        raise ValueError(f"{field!r} is not a file field") from None


def store_upload(
    field: str, upload: FileStorage | None, *, storage: Storage | None = None
) -> StoredFile:
    """Check ``upload`` for the file field ``field`` and store it (or its cleaned
    image). A 400 naming ``field`` if it is missing or not what it must be."""
    kind = kind_of(field)
    if upload is None or not isinstance(upload, FileStorage):
        raise validation_error(field, "No file was submitted.")
    storage = storage or get_storage()
    if kind == "pdf":
        _check_pdf_claims(field, upload)
    else:
        _check_image_name(field, upload)
    with _spool(field, upload, size_limit(kind)) as spooled:
        if kind == "pdf":
            check_pdf(field, spooled)
            name = storage.save(cast(BinaryIO, spooled), "pdf")
            content_type = "application/pdf"
        else:
            max_pixels = int(current_app.config["UPLOAD_MAX_IMAGE_PIXELS"])
            image_format = _sniff_image_format(field, spooled, max_pixels)
            _check_image_claims(field, upload, image_format)
            cleaned = clean_image(field, spooled, max_pixels=max_pixels)
            with cleaned.data:
                name = storage.save(cast(BinaryIO, cleaned.data), cleaned.extension)
            content_type = cleaned.content_type
    return StoredFile(field, name, storage.url(name), content_type, storage.size(name))


def _format_of(field: str, image: Image.Image) -> str:
    """Pillow's format name, among the three accepted (a camera's MPO is a JPEG)."""
    image_format = "JPEG" if image.format == "MPO" else (image.format or "")
    if image_format not in _IMAGE_FORMATS:
        raise validation_error(field, NOT_AN_IMAGE)
    return image_format


def _sniff_image_format(field: str, fh: IO[bytes], max_pixels: int) -> str:
    image = _open_image(field, fh, max_pixels)
    fh.seek(0)
    return _format_of(field, image)
