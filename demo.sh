#!/usr/bin/env bash
# BadgeGate demo: set up, build the schema, load the demo data, start the server.
# Usage: ./demo.sh            (then open http://127.0.0.1:5000/api/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PORT=${PORT:-5000}
if [[ ! -x .venv/bin/python ]]; then
    echo "== creating .venv"
    python3 -m venv .venv
fi
echo "== installing BadgeGate"
.venv/bin/pip install -q -e .

echo "== building the database (SQLite in ./instance unless DATABASE_URL is set)"
.venv/bin/badgegate-server db upgrade
echo "== loading demo data"
.venv/bin/badgegate-server seed-demo

echo
echo "== BadgeGate server on http://127.0.0.1:${PORT}/api/  (Ctrl-C to stop)"
exec .venv/bin/gunicorn --workers 2 --bind "127.0.0.1:${PORT}" --access-logfile - 'server:create_app()'
