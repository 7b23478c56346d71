"""The OpenAPI document and its Swagger UI, served with no outside host."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, Factory
from tests.server.test_sync import booth_kiosk, door_kiosk, push, scan

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def test_the_document_lists_every_api_route(app: Flask, client: FlaskClient) -> None:
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    assert spec["openapi"].startswith("3.")
    documented = {
        (path, method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule.startswith("/api/docs"):
            continue
        if rule.rule == "/api/openapi.json":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                routes.add((path, method))
    assert routes <= documented, sorted(routes - documented)


def test_every_operation_has_security_and_errors(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            assert "security" in op, (method, path)
            for requirement in op["security"]:
                assert set(requirement) <= set(schemes), (method, path)
            if op["security"]:
                assert "401" in op["responses"], (method, path)
            assert any(code.startswith("2") for code in op["responses"]), (method, path)


def test_swagger_ui_is_served_from_the_app(client: FlaskClient) -> None:
    r = client.get("/api/docs/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "/api/openapi.json" in html
    # nothing from another host: every src and href is a path of this app
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert refs
    assert not re.search(r"(?i)\b(?:https?:)?//", html.replace("/api/", ""))
    for ref in refs:
        assert ref.startswith("/"), ref
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert asset.data


def test_an_empty_page_parameter_is_the_first_page(
    client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    event = make.event("Empty page")
    make.room(event, "R")
    headers = auth.headers(make.member(event, "participant"))
    for url in ("/api/rooms/?page=", "/api/rooms/?page=&page_size=", "/api/sessions/?page="):
        r = client.get(url, headers=headers)
        assert r.status_code == 200, (url, r.get_json())
        assert r.get_json()["previous"] is None


def test_bad_query_parameters_are_the_apps_400(
    client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    event = make.event("Bad query")
    headers = auth.headers(make.member(event, "participant"))
    cases = {
        "/api/rooms/?page=0": "page",
        "/api/rooms/?page=x": "page",
        "/api/rooms/?page_size=100000": "page_size",
        "/api/rooms/?is_active=maybe": "is_active",
        "/api/sessions/?status=nope": "status",
        "/api/sessions/?room_id=nope": "room_id",
    }
    for url, field in cases.items():
        r = client.get(url, headers=headers)
        assert r.status_code == 400, url
        body = r.get_json()
        assert body["code"] == "validation_error"
        assert field in body["fields"], (url, body)
        assert body["error"].startswith(field + ": ")


# ---------------------------------------------------------------------------
# the answers the code writes are the ones the document describes


def _answers_as_documented(app: Flask, checks: list[tuple[str, str, Any]]) -> None:
    """Each (path template, method, test client response) matches its operation's
    documented answer: status, content type and schema (schemathesis' check)."""
    import schemathesis

    spec = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    for path, method, response in checks:
        spec[path][method].validate_response(response)


def test_the_hot_paths_and_their_neighbours_answer_as_documented(
    app: Flask, client: FlaskClient, auth: AuthActions, make: Factory
) -> None:
    """verify_access and the kiosk sync parse and write by hand: their documented
    schemas must still be what they answer; so must the kiosk and booth answers."""
    world = make.world()
    door = door_kiosk(client, auth, world)
    booth = booth_kiosk(client, auth, world)
    visitor = world.members["participant"]
    gestionnaire = auth.headers(world.members["gestionnaire_des_salles"])
    exposant = auth.headers(world.members["exposant"])
    checks: list[tuple[str, str, Any]] = []
    snapshot = client.get("/api/sync/changes", query_string={"limit": 2}, headers=door.headers)
    checks.append(("/api/sync/changes", "GET", snapshot))
    cursor = snapshot.get_json()["cursor"]
    rest = client.get("/api/sync/changes", query_string={"cursor": cursor}, headers=door.headers)
    checks.append(("/api/sync/changes", "GET", rest))
    pushed = push(client, door, [scan(visitor.qr)], queue_length=0)
    assert pushed.get_json()["accepted"] == 1, pushed.get_json()
    checks.append(("/api/sync/scans", "POST", pushed))
    visit = scan(visitor.qr, kind="booth_visit", notes="stand")
    booth_push = push(client, booth, [visit])
    assert "visitor" in booth_push.get_json()["results"][0], booth_push.get_json()
    checks.append(("/api/sync/scans", "POST", booth_push))
    checks.append(("/api/sync/scans", "POST", push(client, booth, [visit])))  # a duplicate
    room = world.rooms[0]
    verified = client.post(
        f"/api/rooms/{room}/verify_access/",
        json={"qr_data": visitor.qr},
        headers=auth.headers(world.members["controlleur_des_badges"]),
    )
    checks.append(("/api/rooms/{room_id}/verify_access/", "POST", verified))
    checks.append(("/api/kiosks/", "GET", client.get("/api/kiosks/", headers=gestionnaire)))
    made = client.post(
        "/api/kiosks/",
        json={"name": "D", "mode": "door", "room_id": str(room)},
        headers=gestionnaire,
    )
    checks.append(("/api/kiosks/", "POST", made))
    code = made.get_json()["provisioning_code"]
    provisioned = client.post("/api/kiosks/provision/", json={"code": code})
    checks.append(("/api/kiosks/provision/", "POST", provisioned))
    recorded = client.post("/api/exposant-scans/", json={"qr_data": visitor.qr}, headers=exposant)
    assert recorded.status_code == 201, recorded.get_json()
    checks.append(("/api/exposant-scans/", "POST", recorded))
    refused = client.post("/api/exposant-scans/", json={"qr_data": "nope"}, headers=exposant)
    assert refused.status_code == 400 and refused.get_json()["fields"]["qr_data"]
    checks.append(("/api/exposant-scans/", "POST", refused))
    listed = client.get("/api/exposant-scans/", headers=exposant)
    checks.append(("/api/exposant-scans/", "GET", listed))
    one = listed.get_json()["results"][0]["id"]
    checks.append(
        (
            "/api/exposant-scans/{scan_id}/",
            "GET",
            client.get(f"/api/exposant-scans/{one}/", headers=exposant),
        )
    )
    mine = client.get("/api/exposant-scans/my_scans/", headers=exposant)
    checks.append(("/api/exposant-scans/my_scans/", "GET", mine))
    login = auth.login(visitor.email)
    checks.append(("/api/auth/login/", "POST", login))
    token = {"Authorization": f"Bearer {login.get_json()['access']}"}
    checks.append(("/api/auth/me/", "GET", client.get("/api/auth/me/", headers=token)))
    checks.append(
        ("/api/auth/my-events/", "GET", client.get("/api/auth/my-events/", headers=token))
    )
    _answers_as_documented(app, checks)
