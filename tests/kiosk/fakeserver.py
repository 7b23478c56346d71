"""A tiny stand-in for the sync server on 127.0.0.1 (stdlib ``http.server``), speaking
the documented protocol: provision, change pages, scan uploads. Scripted answers
(``status_for``) let a test make any path answer 401, 500, a slow reply, ..."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from shared.sync import parse_batch
from shared.timefmt import iso, utcnow
from tests.kiosk import world

TOKEN = "device-token-1"


@dataclass
class Scripted:
    status: int
    body: Any = None
    delay: float = 0.0
    raw: bytes | None = None


@dataclass
class FakeState:
    pages: list[dict[str, Any]] = field(default_factory=lambda: [world.snapshot("c1")])
    scripted: dict[str, Scripted] = field(default_factory=dict)  # path -> answer
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    scans: dict[str, dict[str, Any]] = field(default_factory=dict)  # client_id -> scan
    reject: set[str] = field(default_factory=set)  # payloads to reject
    server_time: str | None = None
    kiosk: dict[str, Any] = field(default_factory=world.kiosk_record)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def _handle(self, method: str) -> None:
        state = self.server.state
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        state.requests.append((method, self.path, dict(self.headers), body))
        scripted = state.scripted.get(url.path)
        if scripted is not None:
            time.sleep(scripted.delay)
            self._send(scripted.status, scripted.body, scripted.raw)
            return
        now = state.server_time or iso(utcnow())
        if url.path == "/api/kiosks/provision/" and method == "POST":
            if body not in ({"code": "GOOD"}, {"code": "GOOD", "name": "Porte B"}):
                self._send(400, {"error": "Invalid code", "code": "invalid_code"})
                return
            self._send(
                201,
                {
                    "kiosk": state.kiosk,
                    "device_token": TOKEN,
                    "event": {"id": world.EVENT, "name": "Tech Summit"},
                },
            )
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"error": "Kiosk revoked", "code": "kiosk_revoked"})
            return
        if url.path == "/api/sync/changes" and method == "GET":
            cursor = parse_qs(url.query).get("cursor", ["0"])[0]
            index = 0 if cursor == "0" else int(cursor[1:])
            if index >= len(state.pages):
                page = world.page([], f"c{len(state.pages)}", latest_seq=0)
            else:
                page = dict(state.pages[index])
            page["server_time"] = now
            self._send(200, page)
            return
        if url.path == "/api/sync/scans" and method == "POST":
            try:
                parse_batch(body)
            except ValueError as exc:
                self._send(400, {"error": str(exc), "code": "invalid_batch"})
                return
            assert isinstance(body, dict)
            results = []
            for scan in body["scans"]:
                cid = scan["client_id"]
                if scan["payload"] in state.reject:
                    results.append({"client_id": cid, "result": "rejected", "reason": "bad"})
                    continue
                result = "duplicate" if cid in state.scans else "accepted"
                state.scans[cid] = scan
                results.append({"client_id": cid, "result": result, "reason": None})
            self._send(200, {"results": results, "server_time": now})
            return
        self._send(404, {"error": "Not found", "code": "not_found"})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: FakeState


@contextmanager
def fake_server(state: FakeState | None = None) -> Iterator[tuple[str, FakeState]]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state or FakeState()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
