"""Bybit's official Python SDK (pybit) against bybit-sim, unmodified: only its endpoint is
pointed at the simulator. Usage: pip install pybit websocket-client; python3 pybit_check.py HOST:PORT KEY SECRET
Checks instruments, book, post-only place/amend/cancel/cancel-all, open orders, the private
order stream, DCP, and placing/cancelling over the trade WebSocket."""
import logging
import sys
import threading
import time

import pybit.unified_trading as unified
from pybit.unified_trading import HTTP, WebSocket

addr, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
# pybit's own account of a failed connect, auth or subscription, on stderr if the check fails.
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
# pybit signs a WebSocket auth valid for 1 s by default; on a loaded machine its background
# thread can send it later than that. The window is a client option, not a change to it.
AUTH_EXPIRE_S = 10
http = HTTP(testnet=False, api_key=key, api_secret=secret)
http.endpoint = f"http://{addr}"

info = http.get_instruments_info(category="linear", symbol="BTCUSDT")["result"]["list"][0]
tick = float(info["priceFilter"]["tickSize"])
book = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=5)["result"]
bid = float(book["b"][0][0])
price = f"{bid - 50 * tick:.1f}"

updates = []
unified.PRIVATE_WSS = f"ws://{addr}/v5/private"  # the documented URL template, pointed here


def order_stream():
    stream = WebSocket(testnet=False, channel_type="private", api_key=key, api_secret=secret,
                       private_auth_expire=AUTH_EXPIRE_S)
    stream.order_stream(callback=lambda m: updates.append(m))
    return stream


ws = order_stream()
time.sleep(1.5)  # pybit subscribes in the background

r = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001",
                     price=price, timeInForce="PostOnly", orderLinkId="pybit-1", positionIdx=0)
oid = r["result"]["orderId"]
http.amend_order(category="linear", symbol="BTCUSDT", orderId=oid, price=f"{bid - 60 * tick:.1f}")
http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001",
                 price=price, timeInForce="PostOnly", orderLinkId="pybit-2")
open_ = http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
assert len(open_) == 2, open_
http.cancel_order(category="linear", symbol="BTCUSDT", orderLinkId="pybit-2")
http.cancel_all_orders(category="linear", symbol="BTCUSDT")
# Cancel-all is asynchronous (as on Bybit): the orders leave the book a moment after the answer.
for _ in range(40):
    left = http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
    if not left:
        break
    time.sleep(0.05)
assert left == [], left
http.set_dcp(timeWindow=10, product="DERIVATIVES")
# pybit sends a subscription before it records it: when the answer comes first (loopback, a busy
# machine) its handler fails on the unknown req_id and the connection ends ("goodbye") for good.
# That is the client's race, not the exchange's: a new stream is opened, up to three in all.
for attempt in range(3):
    deadline = time.time() + 10
    while not any(u.get("topic") == "order" for u in updates) and time.time() < deadline:
        # One more order event, in case the subscription was still on its way.
        http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001",
                         price=price, timeInForce="PostOnly")
        http.cancel_all_orders(category="linear", symbol="BTCUSDT")
        time.sleep(0.5)
    if any(u.get("topic") == "order" for u in updates) or attempt == 2:
        break
    print(f"no order update in 10 s on private stream {attempt + 1}: a new one", file=sys.stderr)
    ws.exit()
    ws = order_stream()
assert any(u.get("topic") == "order" for u in updates), updates
# The trade WebSocket: place and cancel over /v5/trade, answers routed by reqId.
import pybit._websocket_trading as trading
from pybit.unified_trading import WebSocketTrading

trading.TRADE_WSS = f"ws://{addr}/v5/trade"  # the documented URL template, pointed here
answers, errors = [], []
trade = WebSocketTrading(testnet=False, api_key=key, api_secret=secret, private_auth_expire=AUTH_EXPIRE_S)
trade.place_order(answers.append, errors.append, category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                  qty="0.001", price=price, timeInForce="PostOnly", orderLinkId="pybit-ws-1")
deadline = time.time() + 10
while not (answers or errors) and time.time() < deadline:
    time.sleep(0.05)
assert answers and answers[0]["retCode"] == 0 and answers[0]["data"]["orderLinkId"] == "pybit-ws-1", (answers, errors)
trade.cancel_order(answers.append, errors.append, category="linear", symbol="BTCUSDT", orderLinkId="pybit-ws-1")
while len(answers) < 2 and not errors and time.time() < deadline:
    time.sleep(0.05)
assert len(answers) == 2 and answers[1]["op"] == "order.cancel", (answers, errors)
trade.exit()
print(f"pybit OK: instruments, book, place/amend/cancel/cancel-all, open orders, DCP, trade WebSocket place/cancel; "
      f"{len(updates)} order updates on the private stream")
ws.exit()
