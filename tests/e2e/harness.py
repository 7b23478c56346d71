"""Real processes for the end-to-end tests: a gunicorn server, kiosk CLIs, a faulty proxy.

Everything here talks to the system only through what a deployment has: the
console scripts, HTTP, and (read-only) the SQLite files. Every subprocess and
every poll loop has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import requests

BIN = Path(sys.executable).parent
GUNICORN = str(BIN / "gunicorn")
SERVER_CLI = str(BIN / "badgegate-server")
KIOSK_CLI = str(BIN / "badgegate-kiosk")
PYTHON = sys.executable

JWT_SECRET = "e2e-signing-key-" + "k" * 48
FAST_HASH = "pbkdf2:sha256:1000"
DEMO_PASSWORD = "test123"
DB_NAME = "badgegate.db"

EVENT_NAME = "Tech Summit Algeria 2025"
ROOM_A = "Amphithéâtre A"
ROOM_ATELIER = "Salle Atelier B"
ORGANIZER = "organizer@makeplus.com"
CONTROLLER = "controller@makeplus.com"
PARTICIPANT1 = "participant1@makeplus.com"
PARTICIPANT2 = "participant2@makeplus.com"
EXPOSANT = "exposant@makeplus.com"

#: exit codes of badgegate-kiosk
EXIT_OK, EXIT_ERROR, EXIT_OFFLINE, EXIT_REVOKED = 0, 1, 2, 3

SUMMARY = re.compile(
    r"pushed (?P<accepted>\d+) accepted, (?P<duplicate>\d+) duplicate,"
    r" (?P<rejected>\d+) rejected; queue (?P<queue>\d+)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def http() -> requests.Session:
    """A requests session that ignores proxy settings from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session


def qr(user_id: int, badge_id: str) -> str:
    """A badge payload in the seed's two-field form (no signature)."""
    return json.dumps({"user_id": user_id, "badge_id": badge_id})


def summary_counts(output: str) -> dict[str, int]:
    """The numbers of a ``badgegate-kiosk sync`` summary line."""
    match = SUMMARY.search(output)
    assert match is not None, f"no sync summary in: {output!r}"
    return {k: int(v) for k, v in match.groupdict().items()}


def hex_id(value: str | uuid.UUID) -> str:
    """A UUID as SQLAlchemy stores it in SQLite (32 hex digits)."""
    return uuid.UUID(str(value)).hex


def read_only(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    conn.row_factory = sqlite3.Row
    return conn


# ---------------------------------------------------------------------------
# the server


def server_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for key in list(env):
        if key.lower().endswith("_proxy"):
            del env[key]
    env.update(
        BADGEGATE_INSTANCE_PATH=str(workdir / "instance"),
        DATABASE_URL=f"sqlite:///{workdir / DB_NAME}",
        JWT_SECRET_KEY=JWT_SECRET,
        PASSWORD_HASH_METHOD=FAST_HASH,
        PYTHONUNBUFFERED="1",
    )
    return env


def run_server_cli(workdir: Path, *args: str, timeout: float = 60.0) -> str:
    """``badgegate-server <args>`` with the server's environment; its output."""
    done = subprocess.run(
        [SERVER_CLI, *args],
        env=server_env(workdir),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"badgegate-server {' '.join(args)}: {done.stderr[-3000:]}"
    return done.stdout


def run_orm_script(workdir: Path, script: str, timeout: float = 60.0) -> str:
    """Run ``script`` in a Python subprocess with the server's environment (it calls
    ``create_app()`` itself), so ORM writes go through the change feed."""
    done = subprocess.run(
        [PYTHON, "-c", script],
        env=server_env(workdir),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"ORM script failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite database (the backup API, WAL included)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


class Server:
    """The README's production line, ``gunicorn -c python:server.gunicorn_conf``, with 2
    workers on one port and one SQLite file."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.dir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.db_path = workdir / DB_NAME
        self.env = server_env(workdir)
        self.log_path = workdir / "gunicorn.log"
        self.proc: subprocess.Popen[bytes] | None = None

    # -- process ------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def start(self, timeout: float = 30.0) -> None:
        assert not self.running, "the server is already running"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    *(GUNICORN, "-c", "python:server.gunicorn_conf", "-w", "2"),
                    *("-b", f"127.0.0.1:{self.port}", "server:create_app()"),
                ],
                env=self.env,
                cwd=self.dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: workers die with it
            )
        session = http()
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}"
                    )
                with contextlib.suppress(requests.RequestException):
                    if session.get(self.url + "/api/health/", timeout=1.0).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    self.kill()
                    raise AssertionError(f"the server did not answer in {timeout}s")
                time.sleep(0.05)
        finally:
            session.close()

    def _signal_group(self, sig: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM to the master); SIGKILL to its group if it lingers.
        Returns once nothing accepts connections on the port any more."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(5.0)
        self._signal_group(signal.SIGKILL)  # any worker left behind in the group
        wait_for(self._port_closed, 10.0, "the server's port to close")

    def kill(self) -> None:
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10.0)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _port_closed(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) != 0

    # -- its database (read-only) -----------------------------------------

    def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        with contextlib.closing(read_only(self.db_path)) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params: Any) -> Any:
        rows = self.rows(sql, *params)
        return rows[0][0] if rows else None

    def event_id(self, name: str = EVENT_NAME) -> str:
        value = self.scalar("SELECT id FROM events WHERE name = ?", name)
        assert value is not None, name
        return str(uuid.UUID(value))

    def room_id(self, name: str, event: str = EVENT_NAME) -> str:
        value = self.scalar(
            "SELECT r.id FROM rooms r JOIN events e ON e.id = r.event_id"
            " WHERE r.name = ? AND e.name = ?",
            name,
            event,
        )
        assert value is not None, name
        return str(uuid.UUID(value))

    def badge(self, email: str) -> tuple[int, str]:
        """(user id, current badge id) of a user."""
        row = self.rows(
            "SELECT u.id, p.badge_id FROM users u JOIN user_profiles p ON p.user_id = u.id"
            " WHERE u.email = ?",
            email,
        )
        assert row, email
        return int(row[0][0]), str(row[0][1])

    def qr(self, email: str) -> str:
        """The user's badge as they get it: signed, from their login's answer."""
        with http() as session:
            r = session.post(
                self.url + "/api/auth/login/",
                json={"email": email, "password": DEMO_PASSWORD},
                timeout=10,
            )
            assert r.status_code == 200, r.text
            body = r.json()
            if "access" in body:  # the profile has the badge of every role, staff too
                r = session.get(
                    self.url + "/api/auth/profile/",
                    headers={"Authorization": f"Bearer {body['access']}"},
                    timeout=10,
                )
                assert r.status_code == 200, r.text
                return str(r.json()["badge"]["qr_code_data"])
        badges = [e["badge"] for e in body["available_events"] if e.get("badge")]
        assert badges, body
        return str(badges[0]["qr_code_data"])

    def scans_of(self, kiosk_id: str) -> list[dict[str, Any]]:
        """The RoomAccess rows a kiosk uploaded (client ids in canonical form)."""
        rows = self.rows(
            "SELECT client_id, status, reason, server_status, server_reason, decided_offline,"
            " user_id, room_id FROM room_accesses WHERE kiosk_id = ?",
            hex_id(kiosk_id),
        )
        out = []
        for r in rows:
            d = dict(r)
            d["client_id"] = str(uuid.UUID(d["client_id"]))
            d["decided_offline"] = bool(d["decided_offline"])
            out.append(d)
        return out

    def scan_count(self, kiosk_id: str) -> int:
        return int(
            self.scalar("SELECT COUNT(*) FROM room_accesses WHERE kiosk_id = ?", hex_id(kiosk_id))
        )

    def member_count(self, event_id: str) -> int:
        """Members of an event as the kiosk feed counts them: an assignment or a
        participant record."""
        e = hex_id(event_id)
        return int(
            self.scalar(
                "SELECT COUNT(*) FROM (SELECT user_id FROM user_event_assignments"
                " WHERE event_id = ? UNION SELECT user_id FROM participants WHERE event_id = ?)",
                e,
                e,
            )
        )


# ---------------------------------------------------------------------------
# the organizers' API


class Api:
    """A logged-in user of the HTTP API (``requests``)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = http()
        self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def login(cls, base_url: str, email: str, password: str = DEMO_PASSWORD) -> Api:
        with http() as session:
            r = session.post(
                base_url.rstrip("/") + "/api/auth/login/",
                json={"email": email, "password": password},
                timeout=10,
            )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["requires_event_selection"] is False, body
        return cls(base_url, body["access"])

    def request(self, method: str, path: str, expect: int | None = 200, **kw: Any) -> Any:
        kw.setdefault("timeout", 15)
        r = self.session.request(method, self.base_url + path, **kw)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json() if r.content else None

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("POST", path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)

    def create_kiosk(self, room_id: str, name: str) -> tuple[dict[str, Any], str]:
        """A door kiosk for ``room_id``: (its registry entry, its provisioning code)."""
        body = self.post(
            "/api/kiosks/", {"name": name, "mode": "door", "room_id": room_id}, expect=201
        )
        return body["kiosk"], body["provisioning_code"]

    def kiosk(self, kiosk_id: str) -> dict[str, Any]:
        body = self.get("/api/kiosks/", params={"page_size": 500})
        found = [k for k in body["results"] if k["id"] == kiosk_id]
        assert found, f"kiosk {kiosk_id} not in the registry"
        return dict(found[0])

    def close(self) -> None:
        self.session.close()


# ---------------------------------------------------------------------------
# kiosks


def kiosk_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("BADGEGATE_KIOSK_DIR", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_kiosk(
    *args: str, timeout: float = 60.0, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``badgegate-kiosk <args>`` as a subprocess (text output, with a timeout)."""
    return subprocess.run(
        [KIOSK_CLI, *args],
        env=kiosk_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


class Kiosk:
    """One kiosk: a data dir driven through the ``badgegate-kiosk`` CLI."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.db_path = data_dir / "kiosk.db"
        self.kiosk_id: str | None = None

    def run(
        self, *args: str, timeout: float = 60.0, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_kiosk("--data-dir", str(self.data_dir), *args, timeout=timeout, input=input)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [KIOSK_CLI, "--data-dir", str(self.data_dir), *args],
            env=kiosk_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def provision(
        self, server_url: str, code: str, expect: int = EXIT_OK
    ) -> subprocess.CompletedProcess[str]:
        done = self.run("provision", "--server", server_url, "--code", code)
        assert done.returncode == expect, _explain(done)
        self.kiosk_id = self.status()["kiosk_id"]
        return done

    def sync(
        self, expect: int | None = EXIT_OK, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        done = self.run("sync", timeout=timeout)
        if expect is not None:
            assert done.returncode == expect, _explain(done)
        return done

    def verify(self, payload: str) -> dict[str, Any]:
        """Check one payload: exit 0 and exactly one JSON verdict on stdout."""
        done = self.run("verify", payload)
        assert done.returncode == 0, _explain(done)
        lines = done.stdout.splitlines()
        assert len(lines) == 1, _explain(done)
        verdict: dict[str, Any] = json.loads(lines[0])
        return verdict

    def status(self) -> dict[str, Any]:
        done = self.run("status", "--json")
        assert done.returncode == 0, _explain(done)
        status: dict[str, Any] = json.loads(done.stdout)
        return status

    # -- its database (read-only) -----------------------------------------

    def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        with contextlib.closing(read_only(self.db_path)) as conn:
            return conn.execute(sql, params).fetchall()

    def outbox(self) -> dict[str, str]:
        """client id -> state ('pending' or 'rejected')."""
        return {r[0]: r[1] for r in self.rows("SELECT client_id, state FROM outbox")}

    def members(self) -> dict[str, dict[str, Any]]:
        return {str(r[0]): json.loads(r[1]) for r in self.rows("SELECT user_id, data FROM members")}

    def records(self, table: str, key: str) -> dict[str, dict[str, Any]]:
        return {str(r[0]): json.loads(r[1]) for r in self.rows(f"SELECT {key}, data FROM {table}")}


def _explain(done: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{' '.join(map(str, done.args))!r} exited {done.returncode}\n"
        f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-3000:]}"
    )


def kill_process(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=10.0)


def snapshot_from_server(server_url: str, device_token: str) -> dict[str, dict[str, Any]]:
    """Everything the server sends a kiosk in a full snapshot: {entity: {key: record}}."""
    out: dict[str, dict[str, Any]] = {}
    cursor = "0"
    with http() as session:
        session.headers["Authorization"] = f"Bearer {device_token}"
        for _ in range(1000):
            r = session.get(
                server_url + "/api/sync/changes",
                params={"cursor": cursor, "limit": 5000},
                timeout=30,
            )
            assert r.status_code == 200, r.text[:500]
            page = r.json()
            for change in page["changes"]:
                assert change["op"] == "upsert", change
                out.setdefault(change["entity"], {})[change["key"]] = change["data"]
            if not page["has_more"] or not page["snapshot"]:
                return out
            cursor = page["cursor"]
    raise AssertionError("the snapshot never ended")


# ---------------------------------------------------------------------------
# a faulty network between a kiosk and the server


class FaultProxy:
    """A TCP proxy on 127.0.0.1 that understands just enough HTTP/1.1 to fail on cue.

    Every client connection carries one request (the upstream request is sent
    with ``Connection: close``, so gunicorn closes it too). Faults, by
    ``(method, path)``:

    - ``refuse``: close the client connection without forwarding (the network is down);
    - ``swallow[key] = n``: forward the next ``n`` requests, read the server's full
      answer, then close the client connection without sending it (a lost ack);
    - ``delay[key] = s``: hold the server's answer ``s`` seconds before sending it.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.refuse: set[tuple[str, str]] = set()
        self.swallow: dict[tuple[str, str], int] = {}
        self.delay: dict[tuple[str, str], float] = {}
        #: (method, path, outcome) of every request seen
        self.log: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._active = 0
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    def outcomes(self, method: str, path: str) -> list[str]:
        with self._lock:
            return [o for m, p, o in self.log if (m, p) == (method, path)]

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5.0)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._active += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _note(self, method: str, path: str, outcome: str) -> None:
        with self._lock:
            self.log.append((method, path, outcome))

    def _serve(self, client: socket.socket) -> None:
        try:
            with client:
                client.settimeout(60.0)
                request = _read_request(client)
                if request is None:
                    return
                method, path, raw = request
                key = (method, path)
                with self._lock:
                    refused = key in self.refuse
                    swallowed = self.swallow.get(key, 0) > 0
                    if swallowed:
                        self.swallow[key] -= 1
                    delay = self.delay.get(key, 0.0)
                if refused:
                    self._note(method, path, "refused")
                    return
                try:
                    answer = _forward(self.upstream, raw)
                except OSError:
                    self._note(method, path, "upstream down")
                    return
                if swallowed:
                    self._note(method, path, "swallowed")
                    return
                if delay:
                    time.sleep(delay)
                self._note(method, path, "answered")
                with contextlib.suppress(OSError):
                    client.sendall(answer)
                    client.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            with self._lock:
                self._active -= 1


def _read_request(sock: socket.socket) -> tuple[str, str, bytes] | None:
    """One HTTP request from ``sock``: (method, path, bytes to send upstream)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = [line for line in lines[1:] if line]
    length = 0
    kept = []
    for line in headers:
        name, _, value = line.partition(":")
        lname = name.strip().lower()
        if lname == "content-length":
            length = int(value.strip())
        if lname in ("connection", "keep-alive", "proxy-connection"):
            continue
        kept.append(line)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    raw = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1") + body
    return method, target.split("?", 1)[0], raw


def _forward(upstream: tuple[str, int], raw: bytes) -> bytes:
    """Send ``raw`` upstream; the whole answer (read until the server closes)."""
    with socket.create_connection(upstream, timeout=60.0) as up:
        up.sendall(raw)
        chunks = []
        while True:
            chunk = up.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    if not answer:
        raise ConnectionError("the server closed without answering")
    return answer


def bulk_participants(db_path: Path, event_id: str, count: int) -> list[int]:
    """Add ``count`` participants to an event straight into the server's SQLite file
    (users, badges, participant role, participant records). No change_log rows:
    only a snapshot sees them. Returns the new user ids."""
    now = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())
    event = hex_id(event_id)
    with contextlib.closing(sqlite3.connect(db_path, timeout=30.0)) as conn, conn:
        first = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM users").fetchone()[0]) + 1
        ids = list(range(first, first + count))
        conn.executemany(
            "INSERT INTO users (id, username, email, first_name, last_name, password_hash,"
            " is_active, is_staff, date_joined) VALUES (?, ?, ?, ?, ?, '!', 1, 0, ?)",
            [(u, f"bulk{u}", f"bulk{u}@example.com", "Bulk", f"Person {u}", now) for u in ids],
        )
        conn.executemany(
            "INSERT INTO user_profiles (user_id, badge_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?)",
            [(u, f"USER-{u}-{uuid.uuid4().hex[:8].upper()}", now, now) for u in ids],
        )
        conn.executemany(
            "INSERT INTO user_event_assignments (id, user_id, event_id, role, is_active,"
            " metadata, assigned_by_id, assigned_at) VALUES (?, ?, ?, 'participant', 1, '{}',"
            " NULL, ?)",
            [(uuid.uuid4().hex, u, event, now) for u in ids],
        )
        conn.executemany(
            "INSERT INTO participants (id, user_id, event_id, badge_number, qr_code_data,"
            " registration_date, plan_file, organisation) VALUES (?, ?, ?, ?, ?, ?, NULL, '')",
            [
                (uuid.uuid4().hex, u, event, f"BULK-{u}", f"PARTICIPANT:{u}:BULK-{u}", now)
                for u in ids
            ],
        )
    return ids


@contextlib.contextmanager
def killed_on_exit(procs: Sequence[subprocess.Popen[Any]]) -> Iterator[None]:
    try:
        yield
    finally:
        for p in procs:
            kill_process(p)
