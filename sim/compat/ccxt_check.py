"""ccxt (a general-purpose trading library) against bybit-sim, unmodified: only its API URLs are
pointed at the simulator. Usage: pip install ccxt; python3 ccxt_check.py HOST:PORT KEY SECRET
Loads markets (all categories, with the calls ccxt makes before trading), reads the book, places
post-only orders, edits, cancels one, cancels all, lists open orders."""
import sys

import time

import ccxt

addr, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
ex = ccxt.bybit({"apiKey": key, "secret": secret, "enableRateLimit": False})
ex.urls["api"] = {k: f"http://{addr}" for k in ex.urls["api"]}
ex.load_markets()
m = ex.market("BTC/USDT:USDT")
book = ex.fetch_order_book("BTC/USDT:USDT", 5)
bid = book["bids"][0][0]
o1 = ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.001, bid - 50, {"postOnly": True, "clientOrderId": "ccxt-1"})
o2 = ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.001, bid - 60, {"postOnly": True, "clientOrderId": "ccxt-2"})
ex.edit_order(o1["id"], "BTC/USDT:USDT", "limit", "buy", 0.002, bid - 55)
assert len(ex.fetch_open_orders("BTC/USDT:USDT")) == 2
ex.cancel_order(o2["id"], "BTC/USDT:USDT")
ex.cancel_all_orders("BTC/USDT:USDT")
# Cancel-all is asynchronous (as on Bybit): the orders leave the book a moment after the answer.
for _ in range(40):
    left = ex.fetch_open_orders("BTC/USDT:USDT")
    if not left:
        break
    time.sleep(0.05)
assert left == [], left
bal = ex.fetch_balance()
print(f"ccxt {ccxt.__version__} OK: {len(ex.markets)} markets, book, post-only create, edit, cancel, cancel-all, open orders; USDT total {bal['total'].get('USDT')}")
