#!/usr/bin/env bash
# Order entry by REST vs by the trade WebSocket at 0/10/50 ms simulated latency
# (examples/order_entry.rs): round trips through mmbot's clients, then the release binary with
# each transport (startup to full quotes, SIGTERM to flat and exit). Prints markdown tables.
#   bench/order_entry.sh [ROUNDS_AT_0MS=300]
# BENCH_CONNECTOR_THREAD=main puts the binary's exchange connector on the main thread (default: market).
# BENCH_BUSY_POLL=1 makes the binary's market thread busy-poll ([market_thread] busy_poll).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mmbot --example order_entry >/dev/null
MMBOT_BIN=${MMBOT_BIN:-target/release/mmbot} target/release/examples/order_entry "${1:-300}"
