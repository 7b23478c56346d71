"""``GET /media/<name>``: a stored file, with its content type, ``nosniff`` and ranges.

Only names the storage gives out are served (``<uuid hex>.<pdf|png|jpg|webp>``):
anything else, ``..``, a slash, a backslash, an encoded dot or NUL, is a 404
before the disk is touched. Stored files never change (a new upload is a new
name), so they carry a long cache lifetime and an ETag; ``Range`` requests
answer 206 with the part asked for (a PDF viewer reads a large file in parts).
"""

from __future__ import annotations

from flask import Response, has_request_context, request, send_file

from server.errors import not_found
from server.schema import Blueprint, documented
from server.storage import (
    CONTENT_TYPES,
    LocalStorage,
    Storage,
    StorageError,
    content_type_for,
    get_storage,
    is_valid_name,
)

bp = Blueprint("media", __name__, description="Stored files: event PDFs and images, plans")

#: a year: names are never reused
MAX_AGE = 365 * 24 * 3600


def serve_stored(storage: Storage, name: str, *, download_name: str | None = None) -> Response:
    """A response that serves ``name`` from ``storage`` (404 when it is not there)."""
    if not is_valid_name(name):
        raise not_found("File")
    mimetype = content_type_for(name)
    try:
        if isinstance(storage, LocalStorage):
            path = storage.path(name)
            if not path.is_file():
                raise not_found("File")
            response = send_file(
                path, mimetype=mimetype, conditional=True, etag=True, max_age=MAX_AGE
            )
        else:
            response = send_file(
                storage.open(name),
                mimetype=mimetype,
                conditional=True,
                etag=name,
                max_age=MAX_AGE,
                download_name=name,
            )
    except StorageError:
        raise not_found("File") from None
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = (
        f'inline; filename="{download_name}"' if download_name else "inline"
    )
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}, immutable"
    return response


def file_url(name: str | None, storage: Storage | None = None) -> str | None:
    """The URL an API answer gives for a stored file: absolute, as the seed shows
    (``http://host/media/<name>``), when asked within a request; None for no file."""
    if not name:
        return None
    url = (storage or get_storage()).url(name)
    if url.startswith(("http://", "https://")) or not has_request_context():
        return url
    return request.host_url.rstrip("/") + "/" + url.lstrip("/")


def stored_url(value: str | None) -> str | None:
    """A file column's URL: a name the storage gave out as :func:`file_url`, a
    value that is not one of its names (an address set by hand) as it is."""
    if not value:
        return None
    return file_url(value) if is_valid_name(value) else value


#: a stored file's answer, in the content type its extension is served with
FILE = {
    "content": {
        content_type: {"schema": {"type": "string", "format": "binary"}}
        for content_type in sorted(set(CONTENT_TYPES.values()))
    }
}


@bp.get("/media/<path:name>")
@documented(bp, auth=None, errors=(404, 416), answers={200: FILE, 206: FILE, 304: None})
def media(name: str) -> Response:
    """A stored file, by the name an answer's URL gives (``<32 hex>.<pdf|png|jpg|webp>``):
    ``application/pdf``, ``image/png``, ``image/jpeg`` or ``image/webp``, with an
    ETag, a year's cache lifetime and ``Range`` requests (206). Any other name: 404."""
    return serve_stored(get_storage(), name)
