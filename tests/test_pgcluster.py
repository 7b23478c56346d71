"""The throwaway PostgreSQL cluster helper really starts, serves and stops a server."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import pgcluster

_AVAILABLE, _REASON = pgcluster.available()
pytestmark = pytest.mark.skipif(not _AVAILABLE, reason=_REASON)


def _psycopg_conninfo(url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg://`` URL as a libpq URI."""
    scheme, sep, rest = url.partition("://")
    assert sep and scheme == "postgresql+psycopg", url
    return f"postgresql://{rest}"


def test_start_query_stop() -> None:
    cluster = pgcluster.PgCluster()
    with cluster:
        url = cluster.url()
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/badgegate_test"
        pid = cluster.pid
        tmpdir = cluster.tmpdir
        assert cluster.running
        assert tmpdir.is_dir()

        with psycopg.connect(_psycopg_conninfo(url), connect_timeout=10) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            assert conn.execute("select current_database()").fetchone() == ("badgegate_test",)
            assert conn.execute("show fsync").fetchone() == ("off",)
            conn.execute("create table badge (id serial primary key, code text not null)")
            conn.execute("insert into badge (code) values (%s), (%s)", ("A-1", "B-2"))
            assert conn.execute("select count(*) from badge").fetchone() == (2,)

        cluster.create_database("second db's")
        with psycopg.connect(cluster.conninfo("second db's")) as conn:
            assert conn.execute("select current_database()").fetchone() == ("second db's",)
        with psycopg.connect(_psycopg_conninfo(cluster.url("second db's"))) as conn:
            assert conn.execute("select current_database()").fetchone() == ("second db's",)

    assert not cluster.running
    assert not pgcluster._pid_alive(pid), f"postmaster {pid} survived stop()"
    assert not tmpdir.exists(), f"{tmpdir} was not removed"
    cluster.stop()  # idempotent


def test_failed_start_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> str:
        path: str = real_mkdtemp(*args, **kwargs)
        created.append(Path(path))
        return path

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    monkeypatch.setitem(pgcluster.SERVER_SETTINGS, "no_such_setting", "1")
    cluster = pgcluster.PgCluster()
    with pytest.raises(pgcluster.PgClusterError, match="no_such_setting"):
        cluster.start()  # the message carries the tail of the server log
    assert len(created) == 1
    assert not created[0].exists(), f"{created[0]} was not removed"
    assert not cluster.running
