"""The action log: written in the caller's transaction, gone with it on a rollback,
listed newest first and filtered by object, person, action and time."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from server.actionlog import (
    ActionLogEntry,
    changed,
    entry_dict,
    jsonable,
    list_entries,
    log_query,
    record,
    snapshot,
)
from server.extensions import db
from server.models import SessionAccess, User
from server.pagination import paginate
from shared.roles import Role
from shared.timefmt import utcnow
from tests.conftest import TEST_PASSWORD, AuthActions, Factory, World


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(ActionLogEntry)) or 0


def _refund(world: World, make: Factory, actor_id: int) -> uuid.UUID:
    """A paid access refunded, with its log entry, in one transaction (committed)."""
    participant = world.members["participant"]
    assert participant.participant_id is not None
    access_id = make.session_access(participant.participant_id, world.paid_session)
    access = db.session.get(SessionAccess, access_id)
    assert access is not None
    before = snapshot(access, ["payment_status", "has_access", "amount_paid"])
    access.payment_status = "refunded"
    access.has_access = False
    record(
        db.session,
        event_id=world.event_id,
        actor_id=actor_id,
        action="session_access.refund",
        obj_type="session_access",
        obj_id=access.id,
        before=before,
        after=snapshot(access, ["payment_status", "has_access", "amount_paid"]),
    )
    db.session.commit()
    return access_id


def test_an_entry_is_written_with_the_change(app: Flask, make: Factory) -> None:
    world = make.world()
    manager = world.members["gestionnaire_des_salles"]
    with app.app_context():
        access_id = _refund(world, make, manager.user_id)
    with app.app_context():
        entry = db.session.scalars(select(ActionLogEntry)).one()
        assert entry.event_id == world.event_id
        assert entry.actor_id == manager.user_id
        assert entry.action == "session_access.refund"
        assert (entry.obj_type, entry.obj_id) == ("session_access", str(access_id))
        assert entry.before is not None and entry.after is not None
        assert entry.before["payment_status"] == "paid" and entry.before["has_access"] is True
        assert entry.after["payment_status"] == "refunded" and entry.after["has_access"] is False
        assert utcnow() - entry.at < timedelta(minutes=1)
        shown = entry_dict(entry)
        assert shown["changed"] == ["has_access", "payment_status"]
        assert shown["object_id"] == str(access_id) and shown["at"].endswith("Z")


def test_record_neither_flushes_nor_commits(app: Flask, make: Factory) -> None:
    world = make.world()
    with app.app_context():
        entry = record(
            db.session,
            event_id=world.event_id,
            actor_id=None,
            action="kiosk.revoke",
            obj_type="kiosk",
            obj_id=uuid.uuid4(),
            before={"revoked": False},
            after={"revoked": True},
        )
        assert entry in db.session.new and entry.id is None
        db.session.rollback()
        assert _count() == 0


def test_a_rollback_drops_the_entry_with_the_change(app: Flask, make: Factory) -> None:
    world = make.world()
    participant = world.members["participant"]
    assert participant.participant_id is not None
    access_id = make.session_access(participant.participant_id, world.paid_session)
    with app.app_context():
        access = db.session.get(SessionAccess, access_id)
        assert access is not None
        before = snapshot(access, ["payment_status"])
        access.payment_status = "refunded"
        record(
            db.session,
            event_id=world.event_id,
            actor_id=world.members["gestionnaire_des_salles"].user_id,
            action="session_access.refund",
            obj_type="session_access",
            obj_id=access_id,
            before=before,
            after=snapshot(access, ["payment_status"]),
        )
        db.session.flush()  # both rows are in the transaction...
        assert _count() == 1
        db.session.rollback()  # ... and both go
    with app.app_context():
        assert _count() == 0
        access = db.session.get(SessionAccess, access_id)
        assert access is not None and access.payment_status == "paid"


def _entry(
    world_event: uuid.UUID,
    actor: int | None,
    action: str,
    obj_type: str,
    obj_id: str,
    at: datetime,
) -> None:
    record(
        db.session,
        event_id=world_event,
        actor_id=actor,
        action=action,
        obj_type=obj_type,
        obj_id=obj_id,
        before=None,
        after={"n": 1},
        at=at,
    )


def test_the_listing_filters_and_pages(app: Flask, make: Factory) -> None:
    world, other = make.world(), make.world()
    alice = world.members["gestionnaire_des_salles"].user_id
    bob = world.members["controlleur_des_badges"].user_id
    base = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    with app.app_context():
        _entry(world.event_id, alice, "session.create", "session", "s1", base)
        _entry(world.event_id, alice, "session.update", "session", "s1", base + timedelta(hours=1))
        _entry(world.event_id, bob, "badge.reissue", "badge", "7", base + timedelta(hours=2))
        _entry(world.event_id, alice, "session.delete", "session", "s2", base + timedelta(hours=3))
        _entry(world.event_id, None, "kiosk.revoke", "kiosk", "k1", base + timedelta(hours=4))
        _entry(other.event_id, alice, "session.create", "session", "s1", base)
        db.session.commit()

        def actions(**filters: object) -> list[str]:
            page = list_entries(db.session, world.event_id, page_size=100, **filters)
            assert page.count == len(page.entries)
            return [e.action for e in page.entries]

        assert actions() == [
            "kiosk.revoke",
            "session.delete",
            "badge.reissue",
            "session.update",
            "session.create",
        ]
        assert actions(obj_type="session", obj_id="s1") == ["session.update", "session.create"]
        assert actions(actor_id=bob) == ["badge.reissue"]
        assert actions(actor_id=alice, action="session.") == [
            "session.delete",
            "session.update",
            "session.create",
        ]
        assert actions(action="session.update") == ["session.update"]
        assert actions(action="session") == []  # a whole name, or a prefix ending in "."
        assert actions(since=base + timedelta(hours=1), until=base + timedelta(hours=3)) == [
            "badge.reissue",
            "session.update",
        ]
        first = list_entries(db.session, world.event_id, page=1, page_size=2)
        third = list_entries(db.session, world.event_id, page=3, page_size=2)
        assert first.count == third.count == 5
        assert [e.action for e in first.entries] == ["kiosk.revoke", "session.delete"]
        assert [e.action for e in third.entries] == ["session.create"]
        with pytest.raises(ValueError):
            list_entries(db.session, world.event_id, page=0)
        assert list_entries(db.session, other.event_id).count == 1


def test_the_query_pages_as_the_api_lists(app: Flask, make: Factory) -> None:
    world = make.world()
    with app.app_context():
        for n in range(3):
            _entry(world.event_id, None, "room.update", "room", "r", utcnow() + timedelta(n))
        db.session.commit()
    with app.test_request_context("/api/events/x/log/?page_size=2&page=2"):
        body = paginate(log_query(world.event_id, obj_type="room"), entry_dict)
    assert body["count"] == 3 and len(body["results"]) == 1
    assert body["next"] is None and body["previous"] is not None


def test_an_actor_deleted_later_leaves_the_entry(app: Flask, make: Factory) -> None:
    world = make.world()
    actor = make.user()
    with app.app_context():
        _entry(world.event_id, actor.id, "room.update", "room", "r", utcnow())
        db.session.commit()
        db.session.execute(delete(User).where(User.id == actor.id))
        db.session.commit()
        entry = db.session.scalars(select(ActionLogEntry)).one()
        assert entry.actor_id is None and entry.action == "room.update"


def test_values_are_logged_as_json() -> None:
    some_id = uuid.uuid4()
    at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert jsonable(
        {"id": some_id, "at": at, "amount": Decimal("5000.00"), "rooms": {"b", "a"}, "n": None}
    ) == {
        "id": str(some_id),
        "at": "2026-05-01T09:30:00Z",
        "amount": "5000.00",
        "rooms": ["a", "b"],
        "n": None,
    }
    with pytest.raises(TypeError):
        jsonable(object())
    assert changed({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == ["b", "c"]
    assert changed(None, {"a": 1}) == ["a"]


@pytest.mark.parametrize(
    ("action", "obj_type", "obj_id"),
    [("", "room", "r"), ("x" * 65, "room", "r"), ("room.update", "", "r"), ("a.b", "t", "")],
)
def test_bad_entries_are_refused_before_the_database(
    app: Flask, action: str, obj_type: str, obj_id: str
) -> None:
    with app.app_context(), pytest.raises(ValueError):
        record(
            db.session,
            event_id=None,
            actor_id=None,
            action=action,
            obj_type=obj_type,
            obj_id=obj_id,
            before=None,
            after=None,
        )


# ---------------------------------------------------------------------------
# the writes of kiosks and badges are logged


def _entries(app: Flask) -> list[ActionLogEntry]:
    with app.app_context():
        rows = db.session.scalars(select(ActionLogEntry).order_by(ActionLogEntry.id)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def test_a_kiosk_created_provisioned_and_revoked_is_in_the_log_without_its_secrets(
    app: Flask, client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    world = make.world()
    gest = world.members[Role.GESTIONNAIRE.value]
    headers = auth.headers(gest)
    made = client.post(
        "/api/kiosks/", json={"name": "Porte A", "mode": "door", "room_id": str(world.rooms[0])},
        headers=headers,
    )  # fmt: skip
    assert made.status_code == 201, made.json
    code = made.json["provisioning_code"]
    token = client.post("/api/kiosks/provision/", json={"code": code}).json["device_token"]
    kiosk_id = made.json["kiosk"]["id"]
    assert client.delete(f"/api/kiosks/{kiosk_id}/", headers=headers).status_code == 204
    assert client.delete(f"/api/kiosks/{kiosk_id}/", headers=headers).status_code == 204

    entries = _entries(app)
    assert [(e.action, e.actor_id, e.obj_type, e.obj_id) for e in entries] == [
        ("kiosk.created", gest.user_id, "kiosk", kiosk_id),
        ("kiosk.provisioned", None, "kiosk", kiosk_id),  # with a code: the device did it
        ("kiosk.revoked", gest.user_id, "kiosk", kiosk_id),  # once: the second changed nothing
    ]
    assert all(e.event_id == world.event_id for e in entries)
    created, provisioned, revoked = entries
    assert created.before is None and created.after["room_id"] == str(world.rooms[0])
    assert provisioned.before["provisioned_at"] is None and provisioned.after["provisioned_at"]
    assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"]
    logged = json.dumps([(e.before, e.after) for e in entries])
    secret = token.rsplit(".", 1)[-1]
    for forbidden in (code, code.replace("-", ""), secret, "token_hash", "code_hash"):
        assert forbidden not in logged


def test_a_kiosk_provisioned_with_a_login_is_logged_as_done_by_that_person(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    world = make.world()
    controller = world.members[Role.CONTROLLEUR.value]
    r = client.post(
        "/api/kiosks/provision/",
        json={"email": controller.email, "password": TEST_PASSWORD, "room_id": str(world.rooms[1])},
    )
    assert r.status_code == 201, r.json
    (entry,) = _entries(app)
    assert (entry.action, entry.actor_id, entry.before) == (
        "kiosk.provisioned", controller.user_id, None,
    )  # fmt: skip
    assert entry.after["room_id"] == str(world.rooms[1]) and entry.after["provisioned_by_login"]


def test_a_reissued_badge_is_logged_by_its_last_characters_only(
    app: Flask, client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    world = make.world()
    gest = world.members[Role.GESTIONNAIRE.value]
    person = world.members[Role.PARTICIPANT.value]
    plain = client.post("/api/qr/generate/", json={"user_id": person.user_id},
                        headers=auth.headers(gest))  # fmt: skip
    assert plain.status_code == 200 and _entries(app) == []  # showing a badge changes nothing
    r = client.post(
        "/api/qr/generate/",
        json={"user_id": person.user_id, "reissue": True},
        headers=auth.headers(gest),
    )
    assert r.status_code == 201, r.json
    new_badge = r.json["badge_id"]
    (entry,) = _entries(app)
    assert (entry.action, entry.actor_id, entry.obj_type, entry.obj_id, entry.event_id) == (
        "badge.reissued", gest.user_id, "user", str(person.user_id), world.event_id,
    )  # fmt: skip
    assert entry.before == {"badge": f"...{person.badge_id[-4:]}"}
    assert entry.after == {"badge": f"...{new_badge[-4:]}"}
    logged = json.dumps([entry.before, entry.after])
    assert person.badge_id not in logged and new_badge not in logged
