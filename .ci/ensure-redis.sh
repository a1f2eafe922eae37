#!/usr/bin/env bash
# Start a throwaway redis-server on 127.0.0.1:6379 when none answers there.
set -euo pipefail
answers() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
if answers; then exit 0; fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server is not installed and nothing answers on 127.0.0.1:6379;" \
       "Redis tests will be skipped (apt-get install redis-server)" >&2
  exit 0
fi
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
  --dir /tmp --logfile /tmp/shoprec-redis.log
for _ in $(seq 1 50); do answers && exit 0; sleep 0.1; done
echo "redis-server did not start; see /tmp/shoprec-redis.log" >&2
exit 1
