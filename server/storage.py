"""Stored files (event logos and banners, programme, guide and plan PDFs).

One small interface, :class:`Storage`, with a local-disk implementation,
:class:`LocalStorage`, under ``MEDIA_ROOT`` (``<instance>/media`` unless set).
An object store can implement the same methods later; callers only ever hold
the *name* a file was saved under (a new UUID and an extension), never a path.

A file is written to a temporary file beside its final place, in chunks, with
the size limit checked as the bytes arrive, and renamed into place only once
complete: a failed or refused upload leaves nothing behind, half-written or not.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app

#: bytes read and written at a time
CHUNK_SIZE = 64 * 1024

#: a stored name: 32 hex digits (a UUID) and a short lower-case extension
_NAME = re.compile(r"\A[0-9a-f]{32}\.[a-z0-9]{1,8}\Z")
_EXTENSION = re.compile(r"\A[a-z0-9]{1,8}\Z")

#: the content type each stored extension is served with (others are not stored)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
}


class StorageError(Exception):
    """A file could not be stored or found."""


class FileTooLarge(StorageError):
    """The stream went past the size limit; nothing was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class InvalidName(StorageError):
    """Not a name this storage gives out (a path, ``..``, another extension)."""


def is_valid_name(name: str) -> bool:
    """A name as :meth:`Storage.save` makes them, with an extension that is served."""
    if not isinstance(name, str) or not _NAME.match(name):
        return False
    return name.rsplit(".", 1)[1] in CONTENT_TYPES


def content_type_for(name: str) -> str:
    """The content type a stored name is served with."""
    if not is_valid_name(name):
        raise InvalidName(name)
    return CONTENT_TYPES[name.rsplit(".", 1)[1]]


def copy_limited(
    source: BinaryIO, target: BinaryIO, max_bytes: int | None, chunk_size: int = CHUNK_SIZE
) -> int:
    """Copy ``source`` to ``target`` chunk by chunk; :class:`FileTooLarge` as soon as
    more than ``max_bytes`` have come. Returns the number of bytes copied."""
    total = 0
    while True:
        chunk = source.read(chunk_size)
        if not chunk:
            return total
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise FileTooLarge(max_bytes)
        target.write(chunk)


class Storage(Protocol):
    """Where uploaded files live. Names come from :meth:`save`, nowhere else."""

    def save(self, stream: BinaryIO, extension: str, *, max_bytes: int | None = None) -> str:
        """Store the rest of ``stream`` under a new name ``<uuid hex>.<extension>``."""
        ...

    def open(self, name: str) -> BinaryIO:
        """The stored file, for reading (the caller closes it)."""
        ...

    def stream(self, name: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The stored file's bytes, a chunk at a time."""
        ...

    def delete(self, name: str) -> None:
        """Remove a stored file; a name that is not there is not an error."""
        ...

    def exists(self, name: str) -> bool: ...

    def size(self, name: str) -> int:
        """The stored file's size in bytes."""
        ...

    def url(self, name: str) -> str:
        """Where clients download it (relative to the server unless configured)."""
        ...

    def names(self) -> Iterator[str]:
        """Every stored name."""
        ...


class LocalStorage:
    """Files in one folder on the local disk, served at ``base_url``."""

    def __init__(self, root: str | os.PathLike[str], base_url: str = "/media/") -> None:
        self.root = Path(root)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"

    def path(self, name: str) -> Path:
        """The file's path; :class:`InvalidName` for anything :meth:`save` does not make."""
        if not is_valid_name(name):
            raise InvalidName(name)
        return self.root / name

    def save(self, stream: BinaryIO, extension: str, *, max_bytes: int | None = None) -> str:
        extension = extension.lower().lstrip(".")
        if not _EXTENSION.match(extension) or extension not in CONTENT_TYPES:
            raise InvalidName(f"extension {extension!r} is not stored")
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.{extension}"
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                copy_limited(stream, out, max_bytes)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.root / name)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return name

    def open(self, name: str) -> BinaryIO:
        try:
            return self.path(name).open("rb")
        except FileNotFoundError:
            raise StorageError(f"{name} is not stored") from None

    def stream(self, name: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        with self.open(name) as fh:
            while chunk := fh.read(chunk_size):
                yield chunk

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(name).unlink()

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def size(self, name: str) -> int:
        try:
            return self.path(name).stat().st_size
        except FileNotFoundError:
            raise StorageError(f"{name} is not stored") from None

    def url(self, name: str) -> str:
        self.path(name)  # a valid name only
        return self.base_url + name

    def names(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for entry in sorted(self.root.iterdir()):
            if is_valid_name(entry.name) and entry.is_file():
                yield entry.name


def media_root(app: Flask) -> Path:
    """``MEDIA_ROOT`` if configured, else ``<instance>/media``."""
    configured = app.config.get("MEDIA_ROOT")
    return Path(configured) if configured else Path(app.instance_path) / "media"


def init_app(app: Flask) -> None:
    """Bind the app's storage: files under :func:`media_root`, URLs under ``MEDIA_URL``."""
    app.extensions["badgegate_storage"] = LocalStorage(
        media_root(app), app.config.get("MEDIA_URL") or "/media/"
    )


def get_storage(app: Flask | None = None) -> Storage:
    """The app's storage (the current app's by default)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    storage = app.extensions.get("badgegate_storage")
    if storage is None:
        init_app(app)
        storage = app.extensions["badgegate_storage"]
    return storage  # type: ignore[no-any-return]
