#!/usr/bin/env bash
# Whether two builds of mmbot give the same backtest, byte for byte: the report JSON (but
# `wall_ms`), the fills CSV and the chart, on a spread of configs — the one-level grid on the
# synthetic day, several levels under the default budget (deferrals), Avellaneda–Stoikov with a
# drawdown limit and a power-law queue, no latency at all, and three symbols of the shared real
# captures. For a change meant to make the backtest faster without changing what it says.
# Usage: bench/backtest/same_report.sh OLD_MMBOT NEW_MMBOT   (e.g. a copy of target/release/mmbot
# built before the change, and the one after). Prints each case's wall times; exits 1 on a difference.
set -euo pipefail
cd "$(dirname "$0")/../.."
old="$(realpath "$1")" new="$(realpath "$2")"
dir=target/bench-same-report
mkdir -p "$dir/captures"
cargo build --release --quiet --example synthetic_day
[ -f "$dir/day-2h.gz" ] || ./target/release/examples/synthetic_day "$dir/day-2h.gz" --hours 2 >/dev/null 2>&1
[ -f target/bench-backtest/day-24h.gz ] || ./target/release/examples/synthetic_day target/bench-backtest/day-24h.gz --hours 24 >/dev/null 2>&1
if [ ! -d "$dir/captures/SOLUSDT" ]; then
  "$new" import --from cryptofeed --out "$dir/captures" \
    ../shared/market-data/cryptofeed-bybit-btcusdt-ethusdt.jsonl.zst \
    ../shared/market-data/cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst >/dev/null
fi
cat >"$dir/levels.toml" <<'EOF'
mode = "paper"
symbols = ["BTCUSDT"]
[strategy]
levels = 4
spread_bps = 0.01
level_step_bps = 0.2
order_notional = 100
inventory_skew_bps = 2
min_requote_ms = 100
[risk]
max_position_notional = 100000
[paper]
queue_model = "risk_averse"
order_latency_ms = 15
feed_latency_ms = 5
EOF
cat >"$dir/avellaneda.toml" <<'EOF'
mode = "paper"
symbols = ["BTCUSDT"]
[strategy]
model = "avellaneda"
levels = 3
spread_bps = 0.2
level_step_bps = 0.5
order_notional = 200
min_requote_ms = 50
[risk]
max_drawdown = 20
[exchange.rate_limits]
orders_per_sec = 20
[paper]
queue_model = "prob_power:2"
order_latency_ms = 5
feed_latency_ms = 3
EOF
cat >"$dir/three.toml" <<'EOF'
mode = "paper"
symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
[strategy]
levels = 2
spread_bps = 0.5
level_step_bps = 1
order_notional = 50
min_requote_ms = 200
[strategy.symbols.ETHUSDT]
model = "avellaneda"
[paper]
queue_model = "risk_averse"
order_latency_ms = 20
feed_latency_ms = 10
EOF
differ=0
case_() {
  local name=$1 cfg=$2; shift 2
  for build in old new; do
    local bin=$old out="$dir/$build/$name"
    [ "$build" = new ] && bin=$new
    mkdir -p "$dir/$build"
    if ! "$bin" backtest --config "$cfg" --report "$out.json" --fills "$out.csv" --chart "$out.svg" "$@" >"$out.out" 2>"$out.err"; then
      echo "$name: the $build build failed:" >&2
      cat "$out.err" >&2
      exit 1
    fi
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.pop('wall_ms')); json.dump(d, open(sys.argv[1] + '.same', 'w'), sort_keys=True)" "$out.json" >"$out.ms"
  done
  local a="$dir/old/$name" b="$dir/new/$name" verdict=same
  cmp -s "$a.json.same" "$b.json.same" && cmp -s "$a.csv" "$b.csv" && cmp -s "$a.svg" "$b.svg" || { verdict=DIFFERENT; differ=1; }
  echo "$name: $verdict (wall ms: old $(cat "$a.ms"), new $(cat "$b.ms"))"
}
case_ one-level-day bench/backtest/one_level.toml --data target/bench-backtest/day-24h.gz
case_ levels-budget "$dir/levels.toml" --data "$dir/day-2h.gz"
case_ avellaneda "$dir/avellaneda.toml" --data "$dir/day-2h.gz"
case_ no-latency "$dir/levels.toml" --data "$dir/day-2h.gz" --latency-ms 1 --feed-latency-ms 0 --queue-model prob_power:3
case_ three-captures "$dir/three.toml" --data "$dir"/captures/{BTCUSDT,ETHUSDT,SOLUSDT}/*.gz
exit $differ
