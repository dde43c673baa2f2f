"""An operator's protection on a position, placed with Bybit's official Python SDK (pybit), as a
person would beside a running bot: a long of 0.012 BTC, a stop-loss on the position
(/v5/position/trading-stop) and a conditional reduce-only sell (triggerPrice). Both wait on the
mark price, far enough away that no test's market move reaches them.
Usage: python3 operator_protection.py HOST:PORT KEY SECRET"""
import sys

from pybit.unified_trading import HTTP

addr, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
http = HTTP(testnet=False, api_key=key, api_secret=secret)
http.endpoint = f"http://{addr}"

http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.012")
last = float(http.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]["lastPrice"])
http.set_trading_stop(category="linear", symbol="BTCUSDT", stopLoss=f"{last * 0.8:.1f}", slTriggerBy="MarkPrice",
                      tpslMode="Full", positionIdx=0)
http.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Market", qty="0.012",
                 triggerPrice=f"{last * 0.85:.1f}", triggerDirection=2, triggerBy="MarkPrice", reduceOnly=True,
                 orderLinkId="operator-guard")
kinds = {f: len(http.get_open_orders(category="linear", symbol="BTCUSDT", orderFilter=f)["result"]["list"])
         for f in ("StopOrder", "tpslOrder")}
assert kinds == {"StopOrder": 1, "tpslOrder": 1}, kinds
print("protected", kinds)
