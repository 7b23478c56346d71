"""How BadgeGate is served: ``gunicorn -c python:server.gunicorn_conf 'server:create_app()'``.

Threaded workers (``gthread``): a client that sends half a request, or a slow
one, holds one thread, not a whole worker, and long-lived responses do not take
a process each. Options given on the command line win over these (``--bind``,
``--workers``...). Behind nginx (see the README), slow clients never reach a
thread at all: nginx buffers each request whole before passing it on.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) > 0 else default


#: processes: ``WEB_CONCURRENCY`` (gunicorn's own variable), else 2
workers = _int("WEB_CONCURRENCY", 2)
worker_class = "gthread"
#: requests served at once by each process: ``BADGEGATE_THREADS``, else 8 (each
#: thread may hold one database connection: SQLAlchemy's pool holds 5 + 10 overflow)
threads = _int("BADGEGATE_THREADS", 8)
#: a worker that does not report for this long is restarted (seconds)
timeout = 60
graceful_timeout = 10
#: an idle kept-alive connection waits in the worker's poller, not in a thread
keepalive = 5
#: heartbeat files in memory when there is a /dev/shm (a slow disk stalls workers)
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
#: gunicorn 27's control socket is one path per user ($HOME/.gunicorn/gunicorn.ctl):
#: several servers on one machine (tests, benchmarks) would take it from each other
control_socket_disable = True
