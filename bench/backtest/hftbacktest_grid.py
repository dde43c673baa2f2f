"""hftbacktest 2.4.4 on a recording in the market-data format (its own collector's format): its
Bybit converter, then two one-level strategies, one lot a side, with the risk-averse queue model,
a constant 10 ms order latency each way and its no-partial-fill exchange:
- `grid`, for speed: hftbacktest's own way — look every 100 ms, cancel what moved, submit anew;
- `paced`, for agreement: mmbot's quoting loop (wake on each feed row, requote at most every
  100 ms, amend what moved), so that what differs is the engines, not the strategies.
Prints the times, events/s and fill counts; writes the paced run's fills (time, side, price) for
bench/backtest/run.sh to match one by one against mmbot's backtest of the same file.
Usage: python hftbacktest_grid.py FILE.gz OUT.json"""
import json
import sys
import time

import numpy as np
from numba import njit

from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest, BUY, GTX, LIMIT, NEW, FILLED
from hftbacktest.order import CANCELED, EXPIRED
from hftbacktest.data.utils import bybit

path, out = sys.argv[1], sys.argv[2]
t = time.time()
data = bybit.convert_depth(path, single_depth_level=bybit.BybitDepthLevel.LEVEL_50)
convert_s = time.time() - t

MAX_FILLS = 200_000


@njit
def grid(hbt):
    """hftbacktest's own way: every 100 ms, cancel what is off the touch and submit anew."""
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
    return 0


@njit
def paced(hbt, fills, pace_ns, half_bps):
    """mmbot's quoting loop, for agreement: it wakes on each feed row and order response, as the
    Strategy hears the public and private streams. A change of the top (price or size) or a fill
    asks for quotes; they go at once when the last went `pace_ns` ago or more, else when the pace
    ends. Quotes: floor(mid - half) and ceil(mid + half), kept inside the touch (compute_quotes).
    An order with a request in flight gets no second one; one that moved is modified (an amend,
    which in hftbacktest re-queues it as bybit-sim does); one that is gone is created again."""
    n = 0
    last_emit = -(1 << 62)
    due = 0
    top_b, top_bq, top_a, top_aq = 0, 0.0, 0, 0.0
    want_b, want_a = 0, 0
    ids = np.zeros(2, np.int64)
    amending = np.zeros(2, np.bool_)
    next_id = 1
    while True:
        now = hbt.current_timestamp
        wait = due - now if due > 0 else 60_000_000_000
        if hbt.wait_next_feed(True, max(wait, 1)) == 1:
            break
        now = hbt.current_timestamp
        depth = hbt.depth(0)
        b, a = depth.best_bid_tick, depth.best_ask_tick
        bq, aq = depth.best_bid_qty, depth.best_ask_qty
        trigger = False
        if b > 0 and a > b and (b != top_b or bq != top_bq or a != top_a or aq != top_aq):
            top_b, top_bq, top_a, top_aq = b, bq, a, aq
            trigger = True
        refill = False
        orders = hbt.orders(0)
        values = orders.values()
        while values.has_next():
            o = values.get()
            s = 0 if o.side == BUY else 1
            if o.status == FILLED:
                if n < fills.shape[0]:
                    fills[n, 0] = o.exch_timestamp
                    fills[n, 1] = o.price
                    fills[n, 2] = 1.0 if o.side == BUY else -1.0
                n += 1
                trigger = True
                # An amend that meets a filled order is answered "not found": the plan runs again.
                if ids[s] == o.order_id and amending[s]:
                    refill = True
            if o.status == FILLED or o.status == CANCELED or o.status == EXPIRED:
                if ids[s] == o.order_id:
                    ids[s] = 0
                    amending[s] = False
            elif o.cancellable and ids[s] == o.order_id:
                amending[s] = False
        hbt.clear_inactive_orders(0)
        emit = False
        if due > 0 and now >= due:
            due = 0
            emit = True
        elif trigger:
            if now - last_emit >= pace_ns:
                emit = True
            elif due == 0:
                due = last_emit + pace_ns
        if emit and top_b > 0:
            last_emit = now
            mid = (top_b + top_a) / 2.0
            half = mid * half_bps * 1e-4
            want_b = min(int(np.floor(mid - half + 1e-9)), top_a - 1)
            want_a = max(int(np.ceil(mid + half - 1e-9)), top_b + 1)
        if (emit or refill) and want_b > 0:
            for s in range(2):
                want = want_b if s == 0 else want_a
                if ids[s] == 0:
                    ids[s] = next_id
                    next_id += 1
                    if s == 0:
                        hbt.submit_buy_order(0, ids[s], want * depth.tick_size, 0.001, GTX, LIMIT, False)
                    else:
                        hbt.submit_sell_order(0, ids[s], want * depth.tick_size, 0.001, GTX, LIMIT, False)
                else:
                    o = orders.get(np.uint64(ids[s]))
                    if o is not None and o.cancellable and o.price_tick != want:
                        hbt.modify(0, ids[s], want * depth.tick_size, 0.001, False)
                        amending[s] = True
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


# Each run is timed REPEATS times (a shared VM's wall times move ±30 %): the fastest and the median.
REPEATS = 5

t = time.time()
grid(backtest())  # the JIT compile, on the same data
first_s = time.time() - t
run_times = []
for _ in range(REPEATS):
    hbt = backtest()
    t = time.time()
    grid(hbt)
    run_times.append(time.time() - t)
    grid_fills = int(hbt.state_values(0).num_trades)
    hbt.close()
run_s, run_median_s = min(run_times), float(np.median(run_times))

# Agreement: the quoting loop timed as mmbot's (100 ms pace, 0.01 bps half-spread floor).
paced(backtest(), np.zeros((1, 3)), 100_000_000, 0.01)  # its JIT compile
paced_times = []
for _ in range(REPEATS):
    hbt = backtest()
    pfills = np.zeros((MAX_FILLS, 3))
    t = time.time()
    pn = paced(hbt, pfills, 100_000_000, 0.01)
    paced_times.append(time.time() - t)
    paced_count = int(hbt.state_values(0).num_trades)
    hbt.close()
paced_s, paced_median_s = min(paced_times), float(np.median(paced_times))
with open(out + ".paced-fills.csv", "w") as f:
    f.write("time_ms,side,price\n")
    for ts, price, side in pfills[: min(pn, MAX_FILLS)]:
        # exch_timestamp is ns as an int64; the float array keeps it to ~256 ns, well under 1 ms.
        f.write(f"{int(round(ts / 1e6))},{'Buy' if side > 0 else 'Sell'},{price:.1f}\n")
result = {
    "rows": int(len(data)),
    "convert_s": round(convert_s, 2),
    "jit_and_first_run_s": round(first_s, 2),
    "run_s": round(run_s, 2),
    "run_median_s": round(run_median_s, 2),
    "events_per_s": int(len(data) / run_s),
    "grid_fills": grid_fills,
    "paced_fills": paced_count,
    "paced_run_s": round(paced_s, 2),
    "paced_run_median_s": round(paced_median_s, 2),
    "paced_fills_file": out + ".paced-fills.csv",
}
json.dump(result, open(out, "w"))
print(json.dumps(result))
