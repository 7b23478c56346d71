"""Uploads are what they claim: real PDFs and images pass, files that pretend do not."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript
from werkzeug.datastructures import FileStorage

from server import create_app
from server.errors import APIError
from server.storage import LocalStorage, get_storage
from server.uploads import StoredFile, human_size, store_upload
from tests.conftest import base_config

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
ORIENTATION = 0x0112


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """No table is touched: an empty SQLite file, the media folder in tmp_path."""
    app = create_app(
        {
            **base_config(f"sqlite:///{tmp_path / 'db.sqlite'}"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "UPLOAD_MAX_PDF_BYTES": 200_000,
            "UPLOAD_MAX_IMAGE_BYTES": 200_000,
            "UPLOAD_MAX_IMAGE_PIXELS": 1_000_000,
        }
    )
    with app.app_context():
        yield app


def media_files(app: Flask) -> list[str]:
    storage = get_storage(app)
    assert isinstance(storage, LocalStorage)
    return sorted(p.name for p in storage.root.iterdir()) if storage.root.exists() else []


def upload(data: bytes, filename: str | None, content_type: str | None) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)


def refused(app: Flask, field: str, data: bytes, filename: str | None, ctype: str | None) -> str:
    """The message of the 400 that names ``field``; and nothing was stored."""
    with pytest.raises(APIError) as info:
        store_upload(field, upload(data, filename, ctype))
    error = info.value
    assert error.status == 400
    assert error.code == "validation_error"
    assert error.fields is not None and list(error.fields) == [field]
    assert error.body()["error"].startswith(f"{field}: ")
    assert media_files(app) == []
    return error.fields[field]


def stored_bytes(app: Flask, stored: StoredFile) -> bytes:
    with get_storage(app).open(stored.name) as fh:
        return fh.read()


# ---------------------------------------------------------------------------
# real files


def make_pdf(pages: int = 1, *, encrypt: bool = False, javascript: bool = False) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "Programme"})
    if javascript:
        writer.add_open_action(JavaScript("app.alert('hello');"))
    if encrypt:
        writer.encrypt("secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_image(
    fmt: str, size: tuple[int, int] = (40, 30), *, exif: bool = False, mode: str = "RGB"
) -> bytes:
    image = Image.new(mode, size, "red" if mode != "L" else 128)
    # a different colour in the top left corner: orientation is visible
    image.paste("blue" if mode != "L" else 10, (0, 0, 10, 5))
    options: dict[str, Any] = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        data[0x0110] = "Phone 12"  # Model
        data[ORIENTATION] = 6  # rotate 90 degrees clockwise to view
        data.get_ifd(GPS_IFD).update({1: "N", 2: (36.0, 45.0, 12.5), 3: "E", 4: (3.0, 3.0, 30.0)})
        options["exif"] = data.tobytes()
    out = io.BytesIO()
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Author", "Jane Doe, 12 rue des Lilas")
        options["pnginfo"] = info
    image.save(out, fmt, **options)
    return out.getvalue()


def test_a_real_pdf_is_stored_as_it_came(app: Flask) -> None:
    data = make_pdf(pages=3)
    stored = store_upload("programme_file", upload(data, "programme.pdf", "application/pdf"))
    assert stored.content_type == "application/pdf"
    assert stored.name.endswith(".pdf") and stored.url == "/media/" + stored.name
    assert stored.size == len(data)
    assert stored_bytes(app, stored) == data
    assert len(PdfReader(io.BytesIO(stored_bytes(app, stored))).pages) == 3


@pytest.mark.parametrize("field", ["programme_file", "guide_file", "plan_file"])
@pytest.mark.parametrize(
    ("filename", "ctype"),
    [("guide.PDF", "application/pdf"), (None, None), ("blob", "application/octet-stream")],
)
def test_pdf_fields_take_a_pdf_however_it_is_named(
    app: Flask, field: str, filename: str | None, ctype: str | None
) -> None:
    stored = store_upload(field, upload(make_pdf(), filename, ctype))
    assert stored.field == field and stored.content_type == "application/pdf"


@pytest.mark.parametrize(
    ("fmt", "extension", "ctype", "filename"),
    [
        ("PNG", "png", "image/png", "logo.png"),
        ("JPEG", "jpg", "image/jpeg", "logo.jpeg"),
        ("WEBP", "webp", "image/webp", "logo.webp"),
    ],
)
def test_a_real_image_is_re_encoded_in_its_format(
    app: Flask, fmt: str, extension: str, ctype: str, filename: str
) -> None:
    data = make_image(fmt)
    stored = store_upload("logo", upload(data, filename, ctype))
    assert stored.content_type == ctype and stored.name.endswith("." + extension)
    with Image.open(io.BytesIO(stored_bytes(app, stored))) as image:
        assert image.format == fmt
        assert image.size == (40, 30)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_and_gps_are_gone_and_the_image_stays_upright(app: Flask, fmt: str) -> None:
    data = make_image(fmt, (40, 30), exif=True)
    with Image.open(io.BytesIO(data)) as original:  # the test's image does carry them
        assert original.getexif().get(0x010F) == "PhoneMaker"
        assert original.getexif().get_ifd(GPS_IFD)
    stored = store_upload("banner", upload(data, None, None))
    cleaned = stored_bytes(app, stored)
    with Image.open(io.BytesIO(cleaned)) as image:
        assert dict(image.getexif()) == {}
        assert not image.getexif().get_ifd(GPS_IFD)
        assert "exif" not in image.info and "xmp" not in image.info
        assert "Author" not in image.info
        # orientation 6 was applied: 40x30 is now 30x40, the corner moved to the top right
        assert image.size == (30, 40)
        corner = image.convert("RGB").getpixel((27, 3))
        assert isinstance(corner, tuple) and corner[2] > 150 and corner[0] < 100
    assert b"PhoneMaker" not in cleaned and b"Jane Doe" not in cleaned


def test_png_text_chunks_are_dropped(app: Flask) -> None:
    data = make_image("PNG")
    assert b"Jane Doe" in data
    stored = store_upload("logo", upload(data, "logo.png", "image/png"))
    assert b"Jane Doe" not in stored_bytes(app, stored)
    assert b"tEXt" not in stored_bytes(app, stored)


def test_transparency_and_palettes_survive(app: Flask) -> None:
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    image.putpixel((1, 1), (255, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    stored = store_upload("logo", upload(out.getvalue(), "logo.png", "image/png"))
    with Image.open(io.BytesIO(stored_bytes(app, stored))) as back:
        rgba = back.convert("RGBA")
        assert rgba.getpixel((0, 0)) == (0, 0, 0, 0)
        assert rgba.getpixel((1, 1)) == (255, 0, 0, 255)
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0])
    palette.putpixel((2, 2), 2)
    out = io.BytesIO()
    palette.save(out, "PNG", transparency=1)
    stored = store_upload("logo", upload(out.getvalue(), "logo.png", "image/png"))
    with Image.open(io.BytesIO(stored_bytes(app, stored))) as back:
        assert back.mode == "P"
        assert back.convert("RGBA").getpixel((0, 0)) == (255, 0, 0, 0)
        assert back.convert("RGBA").getpixel((2, 2)) == (0, 255, 0, 255)


# ---------------------------------------------------------------------------
# files that pretend


def test_a_png_named_pdf_is_not_a_pdf(app: Flask) -> None:
    message = refused(app, "programme_file", make_image("PNG"), "programme.pdf", None)
    assert message == "must be a PDF file."


def test_a_pdf_sent_as_image_png_is_refused_for_a_pdf_field(app: Flask) -> None:
    message = refused(app, "guide_file", make_pdf(), "guide.pdf", "image/png")
    assert "sent as image/png" in message


def test_a_pdf_in_an_image_field_is_refused(app: Flask) -> None:
    message = refused(app, "logo", make_pdf(), "logo.png", "image/png")
    assert message == "must be a PNG, JPEG or WebP image."


def test_a_pdf_named_pdf_in_an_image_field_is_refused_by_its_name(app: Flask) -> None:
    message = refused(app, "logo", make_pdf(), "logo.pdf", "application/pdf")
    assert "ends in .pdf" in message


def test_a_png_named_pdf_in_an_image_field_is_refused(app: Flask) -> None:
    message = refused(app, "banner", make_image("PNG"), "banner.pdf", None)
    assert "ends in .pdf" in message


def test_a_jpeg_that_says_it_is_a_png_is_refused(app: Flask) -> None:
    message = refused(app, "logo", make_image("JPEG"), "logo.png", None)
    assert message == "The file's name ends in .png but it is a JPEG image."
    message = refused(app, "logo", make_image("JPEG"), None, "image/png")
    assert message == "The file was sent as image/png but it is a JPEG image."


def test_html_named_pdf_is_refused(app: Flask) -> None:
    html = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    assert refused(app, "programme_file", html, "p.pdf", "application/pdf") == "must be a PDF file."


def test_a_pdf_that_is_also_a_web_page_is_refused(app: Flask) -> None:
    pdf = make_pdf()
    polyglot = pdf[:15] + b"\n%<html><script>alert(document.cookie)</script>\n" + pdf[15:]
    message = refused(app, "programme_file", polyglot, "p.pdf", "application/pdf")
    assert message == "must be a PDF file, not a web page."


def test_a_zip_named_pdf_is_refused(app: Flask) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("programme.pdf", make_pdf())
    assert refused(app, "plan_file", out.getvalue(), "plan.pdf", None) == "must be a PDF file."


def test_a_pdf_with_a_zip_appended_is_refused(app: Flask) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.txt", "a file of its own")
    polyglot = make_pdf() + out.getvalue() + b"\n%%EOF\n"
    message = refused(app, "programme_file", polyglot, "p.pdf", None)
    assert message == "must be a PDF file, not a PDF and an archive in one."


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_truncated_pdf_is_refused(app: Flask, keep: float) -> None:
    pdf = make_pdf(pages=2)
    message = refused(app, "guide_file", pdf[: int(len(pdf) * keep)], "g.pdf", None)
    assert "incomplete" in message or "damaged" in message


def test_a_pdf_header_with_garbage_is_refused(app: Flask) -> None:
    garbage = b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
    assert refused(app, "guide_file", garbage, "g.pdf", None) == (
        "The PDF file is damaged or not a PDF."
    )


def test_an_encrypted_pdf_is_refused(app: Flask) -> None:
    message = refused(app, "programme_file", make_pdf(encrypt=True), "p.pdf", None)
    assert message == "The PDF file must not be password protected."


def test_a_pdf_with_javascript_is_refused(app: Flask) -> None:
    message = refused(app, "programme_file", make_pdf(javascript=True), "p.pdf", None)
    assert message == "The PDF file must not contain JavaScript."


@pytest.mark.parametrize("field", ["programme_file", "logo"])
def test_a_zero_byte_file_is_refused(app: Flask, field: str) -> None:
    assert refused(app, field, b"", None, None) == "The submitted file is empty."


def test_no_file_is_refused(app: Flask) -> None:
    with pytest.raises(APIError) as info:
        store_upload("logo", None)
    assert info.value.fields == {"logo": "No file was submitted."}


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_truncated_image_is_refused(app: Flask, fmt: str) -> None:
    noisy = Image.effect_noise((300, 200), 80).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, fmt)
    data = out.getvalue()
    message = refused(app, "logo", data[: len(data) // 2], None, None)
    assert message in ("The image is damaged or incomplete.", "must be a PNG, JPEG or WebP image.")


def test_a_gif_or_svg_is_not_accepted(app: Flask) -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "GIF")
    assert refused(app, "logo", out.getvalue(), None, None) == "must be a PNG, JPEG or WebP image."
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert "ends in .svg" in refused(app, "logo", svg, "logo.svg", None)
    assert "sent as image/svg+xml" in refused(app, "logo", svg, None, "image/svg+xml")


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with a tiny body."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    # one row of zeros, compressed: a real bomb would inflate this to gigabytes
    body = zlib.compress(b"\x00" * (1 + 3 * min(width, 1000)), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(2000, 2000), (30000, 30000), (100000, 100000)])
def test_an_image_bomb_is_refused_from_its_header(app: Flask, width: int, height: int) -> None:
    data = bomb_png(width, height)
    assert len(data) < 2000
    message = refused(app, "banner", data, "banner.png", "image/png")
    assert message == "The image has more than 1000000 pixels."


def test_the_size_limit_is_per_kind(app: Flask) -> None:
    app.config["UPLOAD_MAX_IMAGE_BYTES"] = 1000
    big_image = Image.effect_noise((300, 300), 80).convert("RGB")
    out = io.BytesIO()
    big_image.save(out, "PNG")
    assert len(out.getvalue()) > 1000
    message = refused(app, "logo", out.getvalue(), "logo.png", None)
    assert message == "must be at most 1000 bytes."
    # the PDF limit is another one
    assert store_upload("plan_file", upload(make_pdf(pages=12), "plan.pdf", None)).size > 1000


def test_an_oversized_upload_is_not_read_past_the_limit(app: Flask) -> None:
    app.config["UPLOAD_MAX_PDF_BYTES"] = 100_000

    class Endless(io.RawIOBase):
        sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            n = len(buffer)
            buffer[:n] = b"%" * n
            self.sent += n
            return n

    stream = Endless()
    with pytest.raises(APIError) as info:
        store_upload("programme_file", FileStorage(stream, filename="p.pdf"))  # type: ignore[arg-type]
    assert info.value.fields == {"programme_file": "must be at most 97.7 KB."}
    assert stream.sent < 300_000
    assert media_files(app) == []


def test_sizes_read_as_people_write_them() -> None:
    assert human_size(10 * 1024 * 1024) == "10 MB"
    assert human_size(5 * 1024 * 1024) == "5 MB"
    assert human_size(2048) == "2 KB"


def test_only_file_fields_are_known(app: Flask) -> None:
    with pytest.raises(ValueError, match="not a file field"):
        store_upload("avatar", upload(make_image("PNG"), None, None))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_what_is_appended_to_an_image_is_dropped(app: Flask, fmt: str) -> None:
    """An image that is also a ZIP or a page (bytes after its end) comes out an image only."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("x.html", "<script>alert(1)</script>")
    polyglot = make_image(fmt) + b"<html><script>alert(1)</script></html>" + archive.getvalue()
    stored = store_upload("logo", upload(polyglot, None, None))
    cleaned = stored_bytes(app, stored)
    assert b"<script>" not in cleaned and b"PK\x03\x04" not in cleaned
    assert not zipfile.is_zipfile(io.BytesIO(cleaned))
