#!/usr/bin/env bash
# A throw-away PostgreSQL server for the store's tests, on 127.0.0.1 only.
#
#   source <(.ci/postgres.sh start)   # installs Debian's PostgreSQL if missing,
#                                     # starts a cluster in a temporary folder and
#                                     # prints: export ZFB_TEST_POSTGRES_URL=...
#                                     #         ZFB_POSTGRES_STATE=...
#   .ci/postgres.sh stop              # stops it and removes the folder
#
# Only the export line goes to standard output; progress goes to standard error.
# Run as root (the server itself runs as the postgres user) or as a normal user
# who can run initdb.
#
# Each start keeps its state (folder and binaries) in a file of its own, inside
# the server's folder, and exports its path as ZFB_POSTGRES_STATE: `stop` in the
# same shell stops that server and no other, so that several runs on one machine
# do not stop each other's. A ZFB_POSTGRES_STATE set beforehand names the state
# file to use instead; `start` first stops the server recorded there.
set -euo pipefail

STATE="${ZFB_POSTGRES_STATE:-}"

say() { echo "postgres.sh: $*" >&2; }

bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    elif command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
    fi
}

install_server() {
    if [ -n "$(bindir)" ]; then
        return
    fi
    if [ "$(id -u)" != 0 ]; then
        say "PostgreSQL is not installed and installing it needs root"
        exit 1
    fi
    say "installing Debian's postgresql package"
    # no system-wide cluster: this script makes its own
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" \
        >/etc/postgresql-common/createcluster.d/zfb-no-main-cluster.conf
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

stop() {
    if [ -z "$STATE" ]; then
        say "nothing to stop: ZFB_POSTGRES_STATE is not set (run stop where start's export was run)"
        return 0
    fi
    [ -f "$STATE" ] || return 0
    local dir bin
    dir=$(sed -n 1p "$STATE")
    bin=$(sed -n 2p "$STATE")
    if [ -d "$dir/data" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    case "$dir" in
        */zfb-pg.*) rm -rf "$dir" ;;
    esac
    rm -f "$STATE"
    say "stopped and removed $dir"
}

# a start that fails stops what it started and removes its folder
abandon() {
    say "start failed; cleaning up"
    stop
}

start() {
    # the server this state names (from an earlier start in this shell)
    [ -z "$STATE" ] || stop
    install_server
    local bin dir port password
    bin=$(bindir)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/zfb-pg.XXXXXX")
    # a state file of this run's own unless one was named (a state left in an
    # earlier run's folder goes with that folder)
    case "$STATE" in
        "" | */zfb-pg.*/state) STATE="$dir/state" ;;
    esac
    printf '%s\n%s\n' "$dir" "$bin" >"$STATE"
    trap abandon EXIT
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir"
    fi
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    port=$(free_port)
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
        start >&2
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE zfb LOGIN CREATEDB PASSWORD '$password'" \
        -c "CREATE DATABASE zfb_test OWNER zfb" >&2
    say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port in $dir"
    trap - EXIT
    printf "export ZFB_TEST_POSTGRES_URL='%s' ZFB_POSTGRES_STATE=%q\n" \
        "postgresql://zfb:$password@127.0.0.1:$port/zfb_test" "$STATE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
