#!/usr/bin/env bash
# The backtest against the real binary on the same recording: `mmbot run` paper-trading a
# bybit-sim replay of a synthetic recording in real time, and `mmbot backtest` of the same file
# with the same config; then `mmbot report --compare` of the two. Loopback only.
# Usage: bench/backtest/agreement.sh [MINUTES]   (5 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes="${1:-5}"
dir=target/bench-agreement
rm -rf "$dir" && mkdir -p "$dir/data"
cargo build --release --quiet --bin mmbot --example synthetic_day
cargo build --release --quiet -p bybit-sim
data="$dir/rec.gz"
./target/release/examples/synthetic_day "$data" --hours "$(python3 -c "print($minutes/60)")" --seed 2
./target/release/bybit-sim --listen 127.0.0.1:0 --market replay --replay "$data" --symbols BTCUSDT \
  --queue-model risk_averse --feed-latency-ms 10 --order-latency-ms 10 \
  --order-rate-limit 100000 --read-rate-limit 100000 --ip-rate-limit 10000000 >"$dir/sim.out" 2>"$dir/sim.err" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening "$dir/sim.out" && break; sleep 0.1; done
addr=$(sed -n 's/bybit-sim listening on //p' "$dir/sim.out")
cat bench/backtest/one_level.toml >"$dir/run.toml"
cat >>"$dir/run.toml" <<TOML
[recorder]
dir = "$dir/data"
market = true
[control]
listen = "127.0.0.1:0"
TOML
sed -i "s|^mode = \"paper\"|mode = \"paper\"|" "$dir/run.toml"
MMBOT_API_KEY=sim-key MMBOT_API_SECRET=sim-secret MMBOT_CONTROL_TOKEN=t ./target/release/mmbot run --config "$dir/run.toml" \
  --rest-url "http://$addr" --ws-public-url "ws://$addr/v5/public/linear" --ws-private-url "ws://$addr/v5/private" \
  --ws-trade-url "ws://$addr/v5/trade" >"$dir/bot.out" 2>"$dir/bot.err" &
bot=$!
until curl -sf "http://$addr/sim/market" | grep -q '"ended":true'; do sleep 1; done
kill -TERM $bot; wait $bot || true
events=$(ls "$dir"/data/events-*.jsonl)
./target/release/mmbot report "$events" --report "$dir/paper.json" >/dev/null
./target/release/mmbot backtest --config bench/backtest/one_level.toml --data "$data" --report "$dir/backtest.json" >/dev/null
./target/release/mmbot report --compare "$dir/paper.json" "$dir/backtest.json"
