//! The trade WebSocket (`/v5/trade`) through a real client: auth, ping, the six order ops with
//! reqId echo and the rate-limit header, budgets shared with REST, Bybit's error codes, and the
//! hang / drop faults.

use std::time::Duration;

use bybit_sim::testkit::{ws_connect, ws_next, ws_send, Admin, Client, WsConn};
use bybit_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};

fn sim(orders_per_sec: u32) -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.market.trade_probability = 0.0;
    cfg.market.volatility_bps = 0.0;
    cfg.limits.orders_per_sec = orders_per_sec;
    bybit_sim::spawn(cfg).expect("sim starts")
}

fn now_ms() -> u64 {
    bybit_sim::exchange::now_ms()
}

async fn authed(sim: &SimHandle) -> WsConn {
    let mut ws = ws_connect(&sim.ws_trade_url()).await.unwrap();
    let expires = now_ms() + 10_000;
    let sig = bybit_v5::sign::sign_ws_auth("sim-secret", expires);
    // pybit sends expires as an integer and does not wait for the answer.
    ws_send(&mut ws, &json!({"reqId":"auth-1","op":"auth","args":["sim-key", expires, sig]}))
        .await
        .unwrap();
    let a = ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (a["retCode"].as_i64(), a["op"].as_str(), a["reqId"].as_str()),
        (Some(0), Some("auth"), Some("auth-1")),
        "{a}"
    );
    assert!(a["connId"].as_str().is_some_and(|c| !c.is_empty()));
    ws
}

async fn op(ws: &mut WsConn, req_id: &str, op: &str, arg: Value) -> Value {
    let frame = json!({"reqId": req_id, "header": {"X-BAPI-TIMESTAMP": now_ms().to_string(), "X-BAPI-RECV-WINDOW": "5000"}, "op": op, "args": [arg]});
    ws_send(ws, &frame).await.unwrap();
    ws_next(ws, Duration::from_secs(5)).await.expect("an answer")
}

async fn best_bid(sim: &SimHandle) -> f64 {
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret");
    let b = c
        .public("/v5/market/orderbook", "category=linear&symbol=BTCUSDT&limit=1")
        .await
        .unwrap();
    b.body["result"]["b"][0][0].as_str().unwrap().parse().unwrap()
}

fn limit(link: &str, price: f64) -> Value {
    json!({"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.010","price":format!("{price:.1}"),"timeInForce":"PostOnly","orderLinkId":link})
}

#[actix_rt::test]
async fn the_six_order_ops_answer_like_bybit() {
    let sim = sim(1000);
    let bid = best_bid(&sim).await;
    let mut ws = authed(&sim).await;
    ws_send(&mut ws, &json!({"op":"ping","reqId":"p"})).await.unwrap();
    let pong = ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!((pong["op"].as_str(), pong["retCode"].as_i64()), (Some("pong"), Some(0)), "{pong}");

    let a = op(&mut ws, "c-1", "order.create", limit("ws-1", bid - 10.0)).await;
    assert_eq!(
        (a["retCode"].as_i64(), a["op"].as_str(), a["reqId"].as_str()),
        (Some(0), Some("order.create"), Some("c-1")),
        "{a}"
    );
    assert_eq!(a["data"]["orderLinkId"], "ws-1");
    for k in [
        "X-Bapi-Limit",
        "X-Bapi-Limit-Status",
        "X-Bapi-Limit-Reset-Timestamp",
        "Traceid",
        "Timenow",
    ] {
        assert!(a["header"][k].is_string(), "header {k}: {a}");
    }
    let a = op(
        &mut ws,
        "a-1",
        "order.amend",
        json!({"category":"linear","symbol":"BTCUSDT","orderLinkId":"ws-1","price":format!("{:.1}", bid - 11.0)}),
    )
    .await;
    assert_eq!(a["retCode"], 0, "{a}");
    let batch = json!({"category":"linear","request":[limit("ws-2", bid - 12.0), limit("ws-3", bid - 13.0)]});
    let a = op(&mut ws, "cb-1", "order.create-batch", batch).await;
    assert_eq!(a["data"]["list"].as_array().unwrap().len(), 2, "{a}");
    assert_eq!(a["retExtInfo"]["list"][1]["code"], 0);
    let a = op(
        &mut ws,
        "ab-1",
        "order.amend-batch",
        json!({"category":"linear","request":[{"symbol":"BTCUSDT","orderLinkId":"ws-2","price":format!("{:.1}", bid - 14.0)}]}),
    )
    .await;
    assert_eq!(a["retExtInfo"]["list"][0]["code"], 0, "{a}");
    let a = op(
        &mut ws,
        "x-1",
        "order.cancel",
        json!({"category":"linear","symbol":"BTCUSDT","orderLinkId":"ws-1"}),
    )
    .await;
    assert_eq!(a["retCode"], 0, "{a}");
    let a = op(
        &mut ws,
        "xb-1",
        "order.cancel-batch",
        json!({"category":"linear","request":[{"symbol":"BTCUSDT","orderLinkId":"ws-2"},{"symbol":"BTCUSDT","orderLinkId":"ws-3"}]}),
    )
    .await;
    assert_eq!(a["retExtInfo"]["list"].as_array().unwrap().len(), 2, "{a}");
    // The exchange agrees.
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret");
    assert!(c.open_orders("BTCUSDT").await.unwrap().is_empty());

    // Bybit's refusals: a repeated reqId, a stale timestamp, an unknown op.
    let a = op(
        &mut ws,
        "x-1",
        "order.cancel",
        json!({"category":"linear","symbol":"BTCUSDT","orderLinkId":"ws-1"}),
    )
    .await;
    assert_eq!(a["retCode"], 20006, "{a}");
    let stale =
        json!({"reqId":"old","header":{"X-BAPI-TIMESTAMP": now_ms() - 60_000},"op":"order.create","args":[limit("ws-9", bid - 20.0)]});
    ws_send(&mut ws, &stale).await.unwrap();
    assert_eq!(ws_next(&mut ws, Duration::from_secs(5)).await.unwrap()["retCode"], 10002);
    let a = op(&mut ws, "u-1", "order.teleport", json!({})).await;
    assert_eq!(a["retCode"], 10404);
    // Ops before auth are refused.
    let mut anon = ws_connect(&sim.ws_trade_url()).await.unwrap();
    let a = op(&mut anon, "n-1", "order.create", limit("ws-8", bid - 20.0)).await;
    assert_eq!(a["retCode"], 10003, "{a}");
}

#[actix_rt::test]
async fn budgets_are_shared_with_rest() {
    let sim = sim(3);
    let bid = best_bid(&sim).await;
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret");
    let rest_batch = json!({"category":"linear","request":[limit("r-1", bid - 10.0), limit("r-2", bid - 11.0), limit("r-3", bid - 12.0)]});
    let r = c.post("/v5/order/create-batch", &rest_batch.to_string()).await.unwrap();
    assert_eq!(r.header("X-Bapi-Limit-Status"), Some("0"));
    let mut ws = authed(&sim).await;
    // The WebSocket batch spends from the same window: nothing left this second.
    let a = op(
        &mut ws,
        "b-1",
        "order.create-batch",
        json!({"category":"linear","request":[limit("w-1", bid - 13.0)]}),
    )
    .await;
    assert_eq!(a["retCode"], 10006, "{a}");
    assert_eq!(a["header"]["X-Bapi-Limit-Status"], "0");
    // The single endpoint has its own budget.
    let a = op(&mut ws, "s-1", "order.create", limit("w-2", bid - 14.0)).await;
    assert_eq!(a["retCode"], 0, "{a}");
    assert_eq!(a["header"]["X-Bapi-Limit"], "3");
}

#[actix_rt::test]
async fn hang_and_drop_faults() {
    let sim = sim(1000);
    let bid = best_bid(&sim).await;
    let admin = Admin::new(&sim.rest_url());
    let mut ws = authed(&sim).await;
    admin.set_faults(&json!({"hang": ["/v5/trade:order.cancel"]})).await;
    let cancel = json!({"reqId":"h-1","header":{"X-BAPI-TIMESTAMP": now_ms()},"op":"order.cancel","args":[{"category":"linear","symbol":"BTCUSDT","orderLinkId":"none"}]});
    ws_send(&mut ws, &cancel).await.unwrap();
    assert!(
        ws_next(&mut ws, Duration::from_millis(500)).await.is_none(),
        "a hung op is never answered"
    );
    // Other ops on the same socket still answer.
    let a = op(&mut ws, "h-2", "order.create", limit("h-1", bid - 10.0)).await;
    assert_eq!(a["retCode"], 0, "{a}");
    admin.set_faults(&json!({})).await;
    assert!(admin.drop_ws().await >= 1);
    assert!(ws_next(&mut ws, Duration::from_secs(2)).await.is_none(), "the connection is gone");
}
