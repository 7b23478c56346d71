"""HTTP client for the sync server (``requests``), with the errors the kiosk acts on.

- :class:`Offline`: the server cannot be reached or is not well (connection
  errors, timeouts, 5xx, 408/429, an answer that is not JSON): retry later.
- :class:`Revoked`: 401 on an authenticated call: the device credential is no
  longer valid; stop syncing.
- :class:`ProtocolError`: any other 4xx (a bug, or a bad provisioning request),
  with the status and the body.

Every request has a timeout: ``(connect, read)`` seconds.
"""

from __future__ import annotations

from typing import Any

import orjson
import requests

from shared.gcpause import gc_paused

Timeout = float | tuple[float, float]
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)


class SyncError(Exception):
    """Base of the errors a sync call raises."""


class Offline(SyncError):
    """The server is away (or unwell): try again later."""


class Revoked(SyncError):
    """The device credential was refused (401): the kiosk must stop syncing."""

    def __init__(self, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.body = body
        self.code = body.get("code") if isinstance(body, dict) else None


class ProtocolError(SyncError):
    """The server refused the request (4xx other than 401 on a sync call)."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("error") if isinstance(body, dict) else None
        super().__init__(f"HTTP {status}: {message or str(body)[:200]}")
        self.status = status
        self.body = body
        self.code = body.get("code") if isinstance(body, dict) else None


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:1000]


class SyncClient:
    """The kiosk's side of the sync protocol (provision, pull changes, push scans)."""

    def __init__(
        self,
        server_url: str,
        device_token: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.device_token = device_token
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "badgegate-kiosk/0.1")
        self.session.headers["Accept"] = "application/json"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        authenticated: bool = True,
        timeout: Timeout | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One request; the answer if it is a 2xx, else the error it maps to."""
        headers = {}
        if authenticated:
            if not self.device_token:
                raise Revoked("this kiosk has no device credential")
            headers["Authorization"] = f"Bearer {self.device_token}"
        if "json" in kwargs:  # orjson: a batch of 500 scans encodes several times faster
            kwargs["data"] = orjson.dumps(kwargs.pop("json"))
            headers["Content-Type"] = "application/json"
        url = self.server_url + path
        try:
            response = self.session.request(
                method, url, headers=headers, timeout=timeout or self.timeout, **kwargs
            )
        except requests.Timeout as exc:
            raise Offline(f"{method} {path}: timed out") from exc
        except requests.RequestException as exc:  # connection refused, DNS, reset, ...
            raise Offline(
                f"{method} {path}: cannot reach the server ({type(exc).__name__})"
            ) from exc
        status = response.status_code
        # 429 on a sync call: the server is busy, try later; on provisioning it is
        # the limit on failed attempts, a refusal that says when to try again
        if status >= 500 or status == 408 or (status == 429 and authenticated):
            raise Offline(f"{method} {path}: HTTP {status}")
        if status == 401 and authenticated:
            raise Revoked(f"{method} {path}: the server refused this kiosk", _body(response))
        if status >= 400:
            raise ProtocolError(status, _body(response))
        if not 200 <= status < 300:
            raise Offline(f"{method} {path}: unexpected HTTP {status}")
        return response

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return orjson.loads(response.content)
        except ValueError as exc:  # a captive portal, a proxy page: not our server
            raise Offline(f"{method} {path}: the answer is not JSON") from exc

    def provision(
        self,
        *,
        code: str | None = None,
        email: str | None = None,
        password: str | None = None,
        room_id: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Register this kiosk (one-time code, or an organizer's login and a place)."""
        body: dict[str, Any]
        if code is not None:
            body = {"code": code}
        elif email is not None and password is not None:
            body = {"email": email, "password": password}
            if room_id is not None:
                body["room_id"] = room_id
        else:
            raise ValueError("provision needs a code, or an email and a password")
        if name is not None:
            body["name"] = name
        answer = self._request("POST", "/api/kiosks/provision/", authenticated=False, json=body)
        if not isinstance(answer, dict) or not isinstance(answer.get("device_token"), str):
            raise ProtocolError(200, answer)
        if not isinstance(answer.get("kiosk"), dict):
            raise ProtocolError(200, answer)
        return answer

    @gc_paused()  # a page decodes to thousands of dicts: collect after, not during
    def changes(self, cursor: str, limit: int = 5000) -> dict[str, Any]:
        """One page of the change feed after ``cursor``."""
        answer = self._request(
            "GET", "/api/sync/changes", params={"cursor": cursor, "limit": int(limit)}
        )
        if not isinstance(answer, dict):
            raise ProtocolError(200, answer)
        return answer

    def push(self, batch: dict[str, Any], timeout: Timeout | None = None) -> dict[str, Any]:
        """Upload a batch of scans; the server answers one result per scan."""
        answer = self._request("POST", "/api/sync/scans", json=batch, timeout=timeout)
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise ProtocolError(200, answer)
        return answer
