#!/usr/bin/env bash
# Scale: 20 symbols × 25 levels a side (1000 orders) under a PRO-like budget (100 order units/s
# per endpoint) and Bybit's default (10/s), with cancel_scope "symbol" and "account" (or the one
# named: "own" too), measured from the exchange's side (examples/scale.rs). On stderr: each run's
# order-step report and the requests the exchange received per second after SIGTERM;
# SCALE_KEEP=1 keeps each run's directory, SCALE_LOG=info the bot's log in it;
# BENCH_CONNECTOR_THREAD=main puts the exchange connector on the main thread (default: market);
# BENCH_BUSY_POLL=1 makes the market thread busy-poll ([market_thread] busy_poll);
# SCALE_RTT_MS=50 adds a 50 ms round trip to every request (set before the start).
#   bench/scale.sh [STEADY_SECONDS=30] [FULL_QUOTES_LIMIT_SECONDS=240] [pro|default|""] [symbol|account|own]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mmbot --example scale >/dev/null
MMBOT_BIN=${MMBOT_BIN:-target/release/mmbot} target/release/examples/scale "${1:-30}" "${2:-240}" "${3:-}" ${4:-}
