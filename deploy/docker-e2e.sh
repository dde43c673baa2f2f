#!/usr/bin/env bash
# Container end to end, against real containers:
#   1. compose: `up --wait` (both services healthy: the sim by its own probe), resting orders,
#      `compose stop`, exit 0 and zero orders on the exchange;
#   2. Docker's default grace: `docker stop` without -t (10 s) — a healthy shutdown fits in it;
#   3. a bind-mounted /data the container's uid 10001 cannot write: the bot refuses to start and
#      says how to fix it; after `chown 10001` it runs.
# Needs a running Docker daemon (else SKIPPED). Without registry access it builds its base image
# from Debian packages (debootstrap, from this machine's own apt mirror) and the host's binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1; then
  echo "SKIPPED container e2e: no Docker daemon (install docker.io and start dockerd to run it)"
  exit 0
fi

tag=mmbot:local
name=mmbot-e2e-$$
net=$name-net
bind_dir=""
cleanup() {
  docker rm -f "$name-bot" "$name-sim" "$name-bind" >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  [ -n "${compose[*]:-}" ] && "${compose[@]}" -p "$name" down -v >/dev/null 2>&1 || true
  [ -n "$bind_dir" ] && rm -rf "$bind_dir"
}
trap cleanup EXIT

# The first Debian archive in this machine's apt sources (one-line or deb822 format).
apt_mirror() {
  {
    sed -E 's/\[[^]]*\]//' /etc/apt/sources.list 2>/dev/null | awk '$1 == "deb" && $3 !~ /security/ { print $2 }'
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -e "$f" ] && awk '/^URIs:/ { u = $2 } /^Suites:/ && !/security/ { print u }' "$f"
    done
  } | grep -v security | head -1
}

build_args=()
if ! docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
  base=mmbot-base:bookworm
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    mirror=$(apt_mirror)
    [ -n "$mirror" ] || { echo "FAIL: no Debian mirror in /etc/apt/sources.list*"; exit 1; }
    echo "no registry: building $base from Debian packages ($mirror)"
    command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
    rootfs=$(mktemp -d)
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
    rm -rf "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
    rm -rf "$rootfs"
  fi
  cargo build --release -p mmbot -p bybit-sim --bins
  build_args=(--build-arg "BUILDER=$base" --build-arg "BASE=$base" --build-arg PREBUILT=1)
fi
docker build -q "${build_args[@]}" -t "$tag" . >/dev/null

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
open_orders() { curl -s "http://127.0.0.1:$1/sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accounts"][0]["open_orders"])'; }
wait_orders() { # port, container (for its logs)
  local n=0
  for _ in $(seq 1 150); do
    n=$(open_orders "$1" 2>/dev/null || echo 0)
    [ "$n" -ge 24 ] && break
    sleep 0.2
  done
  echo "resting orders: $n"
  [ "$n" -ge 24 ] || { docker logs "$2" 2>&1 | tail -20; echo "FAIL: the bot did not quote"; exit 1; }
}
health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1"; }

# ---- 1. compose --------------------------------------------------------------------------------
compose=()
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
fi
if [ ${#compose[@]} -eq 0 ]; then
  echo "SKIPPED compose: neither 'docker compose' nor docker-compose is installed"
else
  export SIM_PORT MMBOT_PORT
  SIM_PORT=$(free_port)
  MMBOT_PORT=$(free_port)
  if [ "${compose[*]}" = "docker compose" ]; then
    "${compose[@]}" -p "$name" up -d --no-build --wait
  else
    # Compose v1 has no --wait: the same check by hand, both services healthy.
    "${compose[@]}" -p "$name" up -d --no-build
    for _ in $(seq 1 120); do
      s=$(health "$("${compose[@]}" -p "$name" ps -q sim)"); b=$(health "$("${compose[@]}" -p "$name" ps -q bot)")
      [ "$s" = healthy ] && [ "$b" = healthy ] && break
      [ "$s" = unhealthy ] || [ "$b" = unhealthy ] && break
      sleep 0.5
    done
  fi
  sim_c=$("${compose[@]}" -p "$name" ps -q sim)
  bot_c=$("${compose[@]}" -p "$name" ps -q bot)
  echo "compose up: sim $(health "$sim_c"), bot $(health "$bot_c")"
  [ "$(health "$sim_c")" = healthy ] && [ "$(health "$bot_c")" = healthy ] || { echo "FAIL: compose services not healthy"; exit 1; }
  wait_orders "$SIM_PORT" "$bot_c"
  "${compose[@]}" -p "$name" stop bot >/dev/null 2>&1
  code=$(docker inspect -f '{{.State.ExitCode}}' "$bot_c")
  left=$(open_orders "$SIM_PORT")
  echo "compose stop: exit code $code; orders left on the exchange: $left"
  [ "$code" = 0 ] && [ "$left" = 0 ] || { docker logs "$bot_c" 2>&1 | tail -20; echo "FAIL compose"; exit 1; }
  "${compose[@]}" -p "$name" down -v >/dev/null 2>&1
  echo "PASS compose"
fi

# ---- 2. docker stop with Docker's default grace (10 s) -----------------------------------------
docker network create "$net" >/dev/null
docker run -d --name "$name-sim" --network "$net" -p 127.0.0.1::8090 \
  -e BYBIT_SIM_API_KEY=k -e BYBIT_SIM_API_SECRET=s \
  --entrypoint /usr/local/bin/bybit-sim "$tag" --listen 0.0.0.0:8090 --order-rate-limit 100 >/dev/null
sim_port=$(docker port "$name-sim" 8090/tcp | head -1 | sed 's/.*://')
bot_env=(-e MMBOT_REST_URL="http://$name-sim:8090"
  -e MMBOT_WS_PUBLIC_URL="ws://$name-sim:8090/v5/public/linear"
  -e MMBOT_WS_PRIVATE_URL="ws://$name-sim:8090/v5/private"
  -e MMBOT_API_KEY=k -e MMBOT_API_SECRET=s -e MMBOT_CONTROL_TOKEN=e2e-container-token)
docker run -d --name "$name-bot" --network "$net" -p 127.0.0.1::8080 "${bot_env[@]}" "$tag" >/dev/null
wait_orders "$sim_port" "$name-bot"
start=$(date +%s.%N)
docker stop "$name-bot" >/dev/null # no -t: Docker's default 10 s before SIGKILL
took=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")
code=$(docker inspect -f '{{.State.ExitCode}}' "$name-bot")
left=$(open_orders "$sim_port")
echo "docker stop (default grace 10 s) took ${took}s; exit code $code (137 would be SIGKILL); orders left: $left"
docker logs "$name-bot" 2>&1 | grep -E 'shutdown step [a-z_]+: |finished in' | tail -8 || true
[ "$code" = 0 ] && [ "$left" = 0 ] || { echo "FAIL default grace"; exit 1; }
python3 -c "import sys; sys.exit(0 if $took < 10 else 1)" || { echo "FAIL: the stop did not fit in 10 s"; exit 1; }
echo "PASS default grace"

# ---- 3. a bind-mounted /data the container's uid cannot write ---------------------------------
bind_dir=$(mktemp -d)
chmod 755 "$bind_dir" # owned by this host user, as a fresh host directory is
docker run -d --name "$name-bind" --network "$net" -v "$bind_dir:/data" "${bot_env[@]}" "$tag" >/dev/null
timeout 60 docker wait "$name-bind" >/dev/null || { echo "FAIL: the bot ran on an unwritable /data"; exit 1; }
code=$(docker inspect -f '{{.State.ExitCode}}' "$name-bind")
hint=$(docker logs "$name-bind" 2>&1 | grep -c 'not writable by uid 10001' || true)
echo "bind mount owned by $(stat -c %u "$bind_dir"): exit code $code; hint lines: $hint"
[ "$code" = 1 ] && [ "$hint" -ge 1 ] || { docker logs "$name-bind" 2>&1 | tail -5; echo "FAIL bind-mount detection"; exit 1; }
docker rm -f "$name-bind" >/dev/null
chown 10001 "$bind_dir"
docker run -d --name "$name-bind" --network "$net" -v "$bind_dir:/data" "${bot_env[@]}" "$tag" >/dev/null
wait_orders "$sim_port" "$name-bind"
docker stop "$name-bind" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$name-bind")
[ "$code" = 0 ] && [ -s "$bind_dir/last-shutdown.json" ] || { echo "FAIL after chown: exit $code"; exit 1; }
echo "PASS bind mount (refused with a hint, then ran after chown 10001)"
echo "PASS container e2e"
