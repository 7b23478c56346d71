"""Announcements: who reads which, who writes, filters, bad input, the action log."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, Factory
from tests.server.content_helpers import ORG, C, Cast, E, G, P, cast, log_entries

URL = "/api/annonces/"


@pytest.fixture
def c(app: Flask, make: Factory, auth: AuthActions) -> Cast:
    return cast(app, make, auth)


def _post(client: FlaskClient, c: Cast, who: str, **body: object) -> dict[str, object]:
    body.setdefault("title", f"Annonce {uuid.uuid4().hex[:6]}")
    r = client.post(URL, json=body, headers=c.headers[who])
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def _titles(client: FlaskClient, c: Cast, who: str, query: str = "") -> list[str]:
    r = client.get(URL + query, headers=c.headers[who])
    assert r.status_code == 200, r.get_json()
    return [a["title"] for a in r.get_json()["results"]]


def test_every_member_creates_and_the_answer_has_the_seeds_fields(
    client: FlaskClient, c: Cast
) -> None:
    for who in (G, ORG, C, P, E, "admin"):
        body = _post(client, c, who, title=f"From {who}", description="Texte\nsur deux lignes")
        assert set(body) == {
            "id",
            "event",
            "title",
            "description",
            "target",
            "created_by",
            "created_at",
            "updated_at",
        }
        assert body["event"] == str(c.event_id)
        assert body["target"] == "all"
        assert body["created_by"] == c.members[who].user_id
        assert str(body["created_at"]).endswith("Z")
        uuid.UUID(str(body["id"]))


def test_each_role_reads_what_targets_it(client: FlaskClient, c: Cast) -> None:
    for target in ("all", "participants", "exposants", "controlleurs", "gestionnaires"):
        _post(client, c, G, title=f"To {target}", target=target)
    assert sorted(_titles(client, c, G)) == sorted(
        f"To {t}" for t in ("all", "participants", "exposants", "controlleurs", "gestionnaires")
    )
    assert sorted(_titles(client, c, ORG)) == sorted(_titles(client, c, G))
    assert sorted(_titles(client, c, P)) == ["To all", "To participants"]
    assert sorted(_titles(client, c, E)) == ["To all", "To exposants"]
    assert sorted(_titles(client, c, C)) == ["To all", "To controlleurs"]
    # a platform admin reads as the role they hold in the event
    assert sorted(_titles(client, c, "admin")) == ["To all", "To participants"]
    # another event sees none of them
    assert _titles(client, c, "outsider") == []


def test_an_author_reads_their_own_whatever_its_target(client: FlaskClient, c: Cast) -> None:
    mine = _post(client, c, P, title="Pour les gestionnaires", target="gestionnaires")
    assert _titles(client, c, P) == ["Pour les gestionnaires"]
    assert client.get(f"{URL}{mine['id']}/", headers=c.headers[P]).status_code == 200
    assert _titles(client, c, E) == []


def test_detail_of_another_role_or_event_is_a_404(client: FlaskClient, c: Cast) -> None:
    secret = _post(client, c, G, title="Staff only", target="gestionnaires")
    url = f"{URL}{secret['id']}/"
    assert client.get(url, headers=c.headers[G]).status_code == 200
    assert client.get(url, headers=c.headers[ORG]).status_code == 200
    for who in (C, P, E, "admin", "outsider"):
        r = client.get(url, headers=c.headers[who])
        assert r.status_code == 404, who
        assert r.get_json()["code"] == "not_found"
    assert client.get(f"{URL}{uuid.uuid4()}/", headers=c.headers[G]).status_code == 404
    assert client.get(url).status_code == 401


def test_newest_first_and_the_filters(client: FlaskClient, c: Cast) -> None:
    _post(client, c, P, title="Pause déjeuner", description="À la cafétéria, niveau 2")
    _post(client, c, G, title="Wifi", description="Réseau MakePlus", target="participants")
    _post(client, c, E, title="Stand 12", description="Démo 100% gratuite", target="all")
    assert _titles(client, c, G) == ["Stand 12", "Wifi", "Pause déjeuner"]
    assert _titles(client, c, G, "?target=participants") == ["Wifi"]
    author = c.members[E].user_id
    assert _titles(client, c, G, f"?created_by={author}") == ["Stand 12"]
    assert _titles(client, c, G, "?search=cafét") == ["Pause déjeuner"]
    assert _titles(client, c, G, "?search=WIFI") == ["Wifi"]
    assert _titles(client, c, G, "?search=makeplus") == ["Wifi"]
    # LIKE's wildcards are searched as text
    assert _titles(client, c, G, "?search=100%25") == ["Stand 12"]
    assert _titles(client, c, G, "?search=%25") == ["Stand 12"]
    assert _titles(client, c, G, "?search=_") == []
    assert _titles(client, c, G, f"?event_id={c.event_id}") == [
        "Stand 12",
        "Wifi",
        "Pause déjeuner",
    ]
    r = client.get(f"{URL}?page_size=2", headers=c.headers[G]).get_json()
    assert r["count"] == 3 and len(r["results"]) == 2 and r["next"]


def test_an_event_filter_naming_another_event_is_a_403(client: FlaskClient, c: Cast) -> None:
    r = client.get(f"{URL}?event_id={c.other.event_id}", headers=c.headers[G])
    assert r.status_code == 403
    assert "event_id" in r.get_json()["fields"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?target=everyone", "target"),
        ("?created_by=abc", "created_by"),
        ("?created_by=99999999999999999999", "created_by"),
        ("?event_id=nope", "event_id"),
        ("?search=%00", "search"),
        ("?search=a%0Ab", "search"),
        ("?search=" + "x" * 201, "search"),
    ],
)
def test_bad_filters_are_400s_naming_them(
    client: FlaskClient, c: Cast, query: str, field: str
) -> None:
    r = client.get(URL + query, headers=c.headers[G])
    assert r.status_code == 400, r.get_json()
    assert field in r.get_json()["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": 12}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "bell\x07"}, "title"),
        ({"title": "line\nbreak"}, "title"),
        ({"title": "\ud800"}, "title"),
        ({"title": "ok", "description": "nul\x00"}, "description"),
        ({"title": "ok", "description": ["x"]}, "description"),
        ({"title": "ok", "target": "everyone"}, "target"),
        ({"title": "ok", "target": 1}, "target"),
    ],
)
def test_bad_bodies_are_400s_naming_the_field_and_write_nothing(
    app: Flask, client: FlaskClient, c: Cast, body: dict[str, object], field: str
) -> None:
    r = client.post(URL, json=body, headers=c.headers[P])
    assert r.status_code == 400, r.get_json()
    assert field in r.get_json()["fields"], r.get_json()
    assert _titles(client, c, G) == []
    assert log_entries(app, "annonce") == []


def test_malformed_requests(client: FlaskClient, c: Cast) -> None:
    h = c.headers[P]
    assert client.post(URL, data="title=x", headers=h).status_code == 415
    r = client.post(URL, data="[1]", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400
    deep = "[" * 5000 + "]" * 5000
    r = client.post(URL, data=deep, headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400
    r = client.post(
        URL, data='{"title": "\\ud800"}', headers={**h, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert client.post(URL, json={"title": "x"}).status_code == 401


def test_the_author_or_a_gestionnaire_edits_and_deletes(
    app: Flask, client: FlaskClient, c: Cast
) -> None:
    mine = _post(client, c, P, title="Covoiturage", target="all")
    url = f"{URL}{mine['id']}/"
    # other members read it but cannot change it
    for who in (C, E, "admin"):
        assert client.patch(url, json={"title": "x"}, headers=c.headers[who]).status_code == 403
        assert client.delete(url, headers=c.headers[who]).status_code == 403
    assert client.patch(url, json={"title": "x"}, headers=c.headers["outsider"]).status_code == 404
    r = client.patch(url, json={"description": "Départ 8h"}, headers=c.headers[P])
    assert r.status_code == 200
    assert r.get_json()["title"] == "Covoiturage"
    assert r.get_json()["description"] == "Départ 8h"
    r = client.put(url, json={"title": "Covoiturage (complet)"}, headers=c.headers[ORG])
    assert r.status_code == 200
    assert r.get_json()["title"] == "Covoiturage (complet)"
    assert r.get_json()["description"] == "Départ 8h"
    assert client.put(url, json={"description": "x"}, headers=c.headers[G]).status_code == 400
    r = client.patch(url, json={"target": "exposants"}, headers=c.headers[G])
    assert r.get_json()["target"] == "exposants"
    assert client.delete(url, headers=c.headers[G]).status_code == 204
    assert client.get(url, headers=c.headers[G]).status_code == 404
    assert client.delete(url, headers=c.headers[G]).status_code == 404

    entries = log_entries(app, "annonce")
    assert [e["action"] for e in entries] == [
        "annonce.create",
        "annonce.update",
        "annonce.update",
        "annonce.update",
        "annonce.delete",
    ]
    assert {e["obj_id"] for e in entries} == {mine["id"]}
    assert all(e["event_id"] == c.event_id for e in entries)
    create, patch, put, retarget, delete = entries
    assert create["actor_id"] == c.members[P].user_id and create["before"] is None
    assert create["after"]["title"] == "Covoiturage"
    assert patch["before"]["description"] == "" and patch["after"]["description"] == "Départ 8h"
    assert put["actor_id"] == c.members[ORG].user_id
    assert put["after"]["title"] == "Covoiturage (complet)"
    assert retarget["before"]["target"] == "all" and retarget["after"]["target"] == "exposants"
    assert delete["actor_id"] == c.members[G].user_id
    assert delete["before"]["title"] == "Covoiturage (complet)" and delete["after"] is None


def test_an_edit_that_changes_nothing_logs_nothing(
    app: Flask, client: FlaskClient, c: Cast
) -> None:
    mine = _post(client, c, E, title="Same")
    r = client.patch(f"{URL}{mine['id']}/", json={"title": "Same"}, headers=c.headers[E])
    assert r.status_code == 200
    assert [e["action"] for e in log_entries(app, "annonce")] == ["annonce.create"]


def test_a_failed_edit_changes_nothing(app: Flask, client: FlaskClient, c: Cast) -> None:
    mine = _post(client, c, E, title="Keep")
    url = f"{URL}{mine['id']}/"
    r = client.patch(url, json={"title": "New", "target": "nobody"}, headers=c.headers[E])
    assert r.status_code == 400
    assert client.get(url, headers=c.headers[E]).get_json()["title"] == "Keep"
