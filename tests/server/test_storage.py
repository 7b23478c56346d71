"""Stored files: UUID names, nothing half-written, size limits, and /media/ serving."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.media import file_url
from server.storage import (
    CHUNK_SIZE,
    FileTooLarge,
    InvalidName,
    LocalStorage,
    StorageError,
    get_storage,
    is_valid_name,
)
from tests.conftest import base_config


class CountingReader(io.RawIOBase):
    """A stream of ``total`` bytes that records the largest read asked of it."""

    def __init__(self, total: int, fail_after: int | None = None) -> None:
        self.left = total
        self.sent = 0
        self.largest_read = 0
        self.fail_after = fail_after

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("the whole stream was asked for at once")
        self.largest_read = max(self.largest_read, size)
        if self.fail_after is not None and self.sent >= self.fail_after:
            raise OSError("connection reset")
        n = min(size, self.left)
        self.left -= n
        self.sent += n
        return b"x" * n


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_save_gives_a_new_uuid_name_and_keeps_the_bytes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    first = storage.save(io.BytesIO(b"%PDF-1.7 one"), "pdf")
    second = storage.save(io.BytesIO(b"%PDF-1.7 one"), ".PDF")
    assert first != second
    assert is_valid_name(first) and first.endswith(".pdf") and second.endswith(".pdf")
    with storage.open(first) as fh:
        assert fh.read() == b"%PDF-1.7 one"
    assert storage.size(first) == len(b"%PDF-1.7 one")
    assert b"".join(storage.stream(first, chunk_size=3)) == b"%PDF-1.7 one"
    assert storage.url(first) == "/media/" + first
    assert sorted(storage.names()) == sorted([first, second])
    assert storage.exists(first)
    storage.delete(first)
    storage.delete(first)  # already gone: no error
    assert not storage.exists(first)
    with pytest.raises(StorageError):
        storage.open(first)
    with pytest.raises(StorageError):
        storage.size(first)


def test_save_streams_in_chunks(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    reader = CountingReader(5 * CHUNK_SIZE + 17)
    name = storage.save(reader, "png", max_bytes=10 * CHUNK_SIZE)  # type: ignore[arg-type]
    assert storage.size(name) == 5 * CHUNK_SIZE + 17
    assert reader.largest_read == CHUNK_SIZE


def test_too_large_stops_early_and_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    reader = CountingReader(100 * CHUNK_SIZE)
    with pytest.raises(FileTooLarge) as info:
        storage.save(reader, "pdf", max_bytes=2 * CHUNK_SIZE)  # type: ignore[arg-type]
    assert info.value.limit == 2 * CHUNK_SIZE
    assert reader.sent <= 3 * CHUNK_SIZE  # it stopped reading at the limit
    assert _leftovers(tmp_path) == []


def test_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    name = storage.save(io.BytesIO(b"a" * 1000), "pdf", max_bytes=1000)
    assert storage.size(name) == 1000


def test_a_stream_that_fails_midway_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    reader = CountingReader(10 * CHUNK_SIZE, fail_after=2 * CHUNK_SIZE)
    with pytest.raises(OSError, match="connection reset"):
        storage.save(reader, "pdf")  # type: ignore[arg-type]
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("extension", ["exe", "html", "svg", "../pdf", "p/df", "", "x" * 9])
def test_only_served_extensions_are_stored(tmp_path: Path, extension: str) -> None:
    with pytest.raises(InvalidName):
        LocalStorage(tmp_path).save(io.BytesIO(b"x"), extension)
    assert _leftovers(tmp_path) == []


BAD_NAMES = [
    "../secret.pdf",
    "..%2Fsecret.pdf",
    "/etc/passwd",
    "a/b.pdf",
    "a\\b.pdf",
    "0123456789abcdef0123456789abcdef.pdf/..",
    "0123456789abcdef0123456789abcdef.pdf\x00.png",
    "0123456789ABCDEF0123456789ABCDEF.pdf",
    "0123456789abcdef0123456789abcdef.html",
    "0123456789abcdef0123456789abcdef.pdf\n",
    ".upload-abc.part",
    "",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_it_did_not_make_are_refused(tmp_path: Path, name: str) -> None:
    storage = LocalStorage(tmp_path)
    assert not is_valid_name(name)
    for call in (storage.open, storage.size, storage.delete, storage.url, storage.path):
        with pytest.raises(InvalidName):
            call(name)


# ---------------------------------------------------------------------------
# GET /media/<name>


@pytest.fixture
def media_app(tmp_path: Path) -> Flask:
    # the route touches no table: an empty SQLite file is enough
    return create_app(
        {**base_config(f"sqlite:///{tmp_path / 'db.sqlite'}"), "MEDIA_ROOT": str(tmp_path / "m")}
    )


@pytest.fixture
def media_client(media_app: Flask) -> FlaskClient:
    return media_app.test_client()


def _store(app: Flask, data: bytes, extension: str) -> str:
    with app.app_context():
        return get_storage().save(io.BytesIO(data), extension)


def test_media_root_defaults_to_the_instance_folder(tmp_path: Path) -> None:
    app = create_app(base_config(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    with app.app_context():
        storage = get_storage()
        assert isinstance(storage, LocalStorage)
        assert storage.root == Path(app.instance_path) / "media"


@pytest.mark.parametrize(
    ("extension", "content_type"),
    [
        ("pdf", "application/pdf"),
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("webp", "image/webp"),
    ],
)
def test_media_serves_with_its_content_type_and_nosniff(
    media_app: Flask, media_client: FlaskClient, extension: str, content_type: str
) -> None:
    name = _store(media_app, b"stored bytes", extension)
    response = media_client.get(f"/media/{name}")
    assert response.status_code == 200
    assert response.data == b"stored bytes"
    assert response.mimetype == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "immutable" in response.headers["Cache-Control"]


def test_media_answers_ranges_and_conditional_requests(
    media_app: Flask, media_client: FlaskClient
) -> None:
    data = bytes(range(256)) * 40
    name = _store(media_app, data, "pdf")
    part = media_client.get(f"/media/{name}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.data == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert part.headers["X-Content-Type-Options"] == "nosniff"
    tail = media_client.get(f"/media/{name}", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == data[-10:]
    beyond = media_client.get(f"/media/{name}", headers={"Range": f"bytes={len(data) + 5}-"})
    assert beyond.status_code == 416
    etag = media_client.get(f"/media/{name}").headers["ETag"]
    again = media_client.get(f"/media/{name}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    head = media_client.head(f"/media/{name}")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))


def test_media_is_in_the_document_with_its_content_types(
    media_app: Flask, media_client: FlaskClient
) -> None:
    spec = media_client.get("/api/openapi.json").get_json()
    op = spec["paths"]["/media/{name}"]["get"]
    assert op["security"] == []
    assert {"200", "206", "304", "404", "416"} <= set(op["responses"])
    for code in ("200", "206"):
        content = op["responses"][code]["content"]
        assert set(content) == {"application/pdf", "image/png", "image/jpeg", "image/webp"}
        for media_type in content.values():
            assert media_type["schema"] == {"type": "string", "format": "binary"}
    assert "application/json" in op["responses"]["404"]["content"]
    for extension in ("pdf", "png", "jpg", "webp"):  # what is served is what is documented
        served = media_client.get(f"/media/{_store(media_app, b'x', extension)}")
        assert served.status_code == 200 and served.mimetype in op["responses"]["200"]["content"]


@pytest.mark.parametrize(
    "path",
    [
        "/media/../badgegate.db",
        "/media/..%2Fbadgegate.db",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/sub/0123456789abcdef0123456789abcdef.pdf",
        "/media/0123456789abcdef0123456789abcdef.pdf%00.png",
        "/media/..%5C..%5Cbadgegate.db",
        "/media/0123456789abcdef0123456789abcdef.pdf",  # well formed, not stored
        "/media/badgegate.db",
        "/media/.upload-x.part",
    ],
)
def test_media_refuses_path_tricks(media_client: FlaskClient, path: str) -> None:
    response = media_client.get(path)
    assert response.status_code == 404
    assert response.is_json and response.get_json()["code"] == "not_found"


def _read_all(fh: BinaryIO) -> bytes:
    with fh:
        return fh.read()


def test_storage_open_is_a_binary_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    name = storage.save(io.BytesIO(b"abc"), "webp")
    assert _read_all(storage.open(name)) == b"abc"


def test_file_urls_are_absolute_in_a_request(media_app: Flask) -> None:
    name = _store(media_app, b"x", "pdf")
    with media_app.test_request_context("/api/events/", base_url="https://badges.example.org"):
        assert file_url(name) == f"https://badges.example.org/media/{name}"
        assert file_url(None) is None and file_url("") is None
    with media_app.app_context():
        assert file_url(name) == f"/media/{name}"
    media_app.config["MEDIA_URL"] = "https://cdn.example.org/files/"
    with media_app.app_context():
        cdn = LocalStorage(Path("/nowhere"), media_app.config["MEDIA_URL"])
        assert file_url(name, cdn) == f"https://cdn.example.org/files/{name}"
