"""Orders placed by pybit into a replaying bybit-sim, resting until the recording ends.
Usage: pip install pybit; python3 replay_orders.py HOST:PORT KEY SECRET SYMBOL
Places post-only buys and sells at the touch and a few ticks behind it, waits for the replay's
end, then prints one JSON object: every order (its id, side, price, qty, createdTime) and every
execution of the account, as the exchange lists them."""
import json
import sys
import time
import urllib.request

from pybit.unified_trading import HTTP

addr, key, secret, symbol = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
http = HTTP(testnet=False, api_key=key, api_secret=secret)
http.endpoint = f"http://{addr}"


def market():
    with urllib.request.urlopen(f"http://{addr}/sim/market", timeout=10) as r:
        return json.loads(r.read())


info = http.get_instruments_info(category="linear", symbol=symbol)["result"]["list"][0]
tick = float(info["priceFilter"]["tickSize"])
decimals = len(info["priceFilter"]["tickSize"].rstrip("0").split(".")[1]) if "." in info["priceFilter"]["tickSize"] else 0
qty = info["lotSizeFilter"]["minOrderQty"]
book = http.get_orderbook(category="linear", symbol=symbol, limit=5)["result"]
bid, ask = float(book["b"][0][0]), float(book["a"][0][0])
placed = 0
for k in [0, 0, 1, 2, 3, 5]:
    for side, price in [("Buy", bid - k * tick), ("Sell", ask + k * tick)]:
        r = http.place_order(category="linear", symbol=symbol, side=side, orderType="Limit", qty=qty,
                             price=f"{price:.{decimals}f}", timeInForce="PostOnly")
        placed += 1
deadline = time.time() + 300
while not market()["ended"] and time.time() < deadline:
    time.sleep(0.5)
assert market()["ended"], "the replay ended"
orders = http.get_order_history(category="linear", symbol=symbol, limit=50)["result"]["list"]
orders += http.get_open_orders(category="linear", symbol=symbol, limit=50)["result"]["list"]
execs = http.get_executions(category="linear", symbol=symbol, limit=100)["result"]["list"]
print(json.dumps({
    "placed": placed,
    "orders": [{k: o[k] for k in ["orderId", "side", "price", "qty", "createdTime", "orderStatus", "cumExecQty"]} for o in orders],
    "executions": [{k: e[k] for k in ["orderId", "execQty", "execPrice", "execTime", "isMaker"]} for e in execs],
}))
