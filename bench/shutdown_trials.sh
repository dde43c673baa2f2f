#!/usr/bin/env bash
# Randomized shutdown trials and SIGKILL trials, any number, in release mode; prints a table.
#   bench/shutdown_trials.sh [TRIALS] [KILL_TRIALS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
export MMBOT_TRIALS="${1:-200}" MMBOT_KILL_TRIALS="${2:-10}"
[ -n "${3:-}" ] && export MMBOT_TRIALS_SEED="$3"
cargo test --release --test shutdown_trials -- --nocapture --test-threads 1 2>&1 | tee target/shutdown_trials.log | grep -E "^(seed|trial|kill trial|\\|)|panicked|left orders|FAILED"
