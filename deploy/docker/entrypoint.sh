#!/bin/sh
# The shoprec image's entry point: one image, a role per container.
#   web      gunicorn with the web app (storefront API, widget, admin, webhooks) on :8000
#   worker   the RQ worker with its scheduler (sync, retrains, email, sweeps)
#   migrate  bring every shop's store to the current schema (run once after an upgrade)
#   shoprec  any CLI command: `docker compose run --rm worker shoprec --shop s1 train`
#   healthcheck  the image's HEALTHCHECK: the web role's /livez on its port answers 200
# SHOPREC_ENTRYPOINT_DRY_RUN=1 prints the command instead of running it.
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    set -- shoprec serve --host 0.0.0.0 --port "${SHOPREC_PORT:-8000}" \
      --workers "${SHOPREC_WEB_WORKERS:-2}" "$@"
    ;;
  worker)
    set -- shoprec worker run "$@"
    ;;
  migrate)
    set -- shoprec migrate "$@"
    ;;
  shoprec)
    set -- shoprec "$@"
    ;;
  healthcheck)
    set -- python -c 'import sys, urllib.request as r; r.urlopen(sys.argv[1], timeout=4)' \
      "http://127.0.0.1:${SHOPREC_PORT:-8000}/livez"
    ;;
  *)
    echo "shoprec image: unknown role '$role' (use web, worker, migrate, healthcheck or shoprec ...)" >&2
    exit 64
    ;;
esac

if [ "${SHOPREC_ENTRYPOINT_DRY_RUN:-}" = "1" ]; then
  echo "$*"
  exit 0
fi
exec "$@"
