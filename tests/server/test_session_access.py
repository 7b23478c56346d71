"""Session access (paid ateliers): who sees what, payments, refunds, grants,
bad input, other events, deletes, the action log; and ``GET /api/my-ateliers/``."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from server.actionlog import ActionLogEntry
from server.extensions import db
from server.models import RoomAccess, SessionAccess, User, UserEventAssignment
from tests.conftest import AuthActions, Factory, Member, World

URL = "/api/session-access/"
G = "gestionnaire_des_salles"


def call(
    client: FlaskClient, auth: AuthActions, who: Member, method: str, url: str, **kw: Any
) -> Any:
    return client.open(url, method=method, headers=auth.headers(who), **kw)


def _log(make: Factory, obj_id: Any) -> list[ActionLogEntry]:
    with make.app.app_context():
        rows = db.session.scalars(
            select(ActionLogEntry)
            .where(ActionLogEntry.obj_id == str(obj_id))
            .order_by(ActionLogEntry.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def _organisateur(make: Factory, world: World) -> Member:
    return make.member(world.event_id, "organisateur")


def test_a_payment_gives_access_and_a_refund_takes_it_away(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g, p = world.members[G], world.members["participant"]
    r = call(
        client,
        auth,
        g,
        "POST",
        URL,
        json={"participant": str(p.participant_id), "session": str(world.paid_session)},
    )
    assert r.status_code == 201, r.json
    access = r.json
    assert (access["payment_status"], access["has_access"], access["amount_paid"]) == (
        "pending",
        False,
        "0.00",
    )
    assert access["participant"] == str(p.participant_id)
    assert access["registered_at"].endswith("Z") and access["paid_at"] is None

    paid = call(client, auth, g, "PATCH", URL + access["id"] + "/", json={"payment_status": "paid"})
    assert paid.status_code == 200, paid.json
    assert (paid.json["has_access"], paid.json["amount_paid"]) == (True, "5000.00")
    assert paid.json["paid_at"].endswith("Z") and paid.json["granted_at"].endswith("Z")

    refund = call(
        client, auth, g, "PATCH", URL + access["id"] + "/", json={"payment_status": "refunded"}
    )
    assert refund.status_code == 200
    assert (refund.json["payment_status"], refund.json["has_access"]) == ("refunded", False)
    assert refund.json["granted_at"] is None

    entries = _log(make, access["id"])
    assert [e.action for e in entries] == [
        "session_access.create",
        "session_access.pay",
        "session_access.refund",
    ]
    assert all(e.actor_id == g.user_id and e.event_id == world.event_id for e in entries)
    assert entries[1].before["payment_status"] == "pending"
    assert entries[1].after["payment_status"] == "paid"
    assert entries[2].after["has_access"] is False


def test_a_payment_with_its_amount_and_time_and_a_grant_without_payment(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g = _organisateur(make, world)  # an organisateur manages like a gestionnaire
    p = world.members["participant"]
    other = make.member(world.event_id, "participant")
    r = call(
        client,
        auth,
        g,
        "POST",
        URL,
        json={
            "participant": str(p.participant_id),
            "session": str(world.paid_session),
            "payment_status": "paid",
            "amount_paid": "4500.50",
            "paid_at": "2025-11-28T19:00:00+01:00",
        },
    )
    assert r.status_code == 201, r.json
    assert (r.json["amount_paid"], r.json["paid_at"], r.json["has_access"]) == (
        "4500.50",
        "2025-11-28T18:00:00Z",
        True,
    )
    grant = call(
        client,
        auth,
        g,
        "POST",
        URL,
        json={
            "participant": str(other.participant_id),
            "session": str(world.paid_session),
            "has_access": True,
        },
    )
    assert grant.status_code == 201
    # a grant is recorded as the seed's "free": access, nothing paid
    assert (grant.json["payment_status"], grant.json["has_access"]) == ("free", True)
    assert grant.json["amount_paid"] == "0.00"
    pending_with_access = call(
        client,
        auth,
        g,
        "PATCH",
        URL + grant.json["id"] + "/",
        json={"payment_status": "pending", "has_access": True},
    )
    assert pending_with_access.status_code == 400
    assert "has_access" in pending_with_access.json["fields"]
    # PUT is whole: the status is required
    put = call(client, auth, g, "PUT", URL + grant.json["id"] + "/", json={"has_access": False})
    assert put.status_code == 400 and "payment_status" in put.json["fields"]
    put = call(
        client,
        auth,
        g,
        "PUT",
        URL + grant.json["id"] + "/",
        json={"payment_status": "pending", "has_access": False},
    )
    assert put.status_code == 200 and put.json["has_access"] is False


def test_who_may_read_and_write(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    g, p = world.members[G], world.members["participant"]
    mine = make.session_access(p.participant_id, world.paid_session)  # type: ignore[arg-type]
    someone = make.member(world.event_id, "participant")
    theirs = make.session_access(someone.participant_id, world.paid_session)  # type: ignore[arg-type]
    admin_user = make.user()
    with make.app.app_context():
        db.session.get(User, admin_user.id).is_admin = True  # type: ignore[union-attr]
        db.session.commit()
    admin = make.member(world.event_id, "participant", user=admin_user)

    everything = call(client, auth, g, "GET", URL).json
    assert {a["id"] for a in everything["results"]} == {str(mine), str(theirs)}
    own = call(client, auth, p, "GET", URL).json
    assert [a["id"] for a in own["results"]] == [str(mine)]
    assert call(client, auth, p, "GET", f"{URL}{mine}/").status_code == 200
    assert call(client, auth, p, "GET", f"{URL}{theirs}/").status_code == 404
    # a platform admin with a participant role is a participant here
    assert call(client, auth, admin, "GET", URL).json["count"] == 0
    for role in ("controlleur_des_badges", "exposant"):
        who = world.members[role]
        assert call(client, auth, who, "GET", URL).status_code == 403, role
        assert call(client, auth, who, "GET", f"{URL}{mine}/").status_code == 403, role
    body = {"participant": str(someone.participant_id), "session": str(world.free_session)}
    for who in (p, world.members["exposant"], world.members["controlleur_des_badges"], admin):
        assert call(client, auth, who, "POST", URL, json=body).status_code == 403
        patch = call(client, auth, who, "PATCH", f"{URL}{mine}/", json={"has_access": False})
        assert patch.status_code == 403
        assert call(client, auth, who, "DELETE", f"{URL}{mine}/").status_code == 403
    assert client.get(URL).status_code == 401


def test_filters(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    g, p = world.members[G], world.members["participant"]
    q = make.member(world.event_id, "participant")
    a1 = make.session_access(p.participant_id, world.paid_session, status="paid")  # type: ignore[arg-type]
    a2 = make.session_access(q.participant_id, world.paid_session, status="pending")  # type: ignore[arg-type]
    a3 = make.session_access(p.participant_id, world.free_session, status="refunded")  # type: ignore[arg-type]

    def ids(**query: str) -> set[str]:
        r = call(client, auth, g, "GET", URL, query_string=query)
        assert r.status_code == 200, r.json
        return {a["id"] for a in r.json["results"]}

    assert ids(participant_id=str(p.participant_id)) == {str(a1), str(a3)}
    assert ids(session_id=str(world.paid_session)) == {str(a1), str(a2)}
    assert ids(payment_status="pending") == {str(a2)}
    assert ids(payment_status="free") == set()
    assert ids(has_access="true") == {str(a1)}
    assert ids(has_access="false") == {str(a2), str(a3)}
    assert ids(participant_id=str(p.participant_id), has_access="false") == {str(a3)}
    for name, value in (
        ("participant_id", "nope"),
        ("payment_status", "gratuit"),
        ("has_access", "maybe"),
        ("page_size", "0"),
    ):
        r = call(client, auth, g, "GET", URL, query_string={name: value})
        assert r.status_code == 400 and name in r.json["fields"], name


def test_bad_input_names_the_field_and_writes_nothing(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    other = make.world()
    g, p = world.members[G], world.members["participant"]
    ok = {"participant": str(p.participant_id), "session": str(world.paid_session)}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"session": ok["session"]}, "participant"),
        ({"participant": ok["participant"]}, "session"),
        ({**ok, "participant": "not-a-uuid"}, "participant"),
        ({**ok, "participant": str(uuid.uuid4())}, "participant"),
        ({**ok, "participant": str(other.members["participant"].participant_id)}, "participant"),
        ({**ok, "session": str(other.paid_session)}, "session"),
        ({**ok, "payment_status": "gratuit"}, "payment_status"),
        ({**ok, "has_access": "yes"}, "has_access"),
        ({**ok, "amount_paid": "-1"}, "amount_paid"),
        ({**ok, "amount_paid": "1.234"}, "amount_paid"),
        ({**ok, "amount_paid": 10**30}, "amount_paid"),
        ({**ok, "amount_paid": "NaN"}, "amount_paid"),
        ({**ok, "amount_paid": True}, "amount_paid"),
        ({**ok, "paid_at": "yesterday"}, "paid_at"),
        ({**ok, "paid_at": "2025-11-28T19:00:00"}, "paid_at"),
        ({**ok, "payment_status": "refunded", "has_access": True}, "has_access"),
        ({**ok, "surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        r = call(client, auth, g, "POST", URL, json=body)
        assert r.status_code == 400, (body, r.json)
        assert field in r.json["fields"], (body, r.json)
    with make.app.app_context():
        assert db.session.scalars(select(SessionAccess)).all() == []
        assert db.session.scalars(select(ActionLogEntry)).all() == []
    assert call(client, auth, g, "POST", URL, json=ok).status_code == 201
    again = call(client, auth, g, "POST", URL, json=ok)
    assert again.status_code == 400 and "session" in again.json["fields"]
    nested: Any = {"a": 1}
    for _ in range(100):
        nested = {"a": nested}
    deep = call(client, auth, g, "POST", URL, json={**ok, "paid_at": nested})
    assert deep.status_code == 400
    lone = client.post(
        URL,
        data='{"participant": "\\ud800", "session": "x"}',
        content_type="application/json",
        headers=auth.headers(g),
    )
    assert lone.status_code == 400


def test_other_events_do_not_exist(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    other = make.world()
    theirs = make.session_access(other.members["participant"].participant_id, other.paid_session)  # type: ignore[arg-type]
    g = world.members[G]
    assert call(client, auth, g, "GET", f"{URL}{theirs}/").status_code == 404
    patch = call(client, auth, g, "PATCH", f"{URL}{theirs}/", json={"payment_status": "paid"})
    assert patch.status_code == 404
    assert call(client, auth, g, "DELETE", f"{URL}{theirs}/").status_code == 404
    assert call(client, auth, g, "GET", URL).json["count"] == 0
    with make.app.app_context():
        assert db.session.get(SessionAccess, theirs).payment_status == "paid"  # type: ignore[union-attr]


def test_a_delete_is_refused_once_a_scan_used_the_access(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g, p = world.members[G], world.members["participant"]
    unused = make.session_access(p.participant_id, world.free_session, status="pending")  # type: ignore[arg-type]
    used = make.session_access(p.participant_id, world.paid_session)  # type: ignore[arg-type]
    with make.app.app_context():
        db.session.add(
            RoomAccess(
                event_id=world.event_id,
                room_id=world.rooms[1],
                session_id=world.paid_session,
                participant_id=p.participant_id,
                user_id=p.user_id,
                status="granted",
                reason="granted",
            )
        )
        db.session.commit()
    r = call(client, auth, g, "DELETE", f"{URL}{used}/")
    assert r.status_code == 409 and "refund" in r.json["error"]
    assert call(client, auth, g, "DELETE", f"{URL}{unused}/").status_code == 204
    with make.app.app_context():
        assert db.session.get(SessionAccess, used) is not None
        assert db.session.get(SessionAccess, unused) is None
    [entry] = _log(make, unused)
    assert entry.action == "session_access.delete" and entry.after is None
    assert entry.before["payment_status"] == "pending"
    assert _log(make, used) == []


def test_my_ateliers(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    p = world.members["participant"]
    second = make.session(world.event_id, world.rooms[2], paid=True, price="3000.00")
    third = make.session(world.event_id, world.rooms[2], paid=True, price="1000.00")
    make.session_access(p.participant_id, world.paid_session, status="paid")  # type: ignore[arg-type]
    make.session_access(p.participant_id, second, status="pending")  # type: ignore[arg-type]
    make.session_access(p.participant_id, third, status="refunded")  # type: ignore[arg-type]
    make.session_access(p.participant_id, world.free_session, status="paid")  # type: ignore[arg-type]
    with make.app.app_context():
        a = db.session.scalars(
            select(SessionAccess).where(SessionAccess.session_id == world.paid_session)
        ).one()
        a.amount_paid = 5000
        db.session.commit()
    r = call(client, auth, p, "GET", "/api/my-ateliers/")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["participant"]["id"] == str(p.participant_id)
    assert body["participant"]["email"] == p.email
    assert body["participant"]["badge_id"] == p.badge_id
    assert body["summary"] == {
        "total_ateliers": 3,
        "paid_count": 1,
        "pending_count": 1,
        "total_paid": 5000.0,
        "total_pending": 3000.0,
        "total_amount": 8000.0,
    }
    by_session = {a["session_id"]: a for a in body["ateliers"]}
    assert set(by_session) == {str(world.paid_session), str(second), str(third)}
    paid = by_session[str(world.paid_session)]
    assert (paid["price"], paid["amount_paid"], paid["payment_status"]) == (5000.0, 5000.0, "paid")
    assert paid["room"]["id"] == str(world.rooms[1]) and paid["start_time"].endswith("Z")
    # the controller has no participant record; another event's participant sees theirs only
    c = world.members["controlleur_des_badges"]
    assert call(client, auth, c, "GET", "/api/my-ateliers/").status_code == 404
    other = make.world()
    there = call(client, auth, other.members["participant"], "GET", "/api/my-ateliers/").json
    assert there["summary"]["total_ateliers"] == 0 and there["ateliers"] == []


def test_a_withdrawn_role_reads_nothing(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    p = world.members["participant"]
    with make.app.app_context():
        assignment = db.session.scalars(
            select(UserEventAssignment).where(UserEventAssignment.user_id == p.user_id)
        ).one()
        assignment.is_active = False
        db.session.commit()
    assert call(client, auth, p, "GET", URL).status_code == 403
