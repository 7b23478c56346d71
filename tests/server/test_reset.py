"""Password reset tokens: single use, expiring, stored hashed, ended by a password change;
spending one sets the password and ends every session of the account."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import check_password_hash

from server.auth.reset import (
    INVALID_TOKEN,
    PasswordResetToken,
    create_reset_token,
    mail_reset,
    reset_mail,
    reset_password,
    start_reset,
    verify_reset_token,
)
from server.errors import APIError
from server.extensions import db
from server.models import User
from shared.timefmt import utcnow
from tests.conftest import TEST_PASSWORD, AuthActions, Factory

NEW_PASSWORD = "a new passphrase"


def _token_for(app: Flask, user_id: int) -> str:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        token = create_reset_token(db.session, user)
        db.session.commit()
        return token


def _refusal(call: object) -> dict[str, str]:
    assert callable(call)
    with pytest.raises(APIError) as info:
        call()
    assert info.value.status == 400
    assert info.value.fields is not None
    return info.value.fields


def test_a_token_is_stored_as_a_hash_and_verifies(app: Flask, make: Factory) -> None:
    user = make.user()
    token = _token_for(app, user.id)
    assert len(token) >= 40
    with app.app_context():
        rows = db.session.scalars(select(PasswordResetToken)).all()
        assert len(rows) == 1
        assert rows[0].token_hash != token and token not in rows[0].token_hash
        assert rows[0].expires_at - rows[0].created_at == timedelta(hours=1)
        found = verify_reset_token(db.session, token)
        assert found is not None and found.id == user.id
        altered = token[:-1] + ("A" if token[-1] != "A" else "B")
        assert verify_reset_token(db.session, altered) is None
        assert verify_reset_token(db.session, "") is None
        assert verify_reset_token(db.session, "x" * 5000) is None


def test_reset_sets_the_password_and_ends_every_session(
    app: Flask, client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    world = make.world()
    member = world.members["participant"]
    old_headers = auth.headers(member)
    assert client.get("/api/auth/me/", headers=old_headers).status_code == 200
    token = _token_for(app, member.user_id)
    with app.app_context():
        user = reset_password(db.session, token, NEW_PASSWORD)
        db.session.commit()
        assert user.id == member.user_id
    with app.app_context():
        user = db.session.get(User, member.user_id)
        assert user is not None
        assert check_password_hash(user.password_hash, NEW_PASSWORD)
        assert not check_password_hash(user.password_hash, TEST_PASSWORD)
        assert user.tokens_valid_after is not None
    # the tokens issued before are refused, a login with the new password works
    refused = client.get("/api/auth/me/", headers=old_headers)
    assert refused.status_code == 401
    assert auth.login(member.email, TEST_PASSWORD).status_code == 401
    login = auth.login(member.email, NEW_PASSWORD)
    assert login.status_code == 200, login.get_json()
    fresh = {"Authorization": f"Bearer {login.get_json()['access']}"}
    assert client.get("/api/auth/me/", headers=fresh).status_code == 200


def test_a_token_works_once(app: Flask, make: Factory) -> None:
    user = make.user()
    token = _token_for(app, user.id)
    with app.app_context():
        reset_password(db.session, token, NEW_PASSWORD)
        db.session.commit()
    with app.app_context():
        assert verify_reset_token(db.session, token) is None
        fields = _refusal(lambda: reset_password(db.session, token, "yet another one"))
        assert fields == {"token": INVALID_TOKEN}
        db.session.rollback()
        user_row = db.session.get(User, user.id)
        assert user_row is not None and check_password_hash(user_row.password_hash, NEW_PASSWORD)


def test_a_token_expires(app: Flask, make: Factory) -> None:
    user = make.user()
    token = _token_for(app, user.id)
    later = utcnow() + timedelta(minutes=61)
    with app.app_context():
        assert verify_reset_token(db.session, token, now=utcnow() + timedelta(minutes=59))
        assert verify_reset_token(db.session, token, now=later) is None
        fields = _refusal(lambda: reset_password(db.session, token, NEW_PASSWORD, now=later))
        assert fields == {"token": INVALID_TOKEN}


def test_the_lifetime_is_configurable(app: Flask, make: Factory) -> None:
    app.config["PASSWORD_RESET_MINUTES"] = 5
    user = make.user()
    token = _token_for(app, user.id)
    with app.app_context():
        assert verify_reset_token(db.session, token, now=utcnow() + timedelta(minutes=6)) is None


def test_a_password_change_ends_the_token(app: Flask, make: Factory) -> None:
    user = make.user()
    token = _token_for(app, user.id)
    with app.app_context():
        row = db.session.get(User, user.id)
        assert row is not None
        row.password_hash = "pbkdf2:sha256:1000$changed$" + "0" * 64
        db.session.commit()
    with app.app_context():
        assert verify_reset_token(db.session, token) is None
        assert _refusal(lambda: reset_password(db.session, token, NEW_PASSWORD)) == {
            "token": INVALID_TOKEN
        }


def test_a_new_token_ends_the_earlier_ones(app: Flask, make: Factory) -> None:
    user, other = make.user(), make.user()
    first = _token_for(app, user.id)
    others = _token_for(app, other.id)
    second = _token_for(app, user.id)
    with app.app_context():
        assert verify_reset_token(db.session, first) is None
        assert verify_reset_token(db.session, second) is not None
        assert verify_reset_token(db.session, others) is not None  # another account's stays


def test_spending_a_token_deletes_the_accounts_other_tokens(app: Flask, make: Factory) -> None:
    user = make.user()
    token = _token_for(app, user.id)
    with app.app_context():
        # a second row for the account, as a concurrent request could leave
        db.session.add(
            PasswordResetToken(
                user_id=user.id,
                token_hash="f" * 64,
                password_fingerprint="0" * 64,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        db.session.commit()
        reset_password(db.session, token, NEW_PASSWORD)
        db.session.commit()
        hashes = db.session.scalars(
            select(PasswordResetToken.token_hash).where(PasswordResetToken.user_id == user.id)
        ).all()
        assert hashes != [] and "f" * 64 not in hashes


def test_of_two_requests_racing_with_one_token_one_wins(
    app: Flask, make: Factory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request spends the token between this one's check and its update."""
    if backend == "sqlite":
        pytest.skip("SQLite serializes writers: the second request waits for the first")
    from server.auth import reset as reset_module

    user = make.user()
    token = _token_for(app, user.id)
    real_find = reset_module._find

    def find_then_lose_the_race(*args: object, **kwargs: object) -> object:
        found = real_find(*args, **kwargs)  # type: ignore[arg-type]
        with db.engine.begin() as other:  # the other request, committed meanwhile
            other.execute(
                PasswordResetToken.__table__.update()
                .where(PasswordResetToken.user_id == user.id)
                .values(used_at=utcnow())
            )
        return found

    monkeypatch.setattr(reset_module, "_find", find_then_lose_the_race)
    with app.app_context():
        fields = _refusal(lambda: reset_password(db.session, token, NEW_PASSWORD))
        assert fields == {"token": INVALID_TOKEN}
        db.session.rollback()
        row = db.session.get(User, user.id)
        assert row is not None and check_password_hash(row.password_hash, TEST_PASSWORD)


def test_an_inactive_account_cannot_reset(app: Flask, make: Factory) -> None:
    user = make.user(active=False)
    token = _token_for(app, user.id)
    with app.app_context():
        assert verify_reset_token(db.session, token) is None


@pytest.mark.parametrize(("password", "problem"), [("short", "at least 8"), ("x" * 129, "at most")])
def test_a_bad_new_password_leaves_the_token_usable(
    app: Flask, make: Factory, password: str, problem: str
) -> None:
    user = make.user()
    token = _token_for(app, user.id)
    with app.app_context():
        fields = _refusal(lambda: reset_password(db.session, token, password))
        assert list(fields) == ["new_password"] and problem in fields["new_password"]
        db.session.rollback()
        assert verify_reset_token(db.session, token) is not None


def test_a_rollback_keeps_the_token_and_the_old_password(app: Flask, make: Factory) -> None:
    user = make.user()
    token = _token_for(app, user.id)
    with app.app_context():
        reset_password(db.session, token, NEW_PASSWORD)
        db.session.rollback()
    with app.app_context():
        assert verify_reset_token(db.session, token) is not None
        row = db.session.get(User, user.id)
        assert row is not None and check_password_hash(row.password_hash, TEST_PASSWORD)


def test_expired_tokens_are_swept(app: Flask, make: Factory) -> None:
    user, other = make.user(), make.user()
    with app.app_context():
        old = db.session.get(User, user.id)
        assert old is not None
        create_reset_token(db.session, old, now=utcnow() - timedelta(hours=3))
        db.session.commit()
    _token_for(app, other.id)
    with app.app_context():
        owners = db.session.scalars(select(PasswordResetToken.user_id)).all()
        assert owners == [other.id]


def test_the_mail_carries_the_link(app: Flask, make: Factory) -> None:
    user = make.user(first_name="Amina", last_name="B")
    with app.app_context():
        row = db.session.get(User, user.id)
        assert row is not None
        subject, body = reset_mail(row, "TOKEN123")
        assert "password" in subject.lower()
        assert "TOKEN123" in body and "Amina B" in body and "60 minutes" in body
        app.config["PASSWORD_RESET_URL"] = "https://badges.example.org/reset?token={token}"
        _subject, body = reset_mail(row, "TOKEN123")
        assert "https://badges.example.org/reset?token=TOKEN123" in body


def test_from_the_email_to_a_new_password_through_the_mail(app: Flask, make: Factory) -> None:
    """What the endpoints will do: a token for the email, mailed (here to the
    instance folder: no SMTP_HOST), read back from the mail and spent."""
    app.config["SMTP_HOST"] = None
    app.config["PASSWORD_RESET_URL"] = "https://badges.example.org/reset/{token}"
    user = make.user(email="amina@example.com")
    with app.app_context():
        assert start_reset(db.session, "nobody@example.com") is None
        started = start_reset(db.session, "  Amina@Example.com ")
        assert started is not None
        found, token = started
        db.session.commit()
        sent = mail_reset(found, token)
    assert sent.via == "file" and sent.path is not None
    message = message_from_bytes(sent.path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage) and message["To"] == "amina@example.com"
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    text = part.get_content()
    link = next(line.strip() for line in text.splitlines() if "/reset/" in line)
    mailed_token = link.rsplit("/", 1)[1]
    assert mailed_token == token
    with app.app_context():
        assert reset_password(db.session, mailed_token, NEW_PASSWORD).id == user.id
        db.session.commit()


def test_no_token_for_an_inactive_account(app: Flask, make: Factory) -> None:
    make.user(email="gone@example.com", active=False)
    with app.app_context():
        assert start_reset(db.session, "gone@example.com") is None
        assert db.session.scalars(select(PasswordResetToken)).all() == []
