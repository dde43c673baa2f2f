#!/usr/bin/env bash
# High availability: randomized handovers between two release mmbot processes on one account of a
# bybit-sim, a real etcd (Debian's etcd-server) between them — SIGTERM, SIGKILL, the active's link
# to etcd cut, etcd killed and restarted after 0–6 s. Prints, per action, how long the book was
# empty (the old run's last order closed → the new run's first order resting) and how long after
# the action quoting resumed, p50 / p90 / max; fails on any moment with two runs' orders resting
# (tests/ha_trials.rs; docs/benchmarks.md).
#   bench/ha.sh [TRIALS=100] [SEED] [RTT_MS=0]   (RTT: every exchange answer delayed by it)
set -euo pipefail
cd "$(dirname "$0")/.."
export MMBOT_HA_TRIALS="${1:-100}"
if [ -n "${2:-}" ]; then export MMBOT_HA_SEED="$2"; fi
export MMBOT_HA_RTT_MS="${3:-0}"
cargo test --release --test ha_trials -- --nocapture 2>&1 | grep -vE '^\s*(Compiling|Finished|Running)'
