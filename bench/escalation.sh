#!/usr/bin/env bash
# Escalation: 24 orders on one symbol at Bybit's default budget, SIGTERM while cancel-all is
# healthy / hangs / answers 502 / answers 10006, at a simulated round trip of 0 and 50 ms; prints
# SIGTERM → flat (the exchange's view), → verified flat (the order step), → exit, p50 / max
# (examples/escalation.rs; docs/benchmarks.md).
#   bench/escalation.sh [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mmbot --example escalation >/dev/null
MMBOT_BIN=${MMBOT_BIN:-target/release/mmbot} target/release/examples/escalation "${1:-5}"
