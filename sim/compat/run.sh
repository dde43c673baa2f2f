#!/usr/bin/env bash
# Third-party clients against a standalone bybit-sim: Bybit's official Python SDK (pybit) and
# ccxt, unmodified but for their endpoint URLs. Fails when they cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! python3 -c "import pybit, ccxt" 2>/dev/null; then
  pip install --quiet --disable-pip-version-check pybit ccxt websocket-client >/dev/null 2>&1 || {
    echo "could not pip install pybit ccxt websocket-client" >&2; exit 1; }
fi
cargo build --quiet -p bybit-sim --bin bybit-sim
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/debug/bybit-sim --listen "127.0.0.1:$port" --api-key compat-key --api-secret compat-secret >/dev/null 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
python3 - "$port" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close(); break
    except OSError:
        time.sleep(0.1)
PY
# Freeze the random walk: the checks price post-only orders from a book they read earlier, and a
# moving market can cross them before the amend (110001), which is the market, not the client.
python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/sim/market?paused=true", method="POST"), timeout=5).read()' "$port"
python3 sim/compat/pybit_check.py "127.0.0.1:$port" compat-key compat-secret
python3 sim/compat/ccxt_check.py "127.0.0.1:$port" compat-key compat-secret
