"""pybit's and ccxt's order books on a replaying bybit-sim, each read while the market stands
still, with the exchange time the simulator reports. Usage: pip install pybit ccxt;
python3 replay_books.py HOST:PORT KEY SECRET SYMBOL SAMPLES
Prints one JSON line per sample: {"time_ms", "ended", "pybit": {"b", "a"}, "ccxt": {"b", "a"}}."""
import json
import sys
import time
import urllib.request

import ccxt
from pybit.unified_trading import HTTP

addr, key, secret, symbol, samples = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
http = HTTP(testnet=False, api_key=key, api_secret=secret)
http.endpoint = f"http://{addr}"
ex = ccxt.bybit({"apiKey": key, "secret": secret, "enableRateLimit": False})
ex.urls["api"] = {k: f"http://{addr}" for k in ex.urls["api"]}
ex.load_markets()
unified = symbol.replace("USDT", "/USDT:USDT")


def sim(method, path):
    req = urllib.request.Request(f"http://{addr}/sim/{path}", method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


for _ in range(samples):
    sim("POST", "market?paused=true")
    market = sim("GET", "market")
    pb = http.get_orderbook(category="linear", symbol=symbol, limit=200)["result"]
    cc = ex.fetch_order_book(unified, 200)
    sim("POST", "market?paused=false")
    print(json.dumps({
        "time_ms": market["time_ms"],
        "ended": market["ended"],
        "pybit": {"b": pb["b"], "a": pb["a"]},
        "ccxt": {"b": [[repr(p), repr(q)] for p, q, *_ in cc["bids"]], "a": [[repr(p), repr(q)] for p, q, *_ in cc["asks"]]},
    }), flush=True)
    time.sleep(0.6)
