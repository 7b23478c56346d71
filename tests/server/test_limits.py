"""Limits on failed credential attempts: per account and per address, in the database."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server import create_app
from server.auth import limits
from server.extensions import db
from server.models import AuthAttempt
from shared.roles import Role
from shared.timefmt import utcnow
from tests.conftest import TEST_PASSWORD, Factory, Member, World

LOGIN = "/api/auth/login/"
PROVISION = "/api/kiosks/provision/"
PER_ADDRESS, PER_ACCOUNT, WINDOW = 3, 5, 60
CTRL, GEST = Role.CONTROLLEUR.value, Role.GESTIONNAIRE.value


class Clock:
    """The limiter's clock, moved by hand (the window passes without waiting)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(limits, "utcnow", clock)
    return clock


@pytest.fixture
def limited(app: Flask, clock: Clock) -> Flask:
    app.config.update(
        AUTH_LIMIT_PER_ADDRESS=PER_ADDRESS,
        AUTH_LIMIT_PER_ACCOUNT=PER_ACCOUNT,
        AUTH_LIMIT_WINDOW_SECONDS=WINDOW,
    )
    return app


@pytest.fixture
def world(make: Factory) -> World:
    return make.world()


@pytest.fixture
def ctrl(world: World) -> Member:
    return world.members[CTRL]


def login(client: FlaskClient, email: str, password: str, addr: str = "10.0.0.1", **kw: Any) -> Any:
    return client.post(
        LOGIN,
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": addr},
        **kw,
    )


def assert_limited(resp: Any) -> int:
    assert resp.status_code == 429, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "too_many_attempts" and body["error"], body
    retry = int(resp.headers["Retry-After"])
    assert 1 <= retry <= WINDOW, retry
    return retry


def rows(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuthAttempt)) or 0


def test_an_address_is_refused_past_its_limit_until_the_window_passes(
    limited: Flask, client: FlaskClient, clock: Clock, ctrl: Member
) -> None:
    for _ in range(PER_ADDRESS):
        assert login(client, ctrl.email, "wrong").status_code == 401
    assert_limited(login(client, ctrl.email, "wrong"))
    assert_limited(login(client, ctrl.email, TEST_PASSWORD))  # even the right one, for now
    assert_limited(login(client, "someone.else@example.com", "x"))  # any account from there
    assert login(client, ctrl.email, TEST_PASSWORD, addr="10.0.0.2").status_code == 200
    clock.advance(WINDOW + 1)
    assert login(client, ctrl.email, TEST_PASSWORD).status_code == 200


def test_retry_after_counts_down_to_the_oldest_failure_leaving(
    limited: Flask, client: FlaskClient, clock: Clock, ctrl: Member
) -> None:
    for _ in range(PER_ADDRESS):
        assert login(client, ctrl.email, "wrong").status_code == 401
        clock.advance(10)
    # the oldest failure was 30 s ago: it leaves the 60 s window in 30 s
    assert assert_limited(login(client, ctrl.email, "wrong")) == WINDOW - 30
    clock.advance(WINDOW - 30 + 0.5)
    assert login(client, ctrl.email, "wrong").status_code == 401  # one slot free again
    assert_limited(login(client, ctrl.email, "wrong"))


def test_an_account_is_refused_past_its_limit_from_any_address(
    limited: Flask, client: FlaskClient, clock: Clock, world: World, ctrl: Member
) -> None:
    for i in range(PER_ACCOUNT):
        assert login(client, ctrl.email, "wrong", addr=f"10.0.1.{i}").status_code == 401
    assert_limited(login(client, ctrl.email, TEST_PASSWORD, addr="10.0.2.1"))
    # the address is not limited by it: another account logs in from there
    other = world.members[GEST]
    assert login(client, other.email, TEST_PASSWORD, addr="10.0.2.1").status_code == 200
    clock.advance(WINDOW + 1)
    assert login(client, ctrl.email, TEST_PASSWORD, addr="10.0.2.1").status_code == 200


def test_one_address_cannot_lock_a_victim_out(
    limited: Flask, client: FlaskClient, ctrl: Member
) -> None:
    """The per-address limit is stricter: the attacker is stopped before the account is."""
    for _ in range(PER_ACCOUNT * 2):
        login(client, ctrl.email, "guess", addr="203.0.113.9")
    assert_limited(login(client, ctrl.email, "guess", addr="203.0.113.9"))
    assert login(client, ctrl.email, TEST_PASSWORD, addr="198.51.100.7").status_code == 200


def test_an_ipv6_client_is_counted_by_its_64(
    limited: Flask, client: FlaskClient, ctrl: Member
) -> None:
    for i in range(PER_ADDRESS):
        resp = login(client, f"u{i}@example.com", "x", addr=f"2001:db8:1:2::{i + 1:x}")
        assert resp.status_code == 401
    assert_limited(login(client, ctrl.email, TEST_PASSWORD, addr="2001:db8:1:2:ffff::9"))
    assert login(client, ctrl.email, TEST_PASSWORD, addr="2001:db8:1:3::1").status_code == 200


def test_address_keys() -> None:
    assert limits.address_key("192.0.2.7") == "192.0.2.7"
    assert limits.address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert limits.address_key("2001:db8::1") == "2001:db8::/64"
    assert limits.address_key(None) == "unknown"


def test_successes_are_not_counted(limited: Flask, client: FlaskClient, ctrl: Member) -> None:
    for _ in range(PER_ADDRESS * 3):
        assert login(client, ctrl.email, TEST_PASSWORD).status_code == 200
    assert rows(limited) == 0
    assert login(client, ctrl.email, "wrong").status_code == 401


def test_unknown_emails_are_counted_like_known_ones(
    limited: Flask, client: FlaskClient, ctrl: Member
) -> None:
    for i in range(PER_ADDRESS):
        assert login(client, f"nobody{i}@example.com", "x").status_code == 401
    assert_limited(login(client, ctrl.email, TEST_PASSWORD))


def test_x_forwarded_for_is_not_trusted_unless_configured(
    limited: Flask, client: FlaskClient, database_url: str, clock: Clock, ctrl: Member
) -> None:
    accounts = itertools.count()

    def forwarded(c: FlaskClient, i: int) -> Any:
        email = f"user{next(accounts)}@example.com"  # only the address limit is in play
        return login(c, email, "wrong", headers={"X-Forwarded-For": f"192.0.2.{i}"})

    for i in range(PER_ADDRESS):
        assert forwarded(client, i).status_code == 401
    assert_limited(forwarded(client, 99))  # a new forwarded address changes nothing

    clock.advance(WINDOW + 1)
    behind_proxy = create_app({**limited.config, "TRUSTED_PROXIES": 1})
    proxied = behind_proxy.test_client()
    try:
        for i in range(PER_ADDRESS + 2):  # every client behind the proxy has its own count
            assert forwarded(proxied, i).status_code == 401
        for _ in range(PER_ADDRESS):
            assert forwarded(proxied, 200).status_code == 401
        assert_limited(forwarded(proxied, 200))
    finally:
        with behind_proxy.app_context():
            db.engine.dispose()


def test_an_attempt_counts_while_its_password_is_checked(
    limited: Flask,
    client: FlaskClient,
    database_url: str,
    ctrl: Member,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers at once: the second sees the first's attempt before it ends."""
    limited.config["AUTH_LIMIT_PER_ADDRESS"] = 1
    other_worker = create_app(dict(limited.config))
    import server.auth.api as auth_api

    seen: list[int] = []
    real: Callable[[str, str], bool] = auth_api.check_password_hash

    def slow_check(pwhash: str, password: str) -> bool:
        if not seen:  # the first check: another worker's attempt arrives meanwhile
            seen.append(login(other_worker.test_client(), ctrl.email, "wrong").status_code)
        return real(pwhash, password)

    monkeypatch.setattr(auth_api, "check_password_hash", slow_check)
    try:
        assert login(client, ctrl.email, "wrong").status_code == 401
        assert seen == [429]
        assert_limited(login(client, ctrl.email, "wrong"))
    finally:
        with other_worker.app_context():
            db.engine.dispose()


def test_expired_attempts_are_deleted(
    limited: Flask, client: FlaskClient, clock: Clock, ctrl: Member
) -> None:
    for i in range(PER_ACCOUNT):
        assert login(client, ctrl.email, "wrong", addr=f"10.0.3.{i}").status_code == 401
    assert rows(limited) == PER_ACCOUNT * 2  # the account's and each address's
    for i in range(PER_ACCOUNT * 4):  # refused attempts write nothing
        assert_limited(login(client, ctrl.email, "wrong", addr=f"10.0.3.{i % 2}"))
    assert rows(limited) == PER_ACCOUNT * 2
    clock.advance(WINDOW + 1)
    login(client, "someone@example.com", "wrong", addr="10.0.4.1")
    assert rows(limited) == 2


def test_provisioning_by_login_and_change_password_share_the_counts(
    limited: Flask, client: FlaskClient, auth: Any, world: World, ctrl: Member
) -> None:
    room = str(world.rooms[0])
    body = {"email": ctrl.email, "password": "wrong", "room_id": room}
    assert client.post(PROVISION, json=body).status_code == 401
    assert login(client, ctrl.email, "wrong", addr="127.0.0.1").status_code == 401
    headers = auth.headers(ctrl)
    change = {"old_password": "wrong", "new_password": "a new password 1"}
    resp = client.post("/api/auth/change-password/", json=change, headers=headers)
    assert resp.status_code == 400 and "old_password" in resp.get_json()["fields"]
    assert_limited(client.post(PROVISION, json={**body, "password": TEST_PASSWORD}))
    assert_limited(client.post("/api/auth/change-password/", json=change, headers=headers))
    assert_limited(login(client, ctrl.email, TEST_PASSWORD, addr="127.0.0.1"))


def test_provisioning_codes_are_limited_per_address(
    limited: Flask, client: FlaskClient, clock: Clock, auth: Any, world: World
) -> None:
    made = client.post(
        "/api/kiosks/",
        json={"name": "k", "mode": "door", "room_id": str(world.rooms[0])},
        headers=auth.headers(world.members[GEST]),
    )
    assert made.status_code == 201, made.get_json()
    code = made.get_json()["provisioning_code"]
    for guess in ("AAAA-BBBB-CCCC", "AAAA-BBBB-CCCD", "AAAA-BBBB-CCCE"):
        assert client.post(PROVISION, json={"code": guess}).status_code == 400
    assert_limited(client.post(PROVISION, json={"code": code}))
    clock.advance(WINDOW + 1)
    assert client.post(PROVISION, json={"code": code}).status_code == 201


@pytest.fixture
def env_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Callable[[], Flask]]:
    monkeypatch.setenv("BADGEGATE_INSTANCE_PATH", str(tmp_path))
    yield lambda: create_app({"JWT_SECRET_KEY": "k" * 40})


def test_limits_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env_app: Callable[[], Flask]
) -> None:
    defaults = env_app().config
    assert defaults["TRUSTED_PROXIES"] == 0
    assert defaults["AUTH_LIMIT_PER_ADDRESS"] < defaults["AUTH_LIMIT_PER_ACCOUNT"]
    monkeypatch.setenv("AUTH_LIMIT_PER_ACCOUNT", "7")
    monkeypatch.setenv("AUTH_LIMIT_PER_ADDRESS", "4")
    monkeypatch.setenv("AUTH_LIMIT_WINDOW_SECONDS", "30")
    monkeypatch.setenv("BADGEGATE_TRUSTED_PROXIES", "2")
    cfg = env_app().config
    assert (
        cfg["AUTH_LIMIT_PER_ACCOUNT"],
        cfg["AUTH_LIMIT_PER_ADDRESS"],
        cfg["AUTH_LIMIT_WINDOW_SECONDS"],
        cfg["TRUSTED_PROXIES"],
    ) == (7, 4, 30, 2)
    monkeypatch.setenv("BADGEGATE_TRUSTED_PROXIES", "-1")
    with pytest.raises(RuntimeError, match="BADGEGATE_TRUSTED_PROXIES"):
        env_app()
