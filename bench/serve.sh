#!/usr/bin/env bash
# Serving benchmark: gunicorn (2 workers) on 127.0.0.1, wrk for 30 s each against a cached
# product-page recommendation request, against realistic uncached traffic (distinct shoppers,
# sessions and visitors with the widget's parameters, 60% product / 25% home / 15% cart, from
# bench/realistic_traffic.py, which also seeds the demo shop's sessions with views and signs
# logged-in customers' tokens; both recommendation runs send a browser's headers) and
# against the bare /api/v1/ping, all in the same server.
# Targets (2-core machine): cached >= 2,000 req/s, p99 < 25 ms, >= 60% of ping's throughput;
# realistic uncached >= 30% of ping's throughput, p99 < 50 ms.
#
# Run from the repository root:  bench/serve.sh            (DURATION=10s bench/serve.sh to shorten)
# Uses Redis DB 9 on 127.0.0.1:6379 (flushed; BENCH_REDIS_URL=redis://... picks another) when
# one answers, else the in-process cache; BENCH_REDIS=0 bench/serve.sh forces the in-process
# cache.
# Installs nothing: needs wrk (apt-get install wrk). Loopback only; bounded in time.
# VENV=/path/to/.venv picks the virtualenv (default: .venv of the repository root).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
SHOPREC="$VENV/bin/shoprec"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's code, whatever is installed
PORT="${PORT:-8765}"
DURATION="${DURATION:-30s}"
CONNECTIONS="${CONNECTIONS:-32}"
REDIS_BENCH_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379/9}"

if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk is not installed: apt-get install wrk" >&2
    exit 2
fi

TMP="$(mktemp -d -t shoprec-serve-bench-XXXXXX)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

echo "== demo shop in $TMP/data"
timeout 300 "$SHOPREC" --data-dir "$TMP/data" demo --no-serve >"$TMP/demo.log" 2>&1 \
    || { cat "$TMP/demo.log" >&2; exit 1; }

echo "== realistic traffic: seeded sessions and distinct request paths"
timeout 300 "$PY" -P "$ROOT/bench/realistic_traffic.py" "$TMP/data" demo "$TMP/paths.txt"

REDIS_URL_USED=""
if [[ "${BENCH_REDIS:-1}" != "0" ]] && "$PY" - "$REDIS_BENCH_URL" <<'PYEOF' 2>/dev/null
import sys, redis
conn = redis.Redis.from_url(sys.argv[1], socket_timeout=0.5, socket_connect_timeout=0.5)
conn.ping()
conn.flushdb()
PYEOF
then
    REDIS_URL_USED="$REDIS_BENCH_URL"
    echo "== cache: Redis $REDIS_URL_USED (flushed)"
else
    echo "== cache: in-process (BENCH_REDIS=0, or no Redis answering on 127.0.0.1:6379)"
fi

ANCHOR="$("$PY" - "$TMP/data" <<'PYEOF'
import sys
from pathlib import Path
from storage.db import open_shop_db
from storage.orders import popular_products
db = open_shop_db(Path(sys.argv[1]), "demo", create=False)
print(popular_products(db, limit=1)[0])
db.close()
PYEOF
)"
BASE="http://127.0.0.1:$PORT"
RECS_URL="$BASE/api/v1/recommendations?shop=demo&context=product&product_id=$ANCHOR&limit=8"
PING_URL="$BASE/api/v1/ping"

echo "== gunicorn, 2 workers, on 127.0.0.1:$PORT (access log to a file)"
REDIS_URL="$REDIS_URL_USED" SHOPREC_LOG_LEVEL=WARNING \
    "$SHOPREC" --data-dir "$TMP/data" serve --host 127.0.0.1 --port "$PORT" --workers 2 \
    >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "$PING_URL" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; exit 1; }
    sleep 0.1
done
curl -fsS "$PING_URL" >/dev/null || { echo "server did not come up" >&2; exit 1; }

echo "== warming: $RECS_URL"
for _ in $(seq 1 20); do curl -fsS "$RECS_URL" >/dev/null; done
curl -fsS "$BASE/healthz"; echo

# The headers a browser sends with the widget's cross-origin fetch (bench/realistic_traffic.py),
# on both recommendation runs; the ping stays the bare reference.
BROWSER=()
while IFS= read -r header; do
    [[ -n "$header" ]] && BROWSER+=(-H "$header")
done <"$TMP/paths.txt.headers"

echo "== wrk -t2 -c$CONNECTIONS -d$DURATION --latency (recommendations, browser headers)"
timeout 120 wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "${BROWSER[@]}" "$RECS_URL" \
    | tee "$TMP/recs.txt"
echo "== wrk -t2 -c$CONNECTIONS -d$DURATION --latency -s bench/realistic.lua (uncached, realistic)"
timeout 120 wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "${BROWSER[@]}" \
    -s "$ROOT/bench/realistic.lua" "$BASE" -- "$TMP/paths.txt" | tee "$TMP/realistic.txt"
sleep 3  # let the server finish what the last run left queued before the ping is measured
echo "== wrk -t2 -c$CONNECTIONS -d$DURATION --latency (ping)"
timeout 120 wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$PING_URL" | tee "$TMP/ping.txt"

echo "== summary ($(nproc) cores; reproduce: bench/serve.sh from the repository root)"
"$PY" "$ROOT/bench/serve_report.py" "$TMP/recs.txt" "$TMP/ping.txt" "$TMP/realistic.txt"
