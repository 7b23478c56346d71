"""Throwaway PostgreSQL clusters for the test suite.

A :class:`PgCluster` runs ``initdb`` into a fresh temporary directory, starts
``postgres`` with ``pg_ctl`` on ``127.0.0.1`` and a free TCP port (its unix
socket lives inside the temporary directory), and tears everything down again
with ``pg_ctl -m immediate stop``.  The server is tuned for speed, not
durability (``fsync=off`` etc.): never point it at data you care about.

``initdb`` and ``postgres`` refuse to run as root, so when the tests run as root
(as CI does) the binaries are run as the ``postgres`` system user, or
``nobody`` when there is none.

Only the standard library is used, except :meth:`PgCluster.create_database`,
which imports psycopg (a dependency of the project) when called.

Typical use::

    ok, reason = pgcluster.available()
    if not ok:
        pytest.skip(reason)
    with pgcluster.PgCluster() as pg:
        engine = sqlalchemy.create_engine(pg.url())
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = [
    "PgCluster",
    "PgClusterError",
    "available",
    "find_pg_bin",
    "reap_stale_clusters",
]

REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")
HOST = "127.0.0.1"
#: Prefix of the temporary directories; also used to find clusters left behind
#: by a test run that was killed (SIGKILL) before it could clean up.
TMP_PREFIX = "badgegate-pg-"
#: File in the temporary directory holding the pid of the Python process that
#: owns the cluster.
OWNER_FILE = "owner.pid"
#: Server settings for tests: speed over durability.
SERVER_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}
_LOG_TAIL_LINES = 40
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes; leave room for ".s.PGSQL.NNNNN"
_PORT_ATTEMPTS = 3


class PgClusterError(RuntimeError):
    """A cluster could not be created, started or stopped."""


def _has_binaries(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in REQUIRED_BINARIES)


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin -> (15,) or (9, 6); non-numeric sorts first
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (-1,)


def find_pg_bin() -> Path | None:
    """Return the directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Looked for, in order: the ``PG_BIN`` environment variable (when set it is
    authoritative: a ``PG_BIN`` without the binaries gives None rather than
    silently using another installation), ``pg_config --bindir``, the newest
    ``/usr/lib/postgresql/*/bin`` and the directory of ``pg_ctl`` on ``PATH``
    (symlinks resolved).  None when not found.
    """
    env_bin = os.environ.get("PG_BIN")
    if env_bin:
        path = Path(env_bin).expanduser()
        return path.resolve() if _has_binaries(path) else None

    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            result = subprocess.run(
                [pg_config, "--bindir"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
                stdin=subprocess.DEVNULL,
            )
            if result.returncode == 0 and result.stdout.strip():
                candidates.append(Path(result.stdout.strip()))
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        candidates.append(Path(pg_ctl).resolve().parent)

    for candidate in candidates:
        if _has_binaries(candidate):
            return candidate.resolve()
    return None


@dataclass(frozen=True)
class _RunAs:
    """The account the PostgreSQL binaries run as (None: the current one)."""

    name: str
    uid: int | None
    gid: int | None


def _run_as_account() -> _RunAs:
    """The account to run initdb/postgres as; raises PgClusterError if none fits."""
    if os.geteuid() != 0:
        return _RunAs(name=pwd.getpwuid(os.geteuid()).pw_name, uid=None, gid=None)
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid != 0:
            return _RunAs(name=name, uid=entry.pw_uid, gid=entry.pw_gid)
    raise PgClusterError(
        "running as root, and neither a 'postgres' nor a 'nobody' user exists to run "
        "PostgreSQL as (initdb and postgres refuse to run as root)"
    )


def available() -> tuple[bool, str]:
    """Whether a cluster can be started here, and a plain reason when not."""
    if os.environ.get("PG_BIN") and find_pg_bin() is None:
        return False, (
            f"PG_BIN={os.environ['PG_BIN']} does not hold {', '.join(REQUIRED_BINARIES)}; "
            "PostgreSQL tests are skipped"
        )
    bin_dir = find_pg_bin()
    if bin_dir is None:
        return False, (
            "PostgreSQL binaries not found (set PG_BIN or install postgresql); "
            "PostgreSQL tests are skipped"
        )
    try:
        _run_as_account()
    except PgClusterError as exc:
        return False, f"{exc}; PostgreSQL tests are skipped"
    return True, f"PostgreSQL binaries in {bin_dir}"


def _traversable_by(path: Path, account: _RunAs) -> bool:
    """Whether ``account`` can reach entries of ``path`` (x permission on every ancestor)."""
    if account.uid is None:
        return True
    for directory in (path, *path.parents):
        try:
            st = directory.stat()
        except OSError:
            return False
        if st.st_uid == account.uid:
            allowed = bool(st.st_mode & 0o100)
        elif st.st_gid == account.gid:
            allowed = bool(st.st_mode & 0o010)
        else:
            allowed = bool(st.st_mode & 0o001)
        if not allowed:
            return False
    return True


def _temp_base(account: _RunAs) -> Path:
    """The directory to create cluster directories in."""
    base = Path(tempfile.gettempdir()).resolve()
    # the socket path must fit in sun_path, e.g. <base>/badgegate-pg-xxxxxxxx/.s.PGSQL.54321
    too_long = len(str(base)) + len(TMP_PREFIX) + 30 > _MAX_SOCKET_PATH
    if too_long or not _traversable_by(base, account):
        base = Path("/tmp")
    return base


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    # the state follows the parenthesised command name, which may contain spaces
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _read_postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        return int(first.strip())
    except (OSError, IndexError, ValueError):
        return None


def _log_tail(log_file: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(server log is empty)"


def _subprocess_env() -> dict[str, str]:
    """The environment minus libpq/PG* settings that could redirect the tools."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    env["LANG"] = "C"
    return env


def _run(
    args: Sequence[str | os.PathLike[str]],
    account: _RunAs,
    cwd: Path,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary as ``account``; never raises for a non-zero exit."""
    switch = account.uid is not None
    return subprocess.run(
        [os.fspath(arg) for arg in args],
        cwd=cwd,
        env=_subprocess_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        user=account.uid,
        group=account.gid,
        extra_groups=[] if switch else None,  # drop root's supplementary groups
    )


def _conninfo_quote(value: str) -> str:
    """Quote a libpq conninfo value when needed."""
    if value and not re.search(r"[\s'\\]", value):
        return value
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _describe(result: subprocess.CompletedProcess[str]) -> str:
    output = "\n".join(part.strip() for part in (result.stdout, result.stderr) if part.strip())
    command = shlex.join(str(arg) for arg in result.args)
    return f"`{command}` exited with {result.returncode}:\n{output or '(no output)'}"


def _shutdown(
    bin_dir: Path,
    tmpdir: Path,
    account: _RunAs,
    owner_pid: int,
    timeout: float,
) -> list[str]:
    """Stop the server in ``tmpdir`` (if running) and remove ``tmpdir``.

    Never raises; returns a list of problems.  Does nothing in a forked child
    of the process that owns the cluster (its atexit handlers must not stop the
    parent's server).
    """
    if os.getpid() != owner_pid:
        return []
    problems: list[str] = []
    data_dir = tmpdir / "data"
    pid = _read_postmaster_pid(data_dir)
    if pid is not None:
        try:
            result = _run(
                [bin_dir / "pg_ctl", "stop", "-D", data_dir, "-m", "immediate", "-w"],
                account,
                cwd=tmpdir,
                timeout=timeout,
            )
            if result.returncode != 0 and _pid_alive(pid):
                problems.append(_describe(result))
        except (OSError, subprocess.SubprocessError) as exc:
            problems.append(f"pg_ctl stop failed: {exc}")
        if _pid_alive(pid):
            # pg_ctl could not stop it: kill the postmaster; its children follow
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_alive(pid):
                problems.append(f"postmaster {pid} is still running")
    shutil.rmtree(tmpdir, ignore_errors=True)
    if tmpdir.exists():
        problems.append(f"could not remove {tmpdir}")
    return problems


def _shutdown_at_exit(
    bin_dir: Path, tmpdir: Path, account: _RunAs, owner_pid: int, timeout: float
) -> None:
    problems = _shutdown(bin_dir, tmpdir, account, owner_pid, timeout)
    if problems:
        details = "\n".join(problems)
        print(f"pgcluster: cleaning up {tmpdir} failed:\n{details}", file=sys.stderr)


def reap_stale_clusters(bin_dir: Path, base: Path | None = None) -> list[Path]:
    """Stop and remove clusters left in ``base`` by test runs that died (e.g. SIGKILL).

    Only directories carrying this module's owner file whose owning process no
    longer exists are touched.  Returns the directories removed.
    """
    base = base if base is not None else _temp_base(_run_as_account())
    removed: list[Path] = []
    for tmpdir in base.glob(f"{TMP_PREFIX}*"):
        try:
            owner = int((tmpdir / OWNER_FILE).read_text().strip())
            st = tmpdir.stat()
        except (OSError, ValueError):
            continue
        if owner <= 0 or _pid_alive(owner):
            continue
        if os.geteuid() == 0 and st.st_uid != 0:
            account = _RunAs(name=str(st.st_uid), uid=st.st_uid, gid=st.st_gid)
        elif st.st_uid == os.geteuid():
            account = _RunAs(name=str(st.st_uid), uid=None, gid=None)
        else:
            continue  # someone else's
        if not _shutdown(bin_dir, tmpdir, account, os.getpid(), timeout=30):
            removed.append(tmpdir)
    return removed


class PgCluster:
    """A throwaway PostgreSQL cluster; use as a context manager or call start()/stop().

    ``start()`` creates the cluster and the database ``dbname``; ``url()`` gives
    a SQLAlchemy URL for it.  The server is stopped and its directory removed by
    ``stop()``, on leaving the ``with`` block, when the object is garbage
    collected, or at interpreter exit, whichever comes first.
    """

    def __init__(
        self,
        bin_dir: Path | str | None = None,
        *,
        dbname: str = "badgegate_test",
        user: str = "postgres",
        timeout: float = 60.0,
    ) -> None:
        resolved = Path(bin_dir) if bin_dir is not None else find_pg_bin()
        if resolved is None:
            raise PgClusterError(available()[1])
        if not _has_binaries(resolved):
            raise PgClusterError(f"{resolved} does not hold {', '.join(REQUIRED_BINARIES)}")
        self.bin_dir: Path = resolved
        self.dbname: str = dbname
        self.user: str = user
        self.host: str = HOST
        self.timeout: float = timeout
        self._port: int | None = None
        self._pid: int | None = None
        self._tmpdir: Path | None = None
        self._finalizer: weakref.finalize[..., PgCluster] | None = None

    # -- properties ---------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._pid is not None and _pid_alive(self._pid)

    @property
    def port(self) -> int:
        if self._port is None:
            raise PgClusterError("cluster is not started")
        return self._port

    @property
    def pid(self) -> int:
        """The postmaster's process id."""
        if self._pid is None:
            raise PgClusterError("cluster is not started")
        return self._pid

    @property
    def tmpdir(self) -> Path:
        """The temporary directory holding data/, the socket and server.log."""
        if self._tmpdir is None:
            raise PgClusterError("cluster is not started")
        return self._tmpdir

    @property
    def data_dir(self) -> Path:
        return self.tmpdir / "data"

    @property
    def log_file(self) -> Path:
        return self.tmpdir / "server.log"

    # -- connection strings ---------------------------------------------------

    def url(self, dbname: str | None = None) -> str:
        """SQLAlchemy URL: ``postgresql+psycopg://USER@127.0.0.1:PORT/DBNAME``."""
        user = urllib.parse.quote(self.user, safe="")
        database = urllib.parse.quote(dbname or self.dbname, safe="")
        return f"postgresql+psycopg://{user}@{self.host}:{self.port}/{database}"

    def conninfo(self, dbname: str | None = None) -> str:
        """libpq conninfo string, e.g. for ``psycopg.connect``."""
        params = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "dbname": dbname or self.dbname,
            "connect_timeout": "10",
        }
        return " ".join(f"{key}={_conninfo_quote(value)}" for key, value in params.items())

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> PgCluster:
        """Create and start the cluster and create the database ``dbname``."""
        if self._tmpdir is not None:
            raise PgClusterError("cluster is already started")
        account = _run_as_account()
        base = _temp_base(account)
        with contextlib.suppress(Exception):
            reap_stale_clusters(self.bin_dir, base)
        tmpdir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=base))
        self._tmpdir = tmpdir
        # registered before anything else, so that every failure path below,
        # garbage collection and interpreter exit (weakref.finalize runs at atexit,
        # e.g. after Ctrl-C) stop the server and remove the directory
        self._finalizer = weakref.finalize(
            self, _shutdown_at_exit, self.bin_dir, tmpdir, account, os.getpid(), self.timeout
        )
        try:
            (tmpdir / OWNER_FILE).write_text(f"{os.getpid()}\n")
            tmpdir.chmod(0o700)
            if account.uid is not None and account.gid is not None:
                os.chown(tmpdir, account.uid, account.gid)
            self._initdb(account)
            self._start_server(account)
            self.create_database(self.dbname)
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def _initdb(self, account: _RunAs) -> None:
        result = _run(
            [
                self.bin_dir / "initdb",
                "-D",
                self.data_dir,
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                # lower() and pg_trgm fold the case of É, Ш, ... as in production
                "--lc-ctype=C.UTF-8",
                "--no-sync",
            ],
            account,
            cwd=self.tmpdir,
            timeout=self.timeout,
        )
        if result.returncode != 0:
            raise PgClusterError(f"initdb failed in {self.tmpdir}\n{_describe(result)}")

    def _start_server(self, account: _RunAs) -> None:
        settings = {
            "listen_addresses": self.host,
            "unix_socket_directories": str(self.tmpdir),
            **SERVER_SETTINGS,
        }
        last_error = ""
        for _attempt in range(_PORT_ATTEMPTS):
            port = _free_port()
            options = [f"-p {port}"]
            options += [f"-c {shlex.quote(f'{key}={value}')}" for key, value in settings.items()]
            log_size = self.log_file.stat().st_size if self.log_file.exists() else 0
            result = _run(
                [
                    self.bin_dir / "pg_ctl",
                    "start",
                    "-w",
                    "-t",
                    str(int(self.timeout)),
                    "-D",
                    self.data_dir,
                    "-l",
                    self.log_file,
                    "-o",
                    " ".join(options),
                ],
                account,
                cwd=self.tmpdir,
                timeout=self.timeout + 10,
            )
            pid = _read_postmaster_pid(self.data_dir)
            if result.returncode == 0 and pid is not None:
                self._port = port
                self._pid = pid
                self._wait_for_port()
                return
            last_error = f"{_describe(result)}\n--- server log ({self.log_file}) ---\n" + _log_tail(
                self.log_file
            )
            # a process grabbed the port between _free_port() and the server's bind: retry
            with contextlib.suppress(OSError):
                new_log = self.log_file.read_text(errors="replace")[log_size:]
                if "could not bind" in new_log or "already in use" in new_log:
                    continue
            break
        raise PgClusterError(f"PostgreSQL failed to start in {self.tmpdir}\n{last_error}")

    def _wait_for_port(self) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError as exc:
                if time.monotonic() > deadline or not self.running:
                    raise PgClusterError(
                        f"PostgreSQL is not accepting connections on {self.host}:{self.port}: "
                        f"{exc}\n--- server log ---\n{_log_tail(self.log_file)}"
                    ) from exc
                time.sleep(0.05)

    def create_database(self, name: str) -> None:
        """Create the database ``name`` (owned by the cluster's superuser)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def stop(self, *, check: bool = True) -> None:
        """Stop the server (``pg_ctl -m immediate stop``) and remove its directory.

        Idempotent.  With ``check``, raises PgClusterError if the server or the
        directory survived.
        """
        finalizer, self._finalizer = self._finalizer, None
        self._tmpdir = self._port = self._pid = None
        detached = finalizer.detach() if finalizer is not None else None
        if detached is None:
            return  # never started, already stopped, or cleaned up at exit
        _obj, _func, args, _kwargs = detached
        problems = _shutdown(*args)
        if problems and check:
            raise PgClusterError("stopping PostgreSQL failed:\n" + "\n".join(problems))

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # don't mask the exception that ended the block with a cleanup error
        self.stop(check=exc_type is None)

    def __repr__(self) -> str:
        state = f"port={self._port} pid={self._pid}" if self._pid else "stopped"
        return f"<PgCluster {self.bin_dir} {state}>"
