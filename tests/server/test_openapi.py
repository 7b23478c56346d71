"""The OpenAPI document and its Swagger UI, served with no outside host."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, Factory

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
