"""Session Q&A: asking as a participant record, who edits, the gestionnaire's
answer, filters and ordering, bad input, the action log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.content.models import SessionQuestion
from server.extensions import db
from shared.timefmt import utcnow
from tests.conftest import AuthActions, Factory
from tests.server.content_helpers import ORG, C, Cast, E, G, P, cast, log_entries

URL = "/api/session-questions/"


@pytest.fixture
def c(app: Flask, make: Factory, auth: AuthActions) -> Cast:
    return cast(app, make, auth)


def _ask(client: FlaskClient, c: Cast, who: str, text: str, session: Any = None) -> dict[str, Any]:
    session = session or c.world.free_session
    r = client.post(
        URL, json={"session": str(session), "question_text": text}, headers=c.headers[who]
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def _texts(client: FlaskClient, c: Cast, who: str, query: str = "") -> list[str]:
    r = client.get(URL + query, headers=c.headers[who])
    assert r.status_code == 200, r.get_json()
    return [q["question_text"] for q in r.get_json()["results"]]


def test_a_participant_asks_and_the_answer_has_the_seeds_fields(
    app: Flask, client: FlaskClient, c: Cast
) -> None:
    body = _ask(client, c, P, "Quelles sont les prérequis ?")
    assert set(body) == {
        "id",
        "session",
        "session_title",
        "participant",
        "participant_name",
        "question_text",
        "is_answered",
        "answer_text",
        "answered_by",
        "answered_by_name",
        "asked_at",
        "answered_at",
    }
    member = c.members[P]
    assert body["session"] == str(c.world.free_session)
    assert body["session_title"] == "Keynote"
    assert body["participant"] == str(member.participant_id)
    with app.app_context():
        from server.models import User

        user = db.session.get(User, member.user_id)
        assert user is not None
        assert body["participant_name"] == f"{user.first_name} {user.last_name}"
    assert body["is_answered"] is False
    assert body["answer_text"] == ""
    assert body["answered_by"] is None and body["answered_by_name"] is None
    assert body["answered_at"] is None
    assert body["asked_at"].endswith("Z")


def test_exposants_and_admins_with_a_record_ask_staff_without_one_get_the_seeds_400(
    make: Factory, auth: AuthActions, client: FlaskClient, c: Cast
) -> None:
    _ask(client, c, E, "Stand question")
    _ask(client, c, "admin", "Admin question")
    for who in (G, ORG, C):
        r = client.post(
            URL,
            json={"session": str(c.world.free_session), "question_text": "Staff?"},
            headers=c.headers[who],
        )
        assert r.status_code == 400, who
        assert r.get_json()["error"] == "Participant profile not found for this event"
        assert "participant" in r.get_json()["fields"]
    # a gestionnaire who also has a participant record asks like anyone
    staff = make.member(c.event_id, G, participant=True)
    r = client.post(
        URL,
        json={"session": str(c.world.free_session), "question_text": "Staff!"},
        headers=auth.headers(staff),
    )
    assert r.status_code == 201
    assert r.get_json()["participant"] == str(staff.participant_id)


def test_a_session_of_another_event_or_unknown_is_a_400_naming_it(
    app: Flask, client: FlaskClient, c: Cast
) -> None:
    for session in (c.other.free_session, uuid.uuid4(), "nope", 12, None):
        body: dict[str, Any] = {"question_text": "?", "session": session}
        if isinstance(session, uuid.UUID):
            body["session"] = str(session)
        r = client.post(URL, json=body, headers=c.headers[P])
        assert r.status_code == 400, session
        assert "session" in r.get_json()["fields"]
    assert log_entries(app, "session_question") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "question_text"),
        ({"question_text": ""}, "question_text"),
        ({"question_text": "x" * 1001}, "question_text"),
        ({"question_text": "nul\x00"}, "question_text"),
        ({"question_text": "esc\x1b[31m"}, "question_text"),
        ({"question_text": "\udc00"}, "question_text"),
        ({"question_text": {"a": 1}}, "question_text"),
    ],
)
def test_bad_questions_are_400s(
    client: FlaskClient, c: Cast, body: dict[str, Any], field: str
) -> None:
    body.setdefault("session", str(c.world.free_session))
    r = client.post(URL, json=body, headers=c.headers[P])
    assert r.status_code == 400
    assert field in r.get_json()["fields"]
    assert _texts(client, c, G) == []


def test_a_question_may_span_lines(client: FlaskClient, c: Cast) -> None:
    assert _ask(client, c, P, "Ligne 1\n\tLigne 2")["question_text"] == "Ligne 1\n\tLigne 2"
    assert len(_ask(client, c, P, "x" * 1000)["question_text"]) == 1000


def test_every_member_of_the_event_reads_them_another_event_does_not(
    client: FlaskClient, c: Cast
) -> None:
    question = _ask(client, c, P, "Visible?")
    for who in (G, ORG, C, P, E, "admin"):
        assert _texts(client, c, who) == ["Visible?"], who
        assert client.get(f"{URL}{question['id']}/", headers=c.headers[who]).status_code == 200
    assert _texts(client, c, "outsider") == []
    r = client.get(f"{URL}{question['id']}/", headers=c.headers["outsider"])
    assert r.status_code == 404
    assert client.get(f"{URL}{uuid.uuid4()}/", headers=c.headers[G]).status_code == 404
    assert client.get(URL).status_code == 401


def test_only_a_gestionnaire_answers(app: Flask, client: FlaskClient, c: Cast) -> None:
    question = _ask(client, c, P, "How long should MVP development take?")
    url = f"{URL}{question['id']}/answer/"
    for who in (C, P, E, "admin"):
        r = client.post(url, json={"answer_text": "me"}, headers=c.headers[who])
        assert r.status_code == 403, who
    r = client.post(url, json={"answer_text": "x"}, headers=c.headers["outsider"])
    assert r.status_code == 404
    assert client.post(url, json={}, headers=c.headers[G]).status_code == 400
    assert client.post(url, json={"answer_text": " "}, headers=c.headers[G]).status_code == 400
    r = client.post(url, json={"answer_text": "2-3 months"}, headers=c.headers[G])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["is_answered"] is True
    assert body["answer_text"] == "2-3 months"
    assert body["answered_by"] == c.members[G].user_id
    assert body["answered_by_name"]
    assert body["answered_at"].endswith("Z")
    # an organisateur answers again: the new answer replaces the old
    r = client.post(url, json={"answer_text": "It depends"}, headers=c.headers[ORG])
    assert r.status_code == 200
    assert r.get_json()["answered_by"] == c.members[ORG].user_id
    entries = log_entries(app, "session_question")
    assert [e["action"] for e in entries] == [
        "session_question.create",
        "session_question.answer",
        "session_question.answer",
    ]
    first = entries[1]
    assert first["actor_id"] == c.members[G].user_id
    assert first["before"]["is_answered"] is False and first["after"]["is_answered"] is True
    assert first["after"]["answer_text"] == "2-3 months"
    assert entries[2]["before"]["answer_text"] == "2-3 months"


def test_the_asker_or_a_gestionnaire_edits_and_deletes(
    app: Flask, client: FlaskClient, c: Cast
) -> None:
    question = _ask(client, c, P, "Typo quetsion")
    url = f"{URL}{question['id']}/"
    for who in (C, E, "admin"):
        r = client.patch(url, json={"question_text": "x"}, headers=c.headers[who])
        assert r.status_code == 403, who
        assert client.delete(url, headers=c.headers[who]).status_code == 403
    r = client.patch(url, json={"question_text": "x"}, headers=c.headers["outsider"])
    assert r.status_code == 404
    r = client.patch(url, json={"question_text": "Typo question"}, headers=c.headers[P])
    assert r.status_code == 200 and r.get_json()["question_text"] == "Typo question"
    assert client.put(url, json={}, headers=c.headers[P]).status_code == 400
    r = client.put(url, json={"question_text": "Moderated"}, headers=c.headers[G])
    assert r.status_code == 200 and r.get_json()["question_text"] == "Moderated"
    # the session cannot be moved by an edit
    r = client.patch(url, json={"session": str(c.world.paid_session)}, headers=c.headers[P])
    assert r.status_code == 200 and r.get_json()["session"] == str(c.world.free_session)
    assert client.delete(url, headers=c.headers[P]).status_code == 204
    assert client.get(url, headers=c.headers[P]).status_code == 404
    other = _ask(client, c, E, "Exposant's")
    assert client.delete(f"{URL}{other['id']}/", headers=c.headers[ORG]).status_code == 204
    actions = [(e["action"], e["actor_id"]) for e in log_entries(app, "session_question")]
    assert actions == [
        ("session_question.create", c.members[P].user_id),
        ("session_question.update", c.members[P].user_id),
        ("session_question.update", c.members[G].user_id),
        ("session_question.delete", c.members[P].user_id),
        ("session_question.create", c.members[E].user_id),
        ("session_question.delete", c.members[ORG].user_id),
    ]


def _backdate(app: Flask, question_id: str, minutes: int) -> None:
    with app.app_context():
        q = db.session.get(SessionQuestion, uuid.UUID(question_id))
        assert q is not None
        q.asked_at = utcnow() - timedelta(minutes=minutes)
        db.session.commit()


def test_filters_and_ordering(app: Flask, client: FlaskClient, c: Cast) -> None:
    old = _ask(client, c, P, "old")
    mid = _ask(client, c, E, "mid", session=c.world.paid_session)
    new = _ask(client, c, P, "new", session=c.world.paid_session)
    _backdate(app, old["id"], 30)
    _backdate(app, mid["id"], 20)
    _backdate(app, new["id"], 10)
    client.post(f"{URL}{mid['id']}/answer/", json={"answer_text": "a"}, headers=c.headers[G])
    assert _texts(client, c, C) == ["new", "mid", "old"]
    assert _texts(client, c, C, "?ordering=-asked_at") == ["new", "mid", "old"]
    assert _texts(client, c, C, "?ordering=asked_at") == ["old", "mid", "new"]
    assert _texts(client, c, C, "?ordering=-answered_at")[0] == "mid"
    assert _texts(client, c, C, "?ordering=answered_at")[0] == "mid"
    paid = c.world.paid_session
    assert _texts(client, c, C, f"?session={paid}") == ["new", "mid"]
    assert _texts(client, c, C, f"?session_id={paid}&ordering=asked_at") == ["mid", "new"]
    assert _texts(client, c, C, f"?session={c.other.free_session}") == []
    me = c.members[P].participant_id
    assert _texts(client, c, P, f"?participant={me}") == ["new", "old"]
    assert _texts(client, c, P, f"?participant={me}&is_answered=false") == ["new", "old"]
    assert _texts(client, c, G, "?is_answered=true") == ["mid"]
    assert _texts(client, c, G, "?is_answered=false&ordering=asked_at") == ["old", "new"]
    for query, field in (
        ("?ordering=title", "ordering"),
        ("?is_answered=maybe", "is_answered"),
        ("?session=nope", "session"),
        ("?participant=1", "participant"),
    ):
        r = client.get(URL + query, headers=c.headers[G])
        assert r.status_code == 400 and field in r.get_json()["fields"], query
