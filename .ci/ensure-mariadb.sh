#!/usr/bin/env bash
# Start a throwaway MariaDB on 127.0.0.1:3306 (root, no password) when none answers there:
# the real WooCommerce store of tests/woo_store keeps its database in it.
set -euo pipefail
answers() { (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; }
if answers; then exit 0; fi
if ! command -v mariadbd >/dev/null 2>&1 && ! command -v mysqld >/dev/null 2>&1; then
  echo "mariadb-server is not installed and nothing answers on 127.0.0.1:3306;" \
       "the woo_store tests will be skipped (apt-get install mariadb-server)" >&2
  exit 0
fi
datadir=/tmp/shoprec-mariadb
if [ ! -d "$datadir/mysql" ]; then
  mariadb-install-db --user=root --datadir="$datadir" --auth-root-authentication-method=normal \
    >/tmp/shoprec-mariadb-install.log 2>&1
fi
server=$(command -v mariadbd || command -v mysqld)
"$server" --user=root --datadir="$datadir" --bind-address=127.0.0.1 --port=3306 \
  --socket=/tmp/shoprec-mariadb.sock >/tmp/shoprec-mariadb.log 2>&1 &
for _ in $(seq 1 100); do answers && exit 0; sleep 0.1; done
echo "MariaDB did not start; see /tmp/shoprec-mariadb.log" >&2
exit 1
