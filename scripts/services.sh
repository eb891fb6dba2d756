#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers on 127.0.0.1 for the scale-out tests, CI and benchmarks.
#
#   eval "$(bash scripts/services.sh start [DIR])"   # prints export lines; DIR default: a new temp dir
#   bash scripts/services.sh stop DIR                 # stops both servers and removes DIR
#
# Both pick a free port, keep their data under DIR and listen on 127.0.0.1 only. PostgreSQL
# refuses to run as root, so as root the cluster belongs to the 'postgres' system user.
# Exported: DIS_TEST_POSTGRES_URL (superuser 'dis', trust auth, database 'postgres'),
# DIS_TEST_REDIS_URL and DIS_SERVICES_DIR.
set -euo pipefail

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/postgres" ] && { echo "$dir"; return; }
  done
  command -v pg_ctl >/dev/null && { dirname "$(command -v pg_ctl)"; return; }
  echo "services.sh: PostgreSQL server binaries not found (install postgresql)" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin)
  mkdir -p "$dir/pg"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/pg"
  as_pg_owner "$bin/initdb" -D "$dir/pg/data" -U dis -A trust -E UTF8 --no-locale >"$dir/pg/initdb.log" 2>&1 \
    || { cat "$dir/pg/initdb.log" >&2; exit 1; }
  # fsync off: these clusters are thrown away; the product's durability is not what is tested here
  as_pg_owner "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 start \
    -o "-h 127.0.0.1 -p $port -k $dir/pg -c fsync=off -c synchronous_commit=off -c max_connections=200" >/dev/null \
    || { cat "$dir/pg/server.log" >&2; exit 1; }
}

start_redis() {
  local dir=$1 port=$2
  command -v redis-server >/dev/null || { echo "services.sh: redis-server not found" >&2; exit 1; }
  mkdir -p "$dir/redis"
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$dir/redis" \
    --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" --save "" --appendonly no \
    || { echo "services.sh: redis-server did not start" >&2; exit 1; }
  for _ in $(seq 50); do
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "services.sh: redis-server not answering on port $port" >&2
  exit 1
}

start() {
  local dir=${1:-$(mktemp -d /tmp/dis-services.XXXXXX)} pg_port redis_port
  mkdir -p "$dir"
  chmod 755 "$dir"
  pg_port=$(free_port)
  redis_port=$(free_port)
  start_postgres "$dir" "$pg_port"
  start_redis "$dir" "$redis_port"
  cat <<EOF | tee "$dir/env"
export DIS_SERVICES_DIR=$dir
export DIS_TEST_POSTGRES_URL=postgresql://dis@127.0.0.1:$pg_port/postgres
export DIS_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0
EOF
}

stop() {
  local dir=${1:?usage: services.sh stop DIR}
  if [ -f "$dir/redis/redis.pid" ]; then
    kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
  fi
  if [ -d "$dir/pg/data" ]; then
    as_pg_owner "$(pg_bin)/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [DIR] | stop DIR" >&2; exit 2 ;;
esac
