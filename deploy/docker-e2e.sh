#!/usr/bin/env bash
# Container end to end: build the image, start bybit-sim and mmbot (paper) in containers, wait for
# resting orders, `docker stop` the bot, and check exit code 0 and zero orders on the exchange.
# Needs a running Docker daemon. Without registry access it builds its base image locally from
# Debian packages (debootstrap) and the binaries on the host.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1; then
  echo "SKIPPED container e2e: no Docker daemon (install docker.io and start dockerd to run it)"
  exit 0
fi

tag=mmbot:e2e
name=mmbot-e2e-$$
net=$name-net
cleanup() {
  docker rm -f "$name-bot" "$name-sim" >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
}
trap cleanup EXIT

build_args=()
if ! docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
  base=mmbot-base:bookworm
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    echo "no registry: building $base from Debian packages"
    command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
    rootfs=$(mktemp -d)
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    rm -rf "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
    rm -rf "$rootfs"
  fi
  cargo build --release -p mmbot -p bybit-sim --bins
  build_args=(--build-arg "BUILDER=$base" --build-arg "BASE=$base" --build-arg PREBUILT=1)
fi
docker build -q "${build_args[@]}" -t "$tag" . >/dev/null

docker network create "$net" >/dev/null
docker run -d --name "$name-sim" --network "$net" -p 127.0.0.1::8090 \
  -e BYBIT_SIM_API_KEY=k -e BYBIT_SIM_API_SECRET=s \
  --entrypoint /usr/local/bin/bybit-sim "$tag" --listen 0.0.0.0:8090 --order-rate-limit 100 >/dev/null
sim_port=$(docker port "$name-sim" 8090/tcp | head -1 | sed 's/.*://')
docker run -d --name "$name-bot" --network "$net" -p 127.0.0.1::8080 \
  -e MMBOT_REST_URL="http://$name-sim:8090" \
  -e MMBOT_WS_PUBLIC_URL="ws://$name-sim:8090/v5/public/linear" \
  -e MMBOT_WS_PRIVATE_URL="ws://$name-sim:8090/v5/private" \
  -e MMBOT_API_KEY=k -e MMBOT_API_SECRET=s -e MMBOT_CONTROL_TOKEN=e2e-container-token \
  "$tag" >/dev/null

open_orders() { curl -s "http://127.0.0.1:$sim_port/sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accounts"][0]["open_orders"])'; }
for _ in $(seq 1 150); do
  n=$(open_orders 2>/dev/null || echo 0)
  [ "$n" -ge 24 ] && break
  sleep 0.2
done
echo "resting orders before docker stop: $n"
[ "$n" -ge 24 ] || { docker logs "$name-bot" | tail -20; echo "FAIL: the bot did not quote"; exit 1; }

health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name-bot")
start=$(date +%s.%N)
docker stop -t 60 "$name-bot" >/dev/null
took=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")
code=$(docker inspect -f '{{.State.ExitCode}}' "$name-bot")
left=$(open_orders)
echo "docker stop took ${took}s; exit code $code; orders left on the exchange: $left; health was: ${health:-n/a}"
docker logs "$name-bot" 2>&1 | grep -E 'shutdown step [a-z_]+: |finished in' | tail -8 || true
[ "$code" = 0 ] && [ "$left" = 0 ] || { echo "FAIL"; exit 1; }
echo "PASS container e2e"
