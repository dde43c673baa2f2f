#!/usr/bin/env bash
# Quoting under Bybit's default rate budget, measured from the exchange's side (examples/quote_budget.rs).
#   bench/quote_budget.sh [SECONDS=60] [LEVELS=8] [VOLATILITY_BPS=2] [PAPER_SECONDS=600]
# Prints two markdown tables: the bot against a bybit-sim at Bybit's budgets, and the default
# paper run (config/default.toml) read through mmbot's own /metrics. PAPER_SECONDS=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mmbot --example quote_budget >/dev/null
echo "| scenario | order requests/s | units refused (10006) | amends that changed nothing | centre–last p50 (bps) | p95 (bps) | IP 403s | exit |"
echo "|---|---|---|---|---|---|---|---|"
MMBOT_BIN=${MMBOT_BIN:-target/release/mmbot} target/release/examples/quote_budget sim "${1:-60}" "${2:-8}" "${3:-2}"
if [ "${4:-600}" != 0 ]; then
  echo
  echo "| scenario | order requests/s | rate-limit rejections | WARN lines | exit |"
  echo "|---|---|---|---|---|"
  MMBOT_BIN=${MMBOT_BIN:-target/release/mmbot} target/release/examples/quote_budget paper "${4:-600}"
fi
