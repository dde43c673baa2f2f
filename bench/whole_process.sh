#!/usr/bin/env bash
# Whole-process benchmarks on this machine: builds release binaries, then prints markdown tables.
#   bench/whole_process.sh [SOAK_SECONDS=30] [TICK_SECONDS=10]
#   BENCH_ONLY=flat,deadline,tick,throughput,memory selects sections; BENCH_BUSY_POLL=1 makes the
#   market thread busy-poll ([market_thread] busy_poll; BENCH_REHEARSE_EVERY_US=0 without its
#   rehearsals); BENCH_CONNECTOR_THREAD=main
#   puts the exchange connector on the main thread (default: market).
# A one-hour memory run: bench/whole_process.sh 3600
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mmbot --example whole_process >/dev/null
MMBOT_BIN=target/release/mmbot target/release/examples/whole_process "${1:-30}" "${2:-10}"
