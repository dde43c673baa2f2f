#!/usr/bin/env bash
# The backtest against hftbacktest 2.4.4 on the same synthetic day of BTCUSDT (~1 M orderbook.50
# deltas, ~1 M trades): speed (first run from the raw .gz; a run from the parsed data, against
# hftbacktest's own 100 ms grid) and agreement (fill count, fills matched one by one against
# hftbacktest running mmbot's quoting loop) — risk-averse queue, 10 ms latency each way, one-lot
# orders, no budget limit. Runs from parsed data are timed five times each: the fastest and the
# median. The same day is also run with the quoting taken out (bench/backtest/market_only.toml: the
# Strategy never quotes), which splits the run's time into the engine's market side (read, book,
# venue, collector, the bot woken on every top change) and what quoting and order handling add.
# The cached runs are timed whole and by the engine's own time (the report's wall_ms), the
# latter the figure that compares with hftbacktest's (its strategy function alone).
# Prints one JSON object; docs/benchmarks.md records it.
# Usage: bench/backtest/run.sh [HOURS]   (24 by default; 2 for a quick look)
set -euo pipefail
cd "$(dirname "$0")/../.."
hours="${1:-24}"
dir=target/bench-backtest
mkdir -p "$dir"
cargo build --release --quiet --bin mmbot --example synthetic_day
data="$dir/day-${hours}h.gz"
[ -f "$data" ] || ./target/release/examples/synthetic_day "$data" --hours "$hours"
if ! "$dir/venv/bin/python" -c "import hftbacktest" 2>/dev/null; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check hftbacktest==2.4.4
fi
"$dir/venv/bin/python" bench/backtest/hftbacktest_grid.py "$data" "$dir/hftbacktest.json" >/dev/null
rm -f "$(dirname "$data")"/.day-"${hours}"h.gz.*.mmbt
run() {
  local start end
  start=$(date +%s%N)
  # Its log is kept aside (the market-only run warns that it does not quote), shown if it fails.
  ./target/release/mmbot backtest --config "bench/backtest/${1:-one_level}.toml" --data "$data" \
    --report "$dir/mmbot${1:+-$1}.json" --fills "$dir/mmbot${1:+-$1}-fills.csv" >/dev/null 2>"$dir/run.log" ||
    { cat "$dir/run.log" >&2; exit 1; }
  end=$(date +%s%N)
  # The whole process's milliseconds, and the engine's own (the report's wall_ms: from opening
  # the tape to the report built; no process start or exit, no file written).
  echo "$(( (end - start) / 1000000 )):$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['wall_ms'])" "$dir/mmbot${1:+-$1}.json")"
}
cold=$(run | cut -d: -f1)
# From the cache, five times (as hftbacktest's runs): the fastest and the median; then the
# market side alone, as many times.
warm=$(for _ in 1 2 3 4 5; do run; done | tr '\n' ' ')
market=$(for _ in 1 2 3 4 5; do run market_only; done | tr '\n' ' ')
python3 - "$dir" "$cold" "$warm" "$market" <<'PY'
import bisect, csv, json, statistics, sys
d, cold = sys.argv[1], float(sys.argv[2]) / 1000
warm_runs = [float(x.split(":")[0]) / 1000 for x in sys.argv[3].split()]
warm, warm_median = min(warm_runs), statistics.median(warm_runs)
engine_runs = [float(x.split(":")[1]) / 1000 for x in sys.argv[3].split()]
engine, engine_median = min(engine_runs), statistics.median(engine_runs)
market_runs = [float(x.split(":")[0]) / 1000 for x in sys.argv[4].split()]
market, market_median = min(market_runs), statistics.median(market_runs)
assert json.load(open(f"{d}/mmbot-market_only.json"))["fills"] == 0, "the market-only run quoted"
h = json.load(open(f"{d}/hftbacktest.json"))
m = json.load(open(f"{d}/mmbot.json"))
ours = [(int(r["time_ms"]), r["side"], round(float(r["price"]), 1)) for r in csv.DictReader(open(f"{d}/mmbot-fills.csv"))]
theirs = sorted((int(r["time_ms"]), r["side"], round(float(r["price"]), 1)) for r in csv.DictReader(open(h["paced_fills_file"])))
# A fill of ours matches one of theirs on the same side and price within 3 ms (mmbot times book
# frames by cts, hftbacktest by ts: 2 ms apart in this file), each of theirs used once.
used, matched = set(), 0
for t, side, price in sorted(ours):
    i = bisect.bisect_left(theirs, (t - 3,))
    while i < len(theirs) and theirs[i][0] <= t + 3:
        if i not in used and theirs[i][1:] == (side, price):
            used.add(i)
            matched += 1
            break
        i += 1
events = m["events"]
hbt_first = h["convert_s"] + h["jit_and_first_run_s"]
print(json.dumps({
    "events": events,
    "hftbacktest": {"convert_s": h["convert_s"], "jit_and_first_run_s": h["jit_and_first_run_s"], "run_s": h["run_s"],
                    "run_median_s": h["run_median_s"], "frames_per_s": int(events / h["run_s"]), "rows_per_s": h["events_per_s"],
                    "paced_run_s": h["paced_run_s"], "paced_run_median_s": h["paced_run_median_s"],
                    "grid_fills": h["grid_fills"], "paced_fills": h["paced_fills"]},
    "mmbot": {"first_run_s": round(cold, 2), "cached_run_s": round(warm, 2), "cached_run_median_s": round(warm_median, 2),
              "events_per_s": int(events / warm), "fills": m["fills"],
              # The engine's own time (the report's wall_ms), as hftbacktest's run time is its
              # strategy function's alone: the process's start, exit and file writes left out.
              "engine_s": round(engine, 2), "engine_median_s": round(engine_median, 2)},
    "first_run_speedup": round(hbt_first / cold, 2),
    # Fastest against fastest, and median against median: hftbacktest's grid, then its run of mmbot's loop.
    "run_speed_ratio": round(h["run_s"] / warm, 3),
    "run_speed_ratio_median": round(h["run_median_s"] / warm_median, 3),
    "paced_speed_ratio": round(h["paced_run_s"] / warm, 3),
    "engine_speed_ratio": round(h["run_s"] / engine, 3),
    "engine_speed_ratio_median": round(h["run_median_s"] / engine_median, 3),
    # The run split: the engine's market side alone (no quote ever sent), and what quoting and
    # order handling add to it; the market side's speed against hftbacktest's whole grid run.
    "market_side_s": round(market, 2), "market_side_median_s": round(market_median, 2),
    "quoting_and_orders_s": round(warm - market, 2),
    "market_side_speed_ratio": round(h["run_s"] / market, 3),
    "fill_count_difference_pct": round(100.0 * (m["fills"] - h["paced_fills"]) / max(h["paced_fills"], 1), 2),
    "fills_matched": f"{matched} of {len(ours)} ours, {len(theirs)} theirs",
    "fills_matched_pct": round(100.0 * matched / max(len(ours), 1), 2),
}, indent=1))
PY
