#!/usr/bin/env bash
# Soak: paper trading for DURATION seconds with SIGTERM + restart every RESTART seconds.
#   bench/soak.sh [DURATION=1800] [RESTART=180] [SAMPLE=2]
# Prints a markdown summary; writes target/soak.csv and target/soak.png (matplotlib from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin mmbot --example soak >/dev/null
MMBOT_BIN=target/release/mmbot target/release/examples/soak "${1:-1800}" "${2:-180}" "${3:-2}" target/soak.csv
if python3 -c "import matplotlib" 2>/dev/null || pip install --quiet matplotlib >/dev/null 2>&1; then
  python3 bench/plot_soak.py target/soak.csv target/soak.png && echo "plot: target/soak.png"
else
  echo "matplotlib unavailable: no plot (the CSV is in target/soak.csv)"
fi
