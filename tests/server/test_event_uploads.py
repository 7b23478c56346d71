"""An event's files through the events API: multipart create and change, real PDFs
and images, files that only pretend to be, replaced files removed once the
change is committed, nothing left behind by a failed request, the body limit."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfWriter

from server import create_app
from server.actionlog import ActionLogEntry
from server.extensions import db
from server.models import Event
from shared.timefmt import iso, utcnow
from tests.conftest import AuthActions, Factory, _empty_all_tables, base_config
from tests.server.test_uploads import make_image, make_pdf

G = "gestionnaire_des_salles"
PDF_LIMIT = 300_000
IMAGE_LIMIT = 200_000


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The suite's app, with a media folder of its own and small upload limits."""
    app = create_app(
        {
            **base_config(database_url),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "UPLOAD_MAX_PDF_BYTES": PDF_LIMIT,
            "UPLOAD_MAX_IMAGE_BYTES": IMAGE_LIMIT,
        }
    )
    with app.app_context():
        _empty_all_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def stored(app: Flask) -> list[str]:
    root = Path(app.config["MEDIA_ROOT"])
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def _fields(**extra: Any) -> dict[str, Any]:
    start = utcnow() + timedelta(days=3)
    return {
        "name": "Tech Summit 2026",
        "location": "Paris Convention Center",
        "start_date": iso(start),
        "end_date": iso(start + timedelta(days=2)),
        **extra,
    }


def _file(data: bytes, name: str, ctype: str = "application/octet-stream") -> tuple[Any, ...]:
    return (io.BytesIO(data), name, ctype)


def _post(client: FlaskClient, headers: dict[str, str], data: dict[str, Any]) -> Any:
    return client.post(
        "/api/events/", data=data, headers=headers, content_type="multipart/form-data"
    )


def _patch(
    client: FlaskClient, headers: dict[str, str], event_id: Any, data: dict[str, Any]
) -> Any:
    return client.patch(
        f"/api/events/{event_id}/", data=data, headers=headers, content_type="multipart/form-data"
    )


def _media_name(url: str) -> str:
    assert url.startswith("http://localhost/media/"), url
    return url.rsplit("/", 1)[1]


def test_create_with_every_file_answers_their_urls(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    headers = auth.headers(world.members[G])
    pdf = make_pdf(2)
    got = _post(
        client,
        headers,
        _fields(
            is_active="true",
            programme_file=_file(pdf, "programme.pdf", "application/pdf"),
            guide_file=_file(make_pdf(), "guide.pdf"),
            logo=_file(make_image("PNG"), "logo.png", "image/png"),
            banner=_file(make_image("JPEG"), "banner.jpg", "image/jpeg"),
        ),
    )
    assert got.status_code == 201, got.json
    body = got.json
    names = {
        field: _media_name(body[field])
        for field in ("programme_file", "guide_file", "logo", "banner")
    }
    assert names["programme_file"].endswith(".pdf") and names["logo"].endswith(".png")
    assert names["banner"].endswith(".jpg")
    assert sorted(names.values()) == stored(app)
    served = client.get(body["programme_file"].removeprefix("http://localhost"))
    assert served.status_code == 200 and served.data == pdf
    assert served.headers["Content-Type"] == "application/pdf"
    logo = client.get(body["logo"].removeprefix("http://localhost"))
    assert Image.open(io.BytesIO(logo.data)).format == "PNG"
    # the read side answers the same URLs
    there = auth.headers(
        type(world.members[G])(world.members[G].user_id, "", uuid.UUID(body["id"]), G, "")
    )
    again = client.get(f"/api/events/{body['id']}/", headers=there)
    assert again.json["logo"] == body["logo"]


def test_a_patch_with_only_a_file_replaces_it_and_removes_the_old_one(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    headers = auth.headers(world.members[G])
    first = _patch(client, headers, world.event_id, {"guide_file": _file(make_pdf(), "g.pdf")})
    assert first.status_code == 200, first.json
    old = _media_name(first.json["guide_file"])
    assert stored(app) == [old]
    second = _patch(client, headers, world.event_id, {"guide_file": _file(make_pdf(3), "g2.pdf")})
    assert second.status_code == 200
    new = _media_name(second.json["guide_file"])
    assert new != old and stored(app) == [new]
    assert second.json["name"] == first.json["name"]
    with app.app_context():
        entries = db.session.query(ActionLogEntry).order_by(ActionLogEntry.id).all()
        assert [e.action for e in entries] == ["event.update", "event.update"]
        assert entries[1].before["guide_file"] == old and entries[1].after["guide_file"] == new
    # null in JSON removes it
    removed = client.patch(
        f"/api/events/{world.event_id}/", json={"guide_file": None}, headers=headers
    )
    assert removed.status_code == 200 and removed.json["guide_file"] is None
    assert stored(app) == []


@pytest.mark.parametrize(
    ("field", "data", "name", "ctype"),
    [
        ("programme_file", make_image("PNG"), "programme.pdf", "application/pdf"),
        ("programme_file", make_pdf(), "programme.pdf", "image/png"),
        ("guide_file", make_pdf()[:-200], "guide.pdf", "application/pdf"),
        ("guide_file", b"", "guide.pdf", "application/pdf"),
        ("logo", make_pdf(), "logo.png", "image/png"),
        ("logo", make_image("PNG")[:60], "logo.png", "image/png"),
        ("banner", make_image("JPEG"), "banner.png", "image/png"),
    ],
)
def test_files_that_only_pretend_are_refused_and_nothing_is_kept(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    auth: AuthActions,
    field: str,
    data: bytes,
    name: str,
    ctype: str,
) -> None:
    world = make.world()
    headers = auth.headers(world.members[G])
    # a good file before the bad one: stored first, removed again
    good = "logo" if field != "logo" else "banner"
    form = _fields(**{good: _file(make_image("PNG"), "ok.png"), field: _file(data, name, ctype)})
    got = _post(client, headers, form)
    assert got.status_code == 400, got.json
    assert list(got.json["fields"]) == [field]
    assert stored(app) == []
    with app.app_context():
        assert db.session.query(Event).count() == 1
        assert db.session.query(ActionLogEntry).count() == 0


def test_the_login_answers_show_the_logo_as_a_url(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    member = world.members["participant"]
    headers = auth.headers(world.members[G])
    got = _patch(client, headers, world.event_id, {"logo": _file(make_image("PNG"), "a.png")})
    assert got.status_code == 200
    mine = client.get("/api/auth/my-events/", headers=auth.headers(member))
    assert mine.status_code == 200, mine.json
    (event,) = [e for e in _events_of(mine.json) if e["id"] == str(world.event_id)]
    assert event["logo_url"] == got.json["logo"]
    assert event["banner_url"] is None


def _events_of(body: Any) -> list[dict[str, Any]]:
    return list(body["results"])


def test_a_file_field_sent_as_text_is_refused(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    got = _patch(
        client, auth.headers(world.members[G]), world.event_id, {"logo": "http://x/logo.png"}
    )
    assert got.status_code == 400 and list(got.json["fields"]) == ["logo"]


def test_a_zip_is_not_a_pdf(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("programme.pdf", make_pdf())
    got = _patch(
        client,
        auth.headers(world.members[G]),
        world.event_id,
        {"programme_file": _file(archive.getvalue(), "programme.zip", "application/zip")},
    )
    assert got.status_code == 400 and "programme_file" in got.json["fields"]
    assert stored(app) == []


def test_a_refused_change_keeps_the_old_file_and_stores_no_new_one(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    headers = auth.headers(world.members[G])
    first = _patch(client, headers, world.event_id, {"logo": _file(make_image("PNG"), "a.png")})
    old = _media_name(first.json["logo"])
    early = iso(utcnow() - timedelta(days=400))
    got = _patch(
        client,
        headers,
        world.event_id,
        {"logo": _file(make_image("WEBP"), "b.webp"), "end_date": early},
    )
    assert got.status_code == 400 and "end_date" in got.json["fields"]
    assert stored(app) == [old]
    with app.app_context():
        event = db.session.get(Event, world.event_id)
        assert event is not None and event.logo == old


def test_a_form_with_bad_fields_stores_nothing(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    got = _post(
        client,
        auth.headers(world.members[G]),
        _fields(name="", logo=_file(make_image("PNG"), "a.png")),
    )
    assert got.status_code == 400 and "name" in got.json["fields"]
    assert stored(app) == []


def _large_pdf(size: int) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Subject": "x" * size})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_file_past_its_limit_is_a_400_and_a_body_past_every_limit_a_413(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    headers = auth.headers(world.members[G])
    big_pdf = make_pdf()
    padded = big_pdf.replace(b"%%EOF", b"%" + b"x" * (PDF_LIMIT + 10) + b"\n%%EOF")
    got = _patch(client, headers, world.event_id, {"guide_file": _file(padded, "g.pdf")})
    assert got.status_code == 400 and "at most" in got.json["fields"]["guide_file"]
    # more than the JSON limit (2 MB) is fine for a form within the upload limits
    app.config["UPLOAD_MAX_PDF_BYTES"] = 3 * 1024 * 1024
    large = _large_pdf(2 * 1024 * 1024 + 100)
    assert len(large) > app.config["MAX_CONTENT_LENGTH"]
    ok = _patch(client, headers, world.event_id, {"guide_file": _file(large, "g.pdf")})
    assert ok.status_code == 200, ok.json
    app.config["UPLOAD_MAX_PDF_BYTES"] = PDF_LIMIT
    huge = b"%PDF-" + b"x" * (2 * PDF_LIMIT + 2 * IMAGE_LIMIT + 2 * 1024 * 1024)
    too_big = _patch(client, headers, world.event_id, {"guide_file": _file(huge, "g.pdf")})
    assert too_big.status_code == 413
    assert too_big.json["code"] == "payload_too_large"
    assert stored(app) == [_media_name(ok.json["guide_file"])]


def test_only_a_gestionnaire_uploads(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    for role in ("controlleur_des_badges", "participant", "exposant"):
        got = _patch(
            client,
            auth.headers(world.members[role]),
            world.event_id,
            {"logo": _file(make_image("PNG"), "a.png")},
        )
        assert got.status_code == 403
    assert stored(app) == []


def test_a_form_part_with_no_readable_name_is_a_400_and_stores_nothing(
    app: Flask, client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    headers = auth.headers(world.members[G])
    before = stored(app)
    for unnamed in (b'name="x\\"', b'name=""'):
        body = b"--b\r\nContent-Disposition: form-data; " + unnamed + b"\r\n\r\n{}\r\n"
        for key, value in _fields().items():
            body += (
                f'--b\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
            )
        body += b"--b--\r\n"
        r = client.post(
            "/api/events/", data=body, headers=headers,
            content_type="multipart/form-data; boundary=b",
        )  # fmt: skip
        assert r.status_code == 400, (unnamed, r.json)
        assert r.json["fields"] == {"body": "every field needs a name"}
    assert stored(app) == before
