#!/usr/bin/env bash
# Account soak: random private-stream gaps and withheld pushes while the market fills the bot;
# counts position mismatches at the end of every disturbance plus its bound (must be 0).
#   bench/account_soak.sh [DURATION=1800] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mmbot --example account_soak >/dev/null
MMBOT_BIN=target/release/mmbot target/release/examples/account_soak "${1:-1800}" ${2:+"$2"}
