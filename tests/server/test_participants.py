"""Participants: the permission matrix, filters, creation by account or email,
badge numbers, allowed rooms, the plan PDF, other events, deletes, the action log."""

from __future__ import annotations

import io
import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from server.actionlog import ActionLogEntry
from server.extensions import db
from server.models import (
    ExposantScan,
    Participant,
    RoomAccess,
    User,
    UserEventAssignment,
)
from tests.conftest import AuthActions, Factory, Member
from tests.server.test_uploads import make_pdf

URL = "/api/participants/"
G = "gestionnaire_des_salles"


def call(
    client: FlaskClient, auth: AuthActions, who: Member, method: str, url: str, **kw: Any
) -> Any:
    return client.open(url, method=method, headers=auth.headers(who), **kw)


def _actions(make: Factory) -> list[tuple[str, str]]:
    with make.app.app_context():
        return [
            (e.action, e.obj_id)
            for e in db.session.scalars(select(ActionLogEntry).order_by(ActionLogEntry.id))
        ]


def _admin(make: Factory, event_id: uuid.UUID, role: str) -> Member:
    user = make.user()
    with make.app.app_context():
        db.session.get(User, user.id).is_admin = True  # type: ignore[union-attr]
        db.session.commit()
    return make.member(event_id, role, user=user)


def test_who_sees_whom(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    other = make.world()
    members = world.members
    everyone = {str(m.participant_id) for m in members.values() if m.participant_id}
    organisateur = make.member(world.event_id, "organisateur")
    for who in (members[G], members["controlleur_des_badges"], organisateur):
        r = call(client, auth, who, "GET", URL)
        assert r.status_code == 200, r.json
        assert {p["id"] for p in r.json["results"]} == everyone
    for role in ("participant", "exposant"):
        me = members[role]
        r = call(client, auth, me, "GET", URL)
        assert [p["id"] for p in r.json["results"]] == [str(me.participant_id)], role
        assert call(client, auth, me, "GET", f"{URL}{me.participant_id}/").status_code == 200
        someone = members["exposant" if role == "participant" else "participant"]
        assert call(client, auth, me, "GET", f"{URL}{someone.participant_id}/").status_code == 404
    # a platform admin holds only the role they have in the event
    admin = _admin(make, world.event_id, "participant")
    assert call(client, auth, admin, "GET", URL).json["count"] == 1
    # another event's participant does not exist here; its event filter is refused
    theirs = other.members["participant"].participant_id
    assert call(client, auth, members[G], "GET", f"{URL}{theirs}/").status_code == 404
    r = call(client, auth, members[G], "GET", URL, query_string={"event_id": str(other.event_id)})
    assert r.status_code == 403 and "event_id" in r.json["fields"]
    ok = call(client, auth, members[G], "GET", URL, query_string={"event_id": str(world.event_id)})
    assert ok.json["count"] == len(everyone) + 1  # the admin's record too
    assert client.get(URL).status_code == 401


def test_the_answer_has_the_seeds_fields(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    p = world.members["participant"]
    r = call(client, auth, p, "GET", f"{URL}{p.participant_id}/")
    body = r.json
    assert set(body) == {
        "id",
        "user",
        "event",
        "badge_number",
        "qr_code_data",
        "registration_date",
        "plan_file",
        "name",
        "email",
        "organisation",
        "allowed_room_ids",
    }
    assert (body["user"], body["event"], body["email"]) == (p.user_id, str(world.event_id), p.email)
    assert body["registration_date"].endswith("Z") and body["plan_file"] is None


def test_filters(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    g = world.members[G]
    amina = make.member(
        world.event_id,
        "participant",
        user=make.user("amina.b@example.com", first_name="Amina", last_name="Benali"),
    )
    make.member(
        world.event_id,
        "participant",
        user=make.user("karim@example.org", first_name="Karim", last_name="100%_Sure"),
    )
    with make.app.app_context():
        badge = db.session.get(Participant, amina.participant_id).badge_number  # type: ignore[union-attr]

    def emails(**query: str) -> list[str]:
        r = call(client, auth, g, "GET", URL, query_string=query)
        assert r.status_code == 200, r.json
        return sorted(p["email"] for p in r.json["results"])

    assert emails(badge_number=badge) == ["amina.b@example.com"]
    assert emails(badge_number="nope") == []
    assert emails(search="AMINA") == ["amina.b@example.com"]
    assert emails(search="amina benali") == ["amina.b@example.com"]
    assert emails(search="EXAMPLE.ORG") == ["karim@example.org"]
    assert emails(search="%") == ["karim@example.org"]  # a literal percent sign
    assert emails(search="_s") == ["karim@example.org"]
    assert emails(search="zzz") == []
    r = call(client, auth, g, "GET", URL, query_string={"search": "a\x01"})
    assert r.status_code == 400 and "search" in r.json["fields"]
    r = call(client, auth, g, "GET", URL, query_string={"event_id": "x"})
    assert r.status_code == 400 and "event_id" in r.json["fields"]


def test_search_follows_every_change_of_a_name_through_its_index(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    """The search reads an index kept by the database (FTS5 trigram on SQLite,
    pg_trgm on PostgreSQL): renames, deletions and odd characters included."""
    world = make.world()
    g = world.members[G]
    elodie = make.member(
        world.event_id,
        "participant",
        user=make.user("e.h@example.com", first_name="Élodie", last_name='Haddad "Lo"'),
    )
    other = make.member(world.event_id, "participant")  # the same name, in another event
    make.member(
        make.event(),
        "participant",
        user=make.user("e.h2@example.com", first_name="Élodie", last_name="Haddad"),
    )

    def emails(search: str) -> list[str]:
        r = call(client, auth, g, "GET", URL, query_string={"search": search})
        assert r.status_code == 200, r.json
        assert r.json["count"] == len(r.json["results"])
        return sorted(p["email"] for p in r.json["results"])

    assert emails("élodie haddad") == ["e.h@example.com"]  # the other event's is not shown
    assert emails("odie") == ["e.h@example.com"]
    assert emails('"lo"') == ["e.h@example.com"]  # a quote is text, not query syntax
    assert emails("ha") == ["e.h@example.com"]  # too short for a trigram: read row by row
    assert emails('die haddad "lo') == ["e.h@example.com"]
    with make.app.app_context():
        user = db.session.get(User, elodie.user_id)
        user.last_name = "Mansouri"  # type: ignore[union-attr]
        db.session.get(User, other.user_id).email = "odie@example.net"  # type: ignore[union-attr]
        db.session.commit()
    assert emails("haddad") == []
    assert emails("mansouri") == ["e.h@example.com"]
    assert emails("odie") == ["e.h@example.com", "odie@example.net"]
    with make.app.app_context():
        db.session.delete(db.session.get(Participant, other.participant_id))
        db.session.commit()
    assert emails("odie") == ["e.h@example.com"]


def test_create_by_email_makes_the_account_and_the_role(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g = world.members[G]
    body = {
        "email": "New.Person@Example.com",
        "first_name": "Nadia",
        "last_name": "Kaci",
        "badge_number": "TECH2025-900",
        "organisation": "Sonatrach",
        "allowed_room_ids": [str(world.rooms[0]), str(world.rooms[1])],
    }
    r = call(client, auth, g, "POST", URL, json=body)
    assert r.status_code == 201, r.json
    created = r.json
    assert (created["email"], created["name"], created["organisation"]) == (
        "new.person@example.com",
        "Nadia Kaci",
        "Sonatrach",
    )
    assert created["allowed_room_ids"] == sorted(body["allowed_room_ids"])
    with make.app.app_context():
        user = db.session.scalars(select(User).where(User.email == "new.person@example.com")).one()
        assert user.password_hash.startswith("!") and user.profile is not None
        role = db.session.scalars(
            select(UserEventAssignment).where(UserEventAssignment.user_id == user.id)
        ).one()
        assert (role.role, role.is_active, role.event_id) == ("participant", True, world.event_id)
        uid = user.id
    # nobody can log in with the random password
    assert auth.login("new.person@example.com", "").status_code in (400, 401)
    actions = [a for a, _ in _actions(make)]
    assert actions == ["user.create", "participant.create", "user_assignment.create"]
    # by id, someone who has a role already: the role is kept
    c = world.members["controlleur_des_badges"]
    r = call(client, auth, g, "POST", URL, json={"user": c.user_id, "badge_number": "STAFF-1"})
    assert r.status_code == 201, r.json
    with make.app.app_context():
        roles = db.session.scalars(
            select(UserEventAssignment.role).where(UserEventAssignment.user_id == c.user_id)
        ).all()
        assert roles == ["controlleur_des_badges"]
    # twice in one event: 400 naming the field
    again = call(client, auth, g, "POST", URL, json={"user": uid, "badge_number": "X-2"})
    assert again.status_code == 400 and "user" in again.json["fields"]
    again = call(
        client, auth, g, "POST", URL, json={"email": "new.person@example.com", "badge_number": "3"}
    )
    assert again.status_code == 400 and "email" in again.json["fields"]


def test_only_gestionnaires_write(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    p = world.members["participant"]
    admin = _admin(make, world.event_id, "exposant")
    body = {"email": "x@example.com", "badge_number": "B-1"}
    for who in (
        p,
        world.members["exposant"],
        world.members["controlleur_des_badges"],
        admin,
    ):
        assert call(client, auth, who, "POST", URL, json=body).status_code == 403
        url = f"{URL}{p.participant_id}/"
        assert call(client, auth, who, "PATCH", url, json={"organisation": "x"}).status_code == 403
        assert call(client, auth, who, "DELETE", url).status_code == 403
    organisateur = make.member(world.event_id, "organisateur")
    r = call(client, auth, organisateur, "POST", URL, json=body)
    assert r.status_code == 201, r.json


def test_bad_input_names_the_field_and_writes_nothing(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    other = make.world()
    g = world.members[G]
    taken = world.members["participant"]
    with make.app.app_context():
        used = db.session.get(Participant, taken.participant_id).badge_number  # type: ignore[union-attr]
    ok = {"email": "someone@example.com", "badge_number": "OK-1"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"badge_number": "OK-1"}, "user"),
        ({"email": "someone@example.com"}, "badge_number"),
        ({**ok, "badge_number": used}, "badge_number"),
        ({**ok, "badge_number": "a\x07b"}, "badge_number"),
        ({**ok, "badge_number": "x" * 51}, "badge_number"),
        ({**ok, "organisation": "line\nbreak"}, "organisation"),
        ({**ok, "first_name": "\x1b[31m"}, "first_name"),
        ({**ok, "email": "not-an-email"}, "email"),
        ({"user": 10**30, "badge_number": "OK-1"}, "user"),
        ({"user": 999999, "badge_number": "OK-1"}, "user"),
        ({"user": "5", "badge_number": "OK-1"}, "user"),
        ({**ok, "allowed_room_ids": [str(other.rooms[0])]}, "allowed_room_ids"),
        ({**ok, "allowed_room_ids": [str(uuid.uuid4())]}, "allowed_room_ids"),
        ({**ok, "allowed_room_ids": "all"}, "allowed_room_ids"),
        ({**ok, "allowed_room_ids": [1]}, "allowed_room_ids"),
        ({**ok, "plan_file": "/etc/passwd"}, "plan_file"),
        ({**ok, "event": str(other.event_id)}, "event"),
    ]
    before = _actions(make)
    for body, field in cases:
        r = call(client, auth, g, "POST", URL, json=body)
        assert r.status_code == 400, (body, r.json)
        assert field in r.json["fields"], (body, r.json)
    with make.app.app_context():
        assert db.session.scalar(select(User).where(User.email == "someone@example.com")) is None
    assert _actions(make) == before
    r = client.post(URL, data="{", content_type="application/json", headers=auth.headers(g))
    assert r.status_code == 400
    r = client.post(
        URL,
        data='{"email": "\\udc00@example.com", "badge_number": "1"}',
        content_type="application/json",
        headers=auth.headers(g),
    )
    assert r.status_code == 400


def test_update_and_allowed_rooms(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    g, p = world.members[G], world.members["participant"]
    url = f"{URL}{p.participant_id}/"
    r = call(client, auth, g, "PATCH", url, json={"allowed_room_ids": [str(world.rooms[2])]})
    assert r.status_code == 200, r.json
    assert r.json["allowed_room_ids"] == [str(world.rooms[2])]
    r = call(client, auth, g, "PATCH", url, json={"allowed_room_ids": []})
    assert r.json["allowed_room_ids"] == []
    # PUT needs the badge number
    r = call(client, auth, g, "PUT", url, json={"organisation": "Cevital"})
    assert r.status_code == 400 and "badge_number" in r.json["fields"]
    r = call(client, auth, g, "PUT", url, json={"badge_number": "NEW-1", "organisation": "Cevital"})
    assert r.status_code == 200 and (r.json["badge_number"], r.json["organisation"]) == (
        "NEW-1",
        "Cevital",
    )
    with make.app.app_context():
        used = db.session.get(Participant, world.members["exposant"].participant_id).badge_number  # type: ignore[union-attr]
    r = call(client, auth, g, "PATCH", url, json={"badge_number": used})
    assert r.status_code == 400 and "badge_number" in r.json["fields"]
    r = call(client, auth, g, "PATCH", url, json={"user": world.members[G].user_id})
    assert r.status_code == 400 and "user" in r.json["fields"]
    updates = [e for e in _actions(make) if e[0] == "participant.update"]
    assert len(updates) == 3
    with make.app.app_context():
        entry = db.session.scalars(
            select(ActionLogEntry)
            .where(ActionLogEntry.action == "participant.update")
            .order_by(ActionLogEntry.id)
        ).first()
        assert entry is not None
        assert (entry.before["allowed_room_ids"], entry.after["allowed_room_ids"]) == (
            [],
            [str(world.rooms[2])],
        )
    other = make.world()
    theirs = f"{URL}{other.members['participant'].participant_id}/"
    assert call(client, auth, g, "PATCH", theirs, json={"organisation": "x"}).status_code == 404


def test_the_plan_pdf_is_uploaded_and_served(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    world = make.world()
    g, expo = world.members[G], world.members["exposant"]
    url = f"{URL}{expo.participant_id}/"
    pdf = make_pdf()
    r = client.patch(
        url,
        data={"plan_file": (io.BytesIO(pdf), "stand.pdf"), "organisation": "Booth Co"},
        content_type="multipart/form-data",
        headers=auth.headers(g),
    )
    assert r.status_code == 200, r.json
    link = r.json["plan_file"]
    assert link.startswith("http://localhost/media/") and link.endswith(".pdf")
    served = client.get(link.removeprefix("http://localhost"))
    assert served.status_code == 200 and served.data == pdf
    assert served.headers["Content-Type"] == "application/pdf"
    # not a PDF: 400 naming it, nothing changed
    bad = client.patch(
        url,
        data={"plan_file": (io.BytesIO(b"<html>hi</html>"), "stand.pdf"), "organisation": "Y"},
        content_type="multipart/form-data",
        headers=auth.headers(g),
    )
    assert bad.status_code == 400 and "plan_file" in bad.json["fields"]
    after = call(client, auth, expo, "GET", url).json
    assert (after["plan_file"], after["organisation"]) == (link, "Booth Co")
    # created with a form, rooms as repeated fields
    r = client.post(
        URL,
        data={
            "email": "booth2@example.com",
            "badge_number": "EXPO-2",
            "allowed_room_ids": [str(world.rooms[0]), str(world.rooms[1])],
            "plan_file": (io.BytesIO(pdf), "plan.pdf"),
        },
        content_type="multipart/form-data",
        headers=auth.headers(g),
    )
    assert r.status_code == 201, r.json
    assert r.json["plan_file"].endswith(".pdf") and len(r.json["allowed_room_ids"]) == 2
    # a bad field in the form: no file is stored
    r = client.post(
        URL,
        data={
            "email": "x@example.com",
            "badge_number": "EXPO-2",
            "plan_file": (io.BytesIO(pdf), "p.pdf"),
        },
        content_type="multipart/form-data",
        headers=auth.headers(g),
    )
    assert r.status_code == 400 and "badge_number" in r.json["fields"]
    # null in JSON removes the plan
    r = call(client, auth, g, "PATCH", url, json={"plan_file": None})
    assert r.status_code == 200 and r.json["plan_file"] is None


def test_delete(client: FlaskClient, make: Factory, auth: AuthActions) -> None:
    world = make.world()
    g = world.members[G]
    fresh = make.member(world.event_id, "participant")
    scanned = make.member(world.event_id, "participant")
    visitor = make.member(world.event_id, "participant")
    payer = make.member(world.event_id, "participant")
    pending = make.member(world.event_id, "participant")
    make.session_access(payer.participant_id, world.paid_session, status="paid")  # type: ignore[arg-type]
    make.session_access(pending.participant_id, world.paid_session, status="pending")  # type: ignore[arg-type]
    with make.app.app_context():
        db.session.add(
            RoomAccess(
                event_id=world.event_id,
                room_id=world.rooms[0],
                participant_id=scanned.participant_id,
                user_id=scanned.user_id,
                status="denied",
                reason="room_not_allowed",
            )
        )
        db.session.add(
            ExposantScan(
                exposant_id=world.members["exposant"].participant_id,
                scanned_participant_id=visitor.participant_id,
                event_id=world.event_id,
            )
        )
        db.session.commit()
    for who, what in ((scanned, "door scans"), (visitor, "booth visits"), (payer, "payments")):
        r = call(client, auth, g, "DELETE", f"{URL}{who.participant_id}/")
        assert r.status_code == 409, r.json
        assert what in r.json["error"] and "is_active" in r.json["error"]
    assert call(client, auth, g, "DELETE", f"{URL}{fresh.participant_id}/").status_code == 204
    assert call(client, auth, g, "DELETE", f"{URL}{pending.participant_id}/").status_code == 204
    assert call(client, auth, g, "GET", f"{URL}{fresh.participant_id}/").status_code == 404
    with make.app.app_context():
        for who in (scanned, visitor, payer):
            assert db.session.get(Participant, who.participant_id) is not None
    deletes = [obj for action, obj in _actions(make) if action == "participant.delete"]
    assert deletes == [str(fresh.participant_id), str(pending.participant_id)]
    other = make.world()
    theirs = other.members["participant"].participant_id
    assert call(client, auth, g, "DELETE", f"{URL}{theirs}/").status_code == 404


def test_a_form_part_whose_name_werkzeug_cannot_read_is_a_400_not_a_500(
    client: FlaskClient, make: Factory, auth: AuthActions
) -> None:
    """A part named ``"x\\"`` (a name ending in a backslash) reaches the view with
    no name at all (``None``): it is refused as a field with no name."""
    world = make.world()
    g, expo = world.members[G], world.members["exposant"]
    url = f"{URL}{expo.participant_id}/"
    body = (
        b'--b\r\nContent-Disposition: form-data; name="x\\"\r\n\r\n{}\r\n'
        b'--b\r\nContent-Disposition: form-data; name=""\r\n\r\n{}\r\n'
        b'--b\r\nContent-Disposition: form-data; name="organisation"\r\n\r\nkind\r\n--b--\r\n'
    )
    for method in ("PATCH", "PUT"):
        r = call(client, auth, g, method, url, data=body,
                 content_type="multipart/form-data; boundary=b")  # fmt: skip
        assert r.status_code == 400, (method, r.json)
        assert r.json["fields"] == {"body": "every field needs a name"}
    after = call(client, auth, expo, "GET", url).json
    assert after["organisation"] != "kind"
