"""Password reset by mail (a real SMTP server on localhost), the mobile client's
token refresh path, the profile's participant_id, and my_scans in pages."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import ExposantScan, User
from tests.conftest import TEST_PASSWORD, AuthActions, Factory
from tests.server.test_mail import Inbox, smtp_server  # noqa: F401  (the SMTP fixture)

RESET = "/api/auth/password-reset/"
CONFIRM = "/api/auth/password-reset/confirm/"
NEW_PASSWORD = "a brand new secret"


def _use_smtp(app: Flask, port: int) -> None:
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_SECURITY="none",
        SMTP_USER="mailer",
        SMTP_PASSWORD="s3cret",
        MAIL_FROM="BadgeGate <noreply@badges.example.org>",
    )


def _token_of(inbox: Inbox) -> str:
    _envelope, message = inbox.only()
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    found = re.search(r"^ {4}(\S+)$", text, re.MULTILINE)
    assert found, body.get_content()
    return found.group(1)


def test_a_reset_is_mailed_and_its_token_sets_the_password(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    auth: AuthActions,
    smtp_server: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp_server
    _use_smtp(app, port)
    user = make.user("amina@example.com")
    old = auth.tokens(user.id, None, None)

    r = client.post(RESET, json={"email": "Amina@Example.com"})
    assert r.status_code == 200, r.json
    envelope, _ = inbox.only()
    assert envelope.rcpt_tos == ["amina@example.com"]
    token = _token_of(inbox)

    r = client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.json
    assert auth.login("amina@example.com", NEW_PASSWORD).status_code == 200
    assert auth.login("amina@example.com", TEST_PASSWORD).status_code == 401
    # the sessions from before the reset are over
    me = client.get("/api/auth/profile/", headers={"Authorization": f"Bearer {old['access']}"})
    assert me.status_code == 401
    # a token works once
    again = client.post(CONFIRM, json={"token": token, "new_password": "yet another one"})
    assert again.status_code == 400 and "token" in again.json["fields"]


def test_a_reset_for_an_unknown_email_answers_the_same_and_sends_nothing(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    smtp_server: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp_server
    _use_smtp(app, port)
    make.user("known@example.com")
    make.user("gone@example.com", active=False)
    known = client.post(RESET, json={"email": "known@example.com"})
    unknown = client.post(RESET, json={"email": "nobody@example.com"})
    inactive = client.post(RESET, json={"email": "gone@example.com"})
    assert known.status_code == unknown.status_code == inactive.status_code == 200
    assert known.json == unknown.json == inactive.json
    assert len(inbox.envelopes) == 1
    assert inbox.envelopes[0].rcpt_tos == ["known@example.com"]


def test_a_reset_answers_200_when_the_mail_cannot_leave(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    from tests.server.test_mail import free_port

    _use_smtp(app, free_port())  # nothing listens there
    make.user("amina@example.com")
    r = client.post(RESET, json={"email": "amina@example.com"})
    assert r.status_code == 200
    assert r.json == client.post(RESET, json={"email": "x@example.com"}).json


def test_reset_bad_input_names_the_field(client: FlaskClient, make: Factory) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        (RESET, {}, "email"),
        (RESET, {"email": "not an email"}, "email"),
        (RESET, {"email": "a\x07@example.com"}, "email"),
        (RESET, {"email": 12}, "email"),
        (CONFIRM, {"new_password": NEW_PASSWORD}, "token"),
        (CONFIRM, {"token": "x" * 43}, "new_password"),
        (CONFIRM, {"token": "x" * 43, "new_password": NEW_PASSWORD}, "token"),
        (CONFIRM, {"token": "x" * 43, "new_password": "short"}, "new_password"),
        (CONFIRM, {"token": "\ud800" * 20, "new_password": NEW_PASSWORD}, "token"),
    ]
    for path, body, field in cases:
        r = client.post(path, json=body)
        assert r.status_code == 400, (path, body, r.json)
        assert field in r.json["fields"], (path, body, r.json)


def test_a_reset_without_smtp_writes_the_mail_to_the_instance_folder(
    app: Flask, client: FlaskClient, make: Factory, tmp_path: Any
) -> None:
    from pathlib import Path

    app.config["SMTP_HOST"] = None
    make.user("amina@example.com")
    folder = Path(app.instance_path) / "mail"
    before = set(folder.glob("*.eml")) if folder.exists() else set()
    assert client.post(RESET, json={"email": "amina@example.com"}).status_code == 200
    assert len(set(folder.glob("*.eml")) - before) == 1


def test_auth_token_refresh_is_the_token_refresh(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    member = world.members["participant"]
    pair = auth.tokens(member.user_id, member.event_id, member.role)
    r = client.post("/api/auth/token/refresh/", json={"refresh": pair["refresh"]})
    assert r.status_code == 200, r.json
    me = client.get("/api/auth/profile/", headers={"Authorization": f"Bearer {r.json['access']}"})
    assert me.status_code == 200 and me.json["role"] == "participant"
    # an access token is not a refresh token
    bad = client.post("/api/auth/token/refresh/", json={"refresh": pair["access"]})
    assert bad.status_code == 401
    assert client.post("/api/auth/token/refresh/", json={}).status_code == 400


def test_the_profile_carries_the_participant_id_of_the_current_event(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    other = make.world()
    for role, member in world.members.items():
        r = client.get("/api/auth/profile/", headers=auth.headers(member))
        assert r.status_code == 200
        expected = str(member.participant_id) if member.participant_id else None
        assert r.json["participant_id"] == expected, role
    # the same person in another event: that event's record
    expo = world.members["exposant"]
    with make.app.app_context():
        user = db.session.get(User, expo.user_id)
        db.session.expunge(user)  # type: ignore[arg-type]
    there = make.member(other.event_id, "exposant", user=user)
    r = client.get("/api/auth/me/", headers=auth.headers(there))
    assert r.json["participant_id"] == str(there.participant_id) != str(expo.participant_id)
    # no event in the token: none
    pair = auth.tokens(expo.user_id, None, None)
    r = client.get("/api/auth/profile/", headers={"Authorization": f"Bearer {pair['access']}"})
    assert r.json["participant_id"] is None


def test_my_scans_is_paginated_and_keeps_its_totals(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    expo = world.members["exposant"]
    visitor = world.members["participant"]
    with make.app.app_context():
        for _ in range(5):
            db.session.add(
                ExposantScan(
                    exposant_id=expo.participant_id,
                    scanned_participant_id=visitor.participant_id,
                    event_id=world.event_id,
                    user_id=visitor.user_id,
                )
            )
        db.session.add(
            ExposantScan(
                exposant_id=expo.participant_id,
                scanned_participant_id=visitor.participant_id,
                event_id=world.event_id,
                status="denied",
                reason="not_in_event",
            )
        )
        db.session.commit()
    url = "/api/exposant-scans/my_scans/"
    first = client.get(url, query_string={"page_size": 2}, headers=auth.headers(expo)).json
    assert (first["total_visits"], first["today_visits"], first["count"]) == (5, 5, 5)
    assert len(first["results"]) == 2 and first["scans"] == first["results"]
    assert first["previous"] is None and "page=2" in first["next"]
    last = client.get(
        url, query_string={"page_size": 2, "page": 3}, headers=auth.headers(expo)
    ).json
    assert len(last["results"]) == 1 and last["next"] is None
    assert last["total_visits"] == 5
    seen = {
        s["id"]
        for p in (1, 2, 3)
        for s in client.get(
            url, query_string={"page_size": 2, "page": p}, headers=auth.headers(expo)
        ).json["results"]
    }
    assert len(seen) == 5
    bad = client.get(url, query_string={"page_size": 0}, headers=auth.headers(expo))
    assert bad.status_code == 400 and "page_size" in bad.json["fields"]
