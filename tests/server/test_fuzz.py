"""Every documented operation, fuzzed in-process from the OpenAPI document
(schemathesis): with tokens of each role, and a kiosk's device token on the
kiosk endpoints, no answer is a 5xx, every answer is one the document lists
and matches its schema, and every 405 says what is allowed.

A bounded number of examples per operation keeps it to about a minute."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from server import create_app
from server.extensions import db
from tests.conftest import AuthActions, Factory, base_config

ROLES = ("participant", "exposant", "controlleur_des_badges", "gestionnaire_des_salles")
EXAMPLES = 8

_stats = {"requests": 0, "seconds": 0.0}


class _Counter:
    def __init__(self, wsgi: Callable[..., Any]) -> None:
        self.wsgi = wsgi

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        _stats["requests"] += 1
        return self.wsgi(environ, start_response)


def _app() -> Flask:
    """The app the document is read from and the requests go to: built at import,
    as the operations are collected from its document, on a database of its own."""
    folder = Path(tempfile.mkdtemp(prefix="badgegate-fuzz-"))
    before = os.environ.get("BADGEGATE_INSTANCE_PATH")
    os.environ["BADGEGATE_INSTANCE_PATH"] = str(folder / "instance")
    try:
        limits = {"AUTH_LIMIT_PER_ACCOUNT": 10**6, "AUTH_LIMIT_PER_ADDRESS": 10**6}
        app = create_app({**base_config(f"sqlite:///{folder / 'badgegate.db'}"), **limits})
    finally:
        if before is None:
            os.environ.pop("BADGEGATE_INSTANCE_PATH", None)
        else:
            os.environ["BADGEGATE_INSTANCE_PATH"] = before
    app.wsgi_app = _Counter(app.wsgi_app)  # type: ignore[method-assign]
    return app


APP = _app()
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)


@pytest.fixture(scope="module")
def fuzz_app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    app = APP
    with app.app_context():
        flask_migrate.upgrade()
    world = Factory(app).world("Fuzzed event")
    auth = AuthActions(app, app.test_client())
    client = app.test_client()
    gestionnaire = auth.headers(world.members["gestionnaire_des_salles"])
    created = client.post(
        "/api/kiosks/",
        json={"name": "Door", "mode": "door", "room_id": str(world.rooms[0])},
        headers=gestionnaire,
    )
    assert created.status_code == 201, created.get_json()
    code = created.get_json()["provisioning_code"]
    provisioned = client.post("/api/kiosks/provision/", json={"code": code})
    assert provisioned.status_code == 201, provisioned.get_json()
    app.config["FUZZ_MEMBERS"] = world.members
    app.config["FUZZ_KIOSK_TOKEN"] = provisioned.get_json()["device_token"]
    _stats["requests"] = 0
    started = time.monotonic()
    yield app
    _stats["seconds"] = time.monotonic() - started
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    line = f"schemathesis: {_stats['requests']} requests in {_stats['seconds']:.1f} s"
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + line)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@schemathesis.check
def allow_header_on_405(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code == 405 and not response.headers.get("allow"):
        raise AssertionError("a 405 without an Allow header")
    return None


#: what is checked: no 5xx, answers the document lists, in its type and schema, and
#: 405s that say what is allowed. Not whether a request the schema allows is
#: accepted: a wrong old password or a spent token is a 400 no schema can foresee.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    unsupported_method,
    allow_header_on_405,
]


def _callers(app: Flask, case: Any) -> list[dict[str, str]]:
    """The kiosk's token on a kiosk operation; else a token of each role."""
    security = case.operation.definition.raw.get("security") or []
    if any("kioskToken" in requirement for requirement in security):
        return [{"Authorization": f"Bearer {app.config['FUZZ_KIOSK_TOKEN']}"}]
    auth = AuthActions(app, app.test_client())
    # fresh tokens each time: a fuzzed logout or password change ends the old ones
    return [auth.headers(app.config["FUZZ_MEMBERS"][role]) for role in ROLES]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case: Any, fuzz_app: Flask) -> None:
    for headers in _callers(fuzz_app, case):
        case.call_and_validate(headers=headers, checks=CHECKS)
