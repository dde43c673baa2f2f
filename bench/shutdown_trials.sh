#!/usr/bin/env bash
# Randomized shutdown trials and SIGKILL trials, any number, in release mode; prints a table.
#   bench/shutdown_trials.sh [TRIALS] [KILL_TRIALS] [SEED] [ORDER_ENTRY=mixed|rest|websocket]
set -euo pipefail
cd "$(dirname "$0")/.."
export MMBOT_TRIALS="${1:-200}" MMBOT_KILL_TRIALS="${2:-10}"
[ -n "${3:-}" ] && export MMBOT_TRIALS_SEED="$3"
[ -n "${4:-}" ] && export MMBOT_TRIALS_ORDER_ENTRY="$4"
cargo test --release --test shutdown_trials -- --nocapture --test-threads 1 2>&1 | tee target/shutdown_trials.log | grep -E "^(seed|order entry|market thread|trial|kill trial|\\|)|panicked|left orders|FAILED"
