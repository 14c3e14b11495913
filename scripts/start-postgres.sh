#!/usr/bin/env bash
# Start a throwaway local PostgreSQL for trying the Postgres store (127.0.0.1 only, trust auth).
#   scripts/start-postgres.sh [port]      (default port 54329; PG_BIN overrides the bin dir)
# Prints the COUNTERSIGN_DATABASE_URL to export and the command that stops and removes it.
set -euo pipefail
port="${1:-54329}"
bin="${PG_BIN:-$(pg_config --bindir 2>/dev/null || true)}"
[ -x "$bin/initdb" ] || bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
[ -x "$bin/initdb" ] || { echo "PostgreSQL not found: apt-get install postgresql (or set PG_BIN)" >&2; exit 1; }

dir="$(mktemp -d "${TMPDIR:-/tmp}/countersign-pg-dev.XXXXXX")"
as=() # PostgreSQL refuses to run as root: use the postgres system user then.
if [ "$(id -u)" = 0 ]; then chmod 755 "$dir"; chown postgres: "$dir"; as=(runuser -u postgres --); fi
cd "$dir"
"${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | "${as[@]}" tee "$dir/data/pg_hba.conf" >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
"${as[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc 'CREATE DATABASE countersign' postgres

echo "export COUNTERSIGN_DATABASE_URL=postgres://postgres@127.0.0.1:$port/countersign"
echo "# stop: ${as[*]+${as[*]} }$bin/pg_ctl -D $dir/data -m fast stop && rm -rf $dir"
