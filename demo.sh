#!/usr/bin/env bash
# BadgeGate demo: set up, build the database, load the demo data, start the
# server, provision a door kiosk against it and start scanning.
#
# Usage: ./demo.sh   (PORT=5000 by default; the API is then on http://127.0.0.1:5000/api/)
#
# The kiosk scans with the webcam when there is one, otherwise a generated
# video of sample badges; in a window when there is a display, else it prints
# one JSON line per verdict. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PORT=${PORT:-5000}
API="http://127.0.0.1:${PORT}"
KIOSK_DIR=${BADGEGATE_KIOSK_DIR:-instance/kiosk-demo}

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

echo "== starting the server on ${API}/api/"
.venv/bin/gunicorn -c python:server.gunicorn_conf --bind "127.0.0.1:${PORT}" \
    --access-logfile instance/access.log --error-logfile instance/server.log 'server:create_app()' &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
    if .venv/bin/python -c "import requests,sys; requests.get('${API}/api/health/', timeout=1).raise_for_status()" 2>/dev/null; then
        break
    fi
    sleep 0.2
done

echo "== the API's documentation: ${API}/api/docs/ (OpenAPI document: ${API}/api/openapi.json)"

# The door of the plenary room, and a few badges to scan there.
read -r ROOM SAMPLES < <(.venv/bin/python - "$API" <<'EOF'
import json, sys
import requests
api = sys.argv[1]
def login(email):
    r = requests.post(f"{api}/api/auth/login/", json={"email": email, "password": "test123"}, timeout=10)
    r.raise_for_status()
    return r.json()
controller = login("controller@makeplus.com")
rooms = requests.get(f"{api}/api/rooms/", headers={"Authorization": "Bearer " + controller["access"]}, timeout=10).json()["results"]
room = next(r for r in rooms if r["name"].startswith("Amphi"))
samples = [login(e)["current_event"]["badge"]["qr_code_data"] for e in ("participant1@makeplus.com", "participant2@makeplus.com")]
samples.append("not-a-badge")
print(room["id"], json.dumps(samples))
EOF
)

echo "== provisioning a door kiosk for the plenary room (data in ${KIOSK_DIR})"
.venv/bin/badgegate-kiosk --data-dir "$KIOSK_DIR" provision --server "$API" \
    --email controller@makeplus.com --password test123 --room "$ROOM" --name "Porte Amphi A" --force
.venv/bin/badgegate-kiosk --data-dir "$KIOSK_DIR" status

echo
echo "== sample badges:"
.venv/bin/python -c "import json,sys; [print('  ' + s) for s in json.loads(sys.argv[1])]" "$SAMPLES"
.venv/bin/python -c "import json,sys; [print(s) for s in json.loads(sys.argv[1])]" "$SAMPLES" \
    > instance/demo-payloads.txt

# The webcam when there is one; otherwise a generated video of the sample
# badges. In a window when there is a display, else one JSON line per verdict.
view=()
[[ -z ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]] && view=(--headless)
rc=0
.venv/bin/badgegate-kiosk --data-dir "$KIOSK_DIR" run --camera auto "${view[@]}" || rc=$?
if [[ $rc -eq 1 ]]; then
    echo "== no webcam: scanning a generated video of the sample badges"
    .venv/bin/badgegate-kiosk demo-video instance/demo.avi --payload-file instance/demo-payloads.txt
    .venv/bin/badgegate-kiosk --data-dir "$KIOSK_DIR" run --video instance/demo.avi "${view[@]}"
fi
.venv/bin/badgegate-kiosk --data-dir "$KIOSK_DIR" sync || true
.venv/bin/badgegate-kiosk --data-dir "$KIOSK_DIR" status
echo
echo "== the server keeps running on ${API}/api/ (Ctrl-C to stop)."
echo "   Try the kiosk by hand: .venv/bin/badgegate-kiosk --data-dir $KIOSK_DIR run --wedge"
wait "$server_pid"
