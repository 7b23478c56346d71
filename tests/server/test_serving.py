"""The server as it is run: a real gunicorn process with the checked-in config.

Clients that send half a request must not take the server down: with
threaded workers each holds a thread, and ``/api/health/`` still answers.
Timeouts here are hang guards, not timing assertions.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from tests.conftest import FAST_HASH
from tests.e2e.harness import free_port

BIN = Path(sys.executable).parent
CONFIG = "python:server.gunicorn_conf"
APP = "server:create_app()"
HANG_GUARD = 20.0


@contextlib.contextmanager
def gunicorn(app: Flask, tmp_path: Path, *args: str) -> Iterator[str]:
    """``gunicorn -c python:server.gunicorn_conf`` on the test's database; its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        JWT_SECRET_KEY=app.config["JWT_SECRET_KEY"],
        PASSWORD_HASH_METHOD=FAST_HASH,
        BADGEGATE_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    log = tmp_path / "gunicorn.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", CONFIG, "-b", f"127.0.0.1:{port}", *args, APP],
            cwd=tmp_path,  # a folder without any gunicorn.conf.py: the config comes from -c
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            with contextlib.suppress(requests.RequestException):
                if requests.get(url + "/api/health/", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _half_request(url: str, head: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=HANG_GUARD)
    sock.sendall(head)
    return sock


def test_half_requests_do_not_block_the_server(app: Flask, tmp_path: Path) -> None:
    """Two clients stall mid-request (one in its headers, one in its body) on a
    server of two workers: the health check still answers, and so does a login."""
    with gunicorn(app, tmp_path, "--workers", "2") as url:
        stalled = [
            _half_request(url, b"POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\nContent-Ty"),
            _half_request(
                url,
                b"POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\n"
                b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"em',
            ),
        ]
        try:
            time.sleep(0.5)  # let the workers take the stalled connections first
            for _ in range(4):  # several times: each worker gets its turn
                r = requests.get(url + "/api/health/", timeout=HANG_GUARD)
                assert r.status_code == 200
            r = requests.post(
                url + "/api/auth/login/",
                json={"email": "nobody@example.com", "password": "x"},
                timeout=HANG_GUARD,
            )
            assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
        finally:
            for sock in stalled:
                sock.close()


def test_a_chunked_body_past_the_limit_is_413_under_gunicorn(app: Flask, tmp_path: Path) -> None:
    """50 MB chunked, no Content-Length: refused as too large, not read as a short body."""
    with gunicorn(app, tmp_path) as url:
        sock = _half_request(
            url,
            b"POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
        )
        chunk = b'{"email": "' + b"a" * (64 * 1024 - 11)
        with contextlib.suppress(OSError):  # the server stops reading past the limit
            for _ in range(50 * 16):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in answer:
                part = sock.recv(4096)
                if not part:
                    break
                answer += part
        sock.close()
        status = re.match(rb"HTTP/1\.1 (\d{3})", answer)
        assert status is not None, answer[:200]
        assert status.group(1) == b"413", answer[:300]


def test_the_config_is_threaded_by_default() -> None:
    from server import gunicorn_conf

    assert gunicorn_conf.worker_class == "gthread"
    assert gunicorn_conf.threads > 1
    assert gunicorn_conf.workers >= 2


@pytest.mark.parametrize("path", ["README.md", "demo.sh"])
def test_the_documented_commands_use_the_config(repo_root: Path, path: str) -> None:
    text = (repo_root / path).read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if "gunicorn " in line and "create_app" in line]
    assert lines, path
    for line in lines:
        assert f"-c {CONFIG}" in line, line
