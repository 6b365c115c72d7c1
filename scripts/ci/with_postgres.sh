#!/usr/bin/env bash
# Run a command with OPSMETRICS_PG_* pointing at a PostgreSQL server.
#
#   scripts/ci/with_postgres.sh <command> [args...]
#
# When OPSMETRICS_PG_HOST is set, that server is used as it is. Otherwise a throw-away
# server is made: Debian's postgresql package is installed if missing, a cluster is
# initialised in a temp folder (as an unprivileged OS user: initdb refuses root),
# started on 127.0.0.1 and a free port, and always stopped and removed on exit.
set -euo pipefail

if [[ -n "${OPSMETRICS_PG_HOST:-}" ]]; then
    exec "$@"
fi

find_bindir() {
    local dir
    if command -v pg_config > /dev/null && dir="$(pg_config --bindir 2> /dev/null)" \
        && [[ -x "$dir/initdb" ]]; then
        echo "$dir"
        return
    fi
    # Debian keeps the server binaries off PATH, one folder per major version.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return
        fi
    done
}

bindir="$(find_bindir)"
if [[ -z "$bindir" ]]; then
    "$(dirname "$0")/apt_install.sh" postgresql
    bindir="$(find_bindir)"
    [[ -n "$bindir" ]] || { echo "with_postgres: no initdb after install" >&2; exit 1; }
fi

# The server runs as an unprivileged user: ourselves, or (as root) the postgres user
# the package creates.
if [[ "$(id -u)" -eq 0 ]]; then
    pg_user=postgres
    id -u "$pg_user" > /dev/null 2>&1 \
        || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
    run_as() { runuser -u "$pg_user" -- "$@"; }
else
    run_as() { "$@"; }
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/opsmetrics-pg.XXXXXX")"
chmod 755 "$workdir"
[[ "$(id -u)" -ne 0 ]] || chown "$pg_user" "$workdir"
started=0

cleanup() {
    local status=$?
    if [[ "$started" -eq 1 ]]; then
        run_as "$bindir/pg_ctl" -D "$workdir/data" -m immediate -w stop > /dev/null 2>&1 || true
    fi
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
db_user=opsmetrics
database=opsmetrics

# C collation: text sorts byte-wise, as in DuckDB. The session time zone is deliberately
# not UTC, so a model that depends on it fails the parity test instead of passing by luck.
# Durability is off: the data is thrown away, and fsync would only slow the build down.
run_as "$bindir/initdb" -D "$workdir/data" -U "$db_user" --auth=trust \
    --encoding=UTF8 --locale=C > "$workdir/initdb.log" 2>&1 \
    || { cat "$workdir/initdb.log" >&2; exit 1; }
started=1
run_as "$bindir/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $workdir -c timezone=America/Sao_Paulo \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off" > /dev/null \
    || { cat "$workdir/server.log" >&2; exit 1; }
"$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$db_user" "$database"

echo "with_postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}')" \
    "on 127.0.0.1:$port (data in $workdir)" >&2
export OPSMETRICS_PG_HOST=127.0.0.1
export OPSMETRICS_PG_PORT="$port"
export OPSMETRICS_PG_USER="$db_user"
export OPSMETRICS_PG_PASSWORD=""
export OPSMETRICS_PG_DATABASE="$database"
"$@"
