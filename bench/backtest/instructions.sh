#!/usr/bin/env bash
# Instructions a backtest takes, counted by valgrind (callgrind): within 0.5 % run to run, where
# wall times on a shared VM move ±15–30 %. For a speed change to the backtest or the quoting code:
# count the build before and the build after. The 2 h synthetic day, the one-level grid, read from
# its cache (a first run makes the cache, uncounted). Prints each build's count and the ratio;
# `callgrind_annotate --inclusive=yes target/bench-instructions/<n>.out` says where they went.
# Usage: bench/backtest/instructions.sh MMBOT [MMBOT...]   (needs valgrind: apt-get install valgrind)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
dir=target/bench-instructions
mkdir -p "$dir"
data=target/bench-same-report/day-2h.gz
cargo build --release --quiet --example synthetic_day
[ -f "$data" ] || { mkdir -p "$(dirname "$data")"; ./target/release/examples/synthetic_day "$data" --hours 2 >/dev/null 2>&1; }
first=""
n=0
for bin in "$@"; do
  n=$((n + 1))
  args=(backtest --config bench/backtest/one_level.toml --data "$data" --report "$dir/$n.json" --fills "$dir/$n.csv")
  "$bin" "${args[@]}" >/dev/null
  count=$(valgrind --tool=callgrind --callgrind-out-file="$dir/$n.out" "$bin" "${args[@]}" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
  first=${first:-$count}
  echo "$bin: $count instructions ($(python3 -c "print(f'{$count / $first:.3f}')")× the first) -> $dir/$n.out"
done
