"""hftbacktest 2.4.4 on a recording in the market-data format (its own collector's format): its
Bybit converter, then a one-level grid — a bid at the best bid and an ask at the best ask, one
lot each, requoted at most every 100 ms — with the risk-averse queue model, a constant 10 ms
order latency each way, and its no-partial-fill exchange. Prints the times, events/s, fills and
the fill prices (for bench/backtest/run.sh to hold against mmbot's backtest of the same file).
Usage: python hftbacktest_grid.py FILE.gz OUT.json"""
import json
import sys
import time

import numpy as np
from numba import njit

from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest, BUY, SELL, GTX, LIMIT, NEW, FILLED
from hftbacktest.data.utils import bybit

path, out = sys.argv[1], sys.argv[2]
t = time.time()
data = bybit.convert_depth(path, single_depth_level=bybit.BybitDepthLevel.LEVEL_50)
convert_s = time.time() - t

MAX_FILLS = 200_000


@njit
def grid(hbt, fills):
    n = 0
    last_bid = 0.0
    last_ask = 0.0
    while hbt.elapse(100_000_000) == 0:
        depth = hbt.depth(0)
        bid_tick, ask_tick = depth.best_bid_tick, depth.best_ask_tick
        if bid_tick <= 0 or ask_tick <= bid_tick:
            continue
        orders = hbt.orders(0)
        values = orders.values()
        have_bid = False
        have_ask = False
        while values.has_next():
            o = values.get()
            if o.status == FILLED:
                if n < fills.shape[0]:
                    fills[n, 0] = o.exch_timestamp
                    fills[n, 1] = o.price
                    fills[n, 2] = 1.0 if o.side == BUY else -1.0
                n += 1
                continue
            if o.status != NEW or o.cancellable is False:
                continue
            if o.side == BUY:
                if o.price_tick == bid_tick:
                    have_bid = True
                else:
                    hbt.cancel(0, o.order_id, False)
            else:
                if o.price_tick == ask_tick:
                    have_ask = True
                else:
                    hbt.cancel(0, o.order_id, False)
        hbt.clear_inactive_orders(0)
        if not have_bid and not orders.__contains__(np.uint64(bid_tick)):
            hbt.submit_buy_order(0, bid_tick, bid_tick * depth.tick_size, 0.001, GTX, LIMIT, False)
        if not have_ask and not orders.__contains__(np.uint64(ask_tick)):
            hbt.submit_sell_order(0, ask_tick, ask_tick * depth.tick_size, 0.001, GTX, LIMIT, False)
    return n


def backtest():
    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(10_000_000, 10_000_000)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0002, 0.00055)
        .tick_size(0.1)
        .lot_size(0.001)
        .last_trades_capacity(0)
    )
    return HashMapMarketDepthBacktest([asset])


fills = np.zeros((MAX_FILLS, 3))
t = time.time()
grid(backtest(), np.zeros((1, 3)))  # the JIT compile, on the same data
first_s = time.time() - t
hbt = backtest()
t = time.time()
n = grid(hbt, fills)
run_s = time.time() - t
state = hbt.state_values(0)
result = {
    "rows": int(len(data)),
    "convert_s": round(convert_s, 2),
    "jit_and_first_run_s": round(first_s, 2),
    "run_s": round(run_s, 2),
    "events_per_s": int(len(data) / run_s),
    "fills": int(state.num_trades),
    "fills_seen": int(n),
    "fill_prices": sorted({round(float(p), 1) for p in fills[: min(n, MAX_FILLS), 1]}),
}
hbt.close()
json.dump(result, open(out, "w"))
print(json.dumps({k: v for k, v in result.items() if k != "fill_prices"}))
