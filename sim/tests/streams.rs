//! The WebSocket streams through a real client: public book (snapshot, deltas with u+1, applied
//! to a local book), pongs, req_id echo; private auth, order/execution updates, and DCP.

use std::collections::BTreeMap;
use std::time::Duration;

use bybit_sim::testkit::{ws_auth, ws_connect, ws_next, ws_send, Client};
use bybit_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};

fn sim(active: bool) -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.limits.orders_per_sec = 1000;
    if !active {
        cfg.market.trade_probability = 0.0;
        cfg.market.volatility_bps = 0.0;
    } else {
        cfg.tick = Duration::from_millis(20);
    }
    bybit_sim::spawn(cfg).expect("sim starts")
}

fn apply(book: &mut BTreeMap<String, String>, levels: &Value) {
    for l in levels.as_array().unwrap() {
        let (p, s) = (l[0].as_str().unwrap().to_string(), l[1].as_str().unwrap().to_string());
        if s.parse::<f64>().unwrap() == 0.0 {
            assert!(book.remove(&p).is_some(), "delete of a level never sent: {p}");
        } else {
            book.insert(p, s);
        }
    }
}

#[actix_rt::test]
async fn public_book_snapshot_then_contiguous_deltas() {
    let sim = sim(true);
    let mut ws = ws_connect(&sim.ws_public_url()).await.unwrap();
    ws_send(
        &mut ws,
        &json!({"op":"subscribe","req_id":"sub-1","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT","tickers.BTCUSDT"]}),
    )
    .await
    .unwrap();
    let ack = ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (ack["success"].as_bool(), ack["req_id"].as_str(), ack["op"].as_str()),
        (Some(true), Some("sub-1"), Some("subscribe"))
    );
    let mut bids = BTreeMap::new();
    let mut asks = BTreeMap::new();
    let mut last_u = None;
    let (mut deltas, mut trades, mut tickers) = (0, 0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        let Some(m) = ws_next(&mut ws, Duration::from_secs(2)).await else {
            break;
        };
        let topic = m["topic"].as_str().unwrap_or("");
        if topic == "orderbook.50.BTCUSDT" {
            let u = m["data"]["u"].as_u64().unwrap();
            match m["type"].as_str().unwrap() {
                "snapshot" => {
                    assert!(last_u.is_none(), "one snapshot, first");
                    bids.clear();
                    asks.clear();
                }
                "delta" => {
                    assert_eq!(Some(u), last_u.map(|x: u64| x + 1), "u rises by exactly one");
                    deltas += 1;
                }
                t => panic!("type {t}"),
            }
            apply(&mut bids, &m["data"]["b"]);
            apply(&mut asks, &m["data"]["a"]);
            last_u = Some(u);
            let best_bid = bids.keys().map(|p| p.parse::<f64>().unwrap()).fold(f64::MIN, f64::max);
            let best_ask = asks.keys().map(|p| p.parse::<f64>().unwrap()).fold(f64::MAX, f64::min);
            assert!(best_bid < best_ask, "local book never crosses");
            assert!(bids.len() <= 50 && asks.len() <= 50);
        } else if topic.starts_with("publicTrade") {
            trades += 1;
        } else if topic.starts_with("tickers") {
            assert!(m["data"].is_object());
            tickers += 1;
        }
    }
    assert!(deltas > 20, "deltas flow: {deltas}");
    assert!(trades > 0 && tickers > 0, "trades {trades}, tickers {tickers}");
    // Public pong: op "ping", ret_msg "pong", req_id echoed with its JSON type.
    ws_send(&mut ws, &json!({"op":"ping","req_id":7})).await.unwrap();
    loop {
        let m = ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
        if m["ret_msg"] == "pong" {
            assert_eq!((m["op"].as_str(), m["req_id"].as_i64()), (Some("ping"), Some(7)));
            break;
        }
    }
    ws_send(&mut ws, &json!({"op":"subscribe","req_id":"bad","args":["orderbook.7.BTCUSDT"]}))
        .await
        .unwrap();
    loop {
        let m = ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
        if m["req_id"] == "bad" {
            assert_eq!(m["success"], false);
            break;
        }
    }
}

#[actix_rt::test]
async fn private_stream_auth_and_order_updates() {
    let sim = sim(false);
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret");
    let mut ws = ws_connect(&sim.ws_private_url()).await.unwrap();
    // Subscribing before auth is refused.
    ws_send(&mut ws, &json!({"op":"subscribe","args":["order"]})).await.unwrap();
    assert_eq!(ws_next(&mut ws, Duration::from_secs(5)).await.unwrap()["success"], false);
    // Wrong secret is refused; the right one accepted, with `expires` as a string this time.
    let bad = ws_auth(&mut ws, "sim-key", "wrong").await.unwrap();
    assert_eq!(bad["success"], false);
    let expires = bybit_sim::exchange::now_ms() + 10_000;
    let sig = bybit_v5::sign::sign_ws_auth("sim-secret", expires);
    // Subscribe sent right after auth, before its answer, as pybit does.
    ws_send(
        &mut ws,
        &json!({"op":"auth","req_id":"a1","args":["sim-key", expires.to_string(), sig]}),
    )
    .await
    .unwrap();
    ws_send(
        &mut ws,
        &json!({"op":"subscribe","req_id":"s1","args":["order","execution","position","wallet"]}),
    )
    .await
    .unwrap();
    let auth = ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (auth["success"].as_bool(), auth["op"].as_str(), auth["req_id"].as_str()),
        (Some(true), Some("auth"), Some("a1"))
    );
    assert_eq!(ws_next(&mut ws, Duration::from_secs(5)).await.unwrap()["success"], true);
    let ob = c
        .public("/v5/market/orderbook", "category=linear&symbol=BTCUSDT&limit=1")
        .await
        .unwrap();
    let bid: f64 = ob.body["result"]["b"][0][0].as_str().unwrap().parse().unwrap();
    let body = json!({"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.010","price":format!("{:.1}", bid + 0.1),"timeInForce":"PostOnly","orderLinkId":"ws-1"}).to_string();
    assert_eq!(c.post("/v5/order/create", &body).await.unwrap().ret_code(), 0);
    let m = ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (
            m["topic"].as_str(),
            m["data"][0]["orderStatus"].as_str(),
            m["data"][0]["orderLinkId"].as_str()
        ),
        (Some("order"), Some("New"), Some("ws-1"))
    );
    awc::Client::new()
        .post(format!("{}/sim/trade", sim.rest_url()))
        .send_json(&json!({"symbol":"BTCUSDT","side":"Sell","qty":"0.010"}))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Some(m) = ws_next(&mut ws, Duration::from_millis(500)).await {
        seen.push(m["topic"].as_str().unwrap_or("").to_string());
        if m["topic"] == "order" {
            assert_eq!(m["data"][0]["orderStatus"], "Filled");
        }
    }
    for t in ["order", "execution", "position", "wallet"] {
        assert!(seen.iter().any(|s| s == t), "{t} in {seen:?}");
    }
    ws_send(&mut ws, &json!({"op":"ping","req_id":"p"})).await.unwrap();
    let pong = ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!((pong["op"].as_str(), pong["req_id"].as_str()), (Some("pong"), Some("p")));
    assert!(pong["args"][0].as_str().unwrap().parse::<u64>().is_ok());
}

async fn place_quotes(c: &Client, n: usize, prefix: &str) {
    let ob = c
        .public("/v5/market/orderbook", "category=linear&symbol=BTCUSDT&limit=1")
        .await
        .unwrap();
    let bid: f64 = ob.body["result"]["b"][0][0].as_str().unwrap().parse().unwrap();
    for i in 0..n {
        let body = json!({"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":format!("{:.1}", bid - 5.0 - i as f64),"timeInForce":"PostOnly","orderLinkId":format!("{prefix}{i}")}).to_string();
        assert_eq!(c.post("/v5/order/create", &body).await.unwrap().ret_code(), 0);
    }
}

#[actix_rt::test]
async fn dcp_cancels_orders_after_the_private_connection_is_gone() {
    let sim = sim(false);
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret");
    assert_eq!(
        c.post("/v5/order/disconnected-cancel-all", r#"{"timeWindow":2}"#)
            .await
            .unwrap()
            .ret_code(),
        10001,
        "window below 3 s is refused"
    );
    assert_eq!(
        c.post("/v5/order/disconnected-cancel-all", r#"{"timeWindow":3,"product":"DERIVATIVES"}"#)
            .await
            .unwrap()
            .ret_code(),
        0
    );
    let mut ws = ws_connect(&sim.ws_private_url()).await.unwrap();
    assert_eq!(ws_auth(&mut ws, "sim-key", "sim-secret").await.unwrap()["success"], true);
    ws_send(&mut ws, &json!({"op":"subscribe","args":["dcp.future","order"]}))
        .await
        .unwrap();
    assert_eq!(ws_next(&mut ws, Duration::from_secs(5)).await.unwrap()["success"], true);
    place_quotes(&c, 5, "dcp-").await;
    // While the connection is alive (a ping every second), DCP stays quiet past the window.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(900)).await;
        ws_send(&mut ws, &json!({"op": "ping"})).await.unwrap();
    }
    assert_eq!(c.open_orders("BTCUSDT").await.unwrap().len(), 5);
    drop(ws);
    let gone_at = std::time::Instant::now();
    let mut left = 5;
    while gone_at.elapsed() < Duration::from_secs(10) {
        left = c.open_orders("BTCUSDT").await.unwrap().len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "DCP cancelled everything");
    assert!(
        gone_at.elapsed() >= Duration::from_millis(2900),
        "not before the window: {:?}",
        gone_at.elapsed()
    );
    let h = c.get("/v5/order/history", "category=linear&symbol=BTCUSDT").await.unwrap();
    assert!(h.body["result"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["cancelType"] == "CancelByDCP"));
    let info = c.get("/v5/account/query-dcp-info", "").await.unwrap();
    assert_eq!(info.body["result"]["dcpInfos"][0]["timeWindow"], "3");
}

#[actix_rt::test]
async fn dcp_fires_for_a_connection_that_stays_open_but_goes_silent() {
    let sim = sim(false);
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret");
    c.post("/v5/order/disconnected-cancel-all", r#"{"timeWindow":3}"#).await.unwrap();
    let mut ws = ws_connect(&sim.ws_private_url()).await.unwrap();
    ws_auth(&mut ws, "sim-key", "sim-secret").await.unwrap();
    ws_send(&mut ws, &json!({"op":"subscribe","args":["dcp.future","order"]}))
        .await
        .unwrap();
    ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
    place_quotes(&c, 3, "frozen-").await;
    // A frozen client: the TCP connection stays open, nothing is sent. Bybit fires all the same.
    let silent_at = std::time::Instant::now();
    let mut left = 3;
    while silent_at.elapsed() < Duration::from_secs(10) {
        left = c.open_orders("BTCUSDT").await.unwrap().len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "DCP fired with the connection open");
    assert!(silent_at.elapsed() >= Duration::from_millis(2900), "not before the window");
    // The cancels are pushed on the socket that is still open.
    let mut cancelled_by_dcp = false;
    while let Some(m) = ws_next(&mut ws, Duration::from_secs(2)).await {
        if m["topic"] == "order"
            && m["data"]
                .as_array()
                .is_some_and(|d| d.iter().any(|o| o["cancelType"] == "CancelByDCP"))
        {
            cancelled_by_dcp = true;
            break;
        }
    }
    assert!(cancelled_by_dcp, "CancelByDCP pushed on the open socket");
}

#[actix_rt::test]
async fn dcp_is_not_armed_by_connections_without_a_dcp_topic() {
    let sim = sim(false);
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret");
    assert_eq!(
        c.post("/v5/order/disconnected-cancel-all", r#"{"timeWindow":3,"product":"DERIVATIVES"}"#)
            .await
            .unwrap()
            .ret_code(),
        0
    );
    let mut ws = ws_connect(&sim.ws_private_url()).await.unwrap();
    ws_auth(&mut ws, "sim-key", "sim-secret").await.unwrap();
    ws_send(&mut ws, &json!({"op":"subscribe","args":["order"]})).await.unwrap();
    ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
    place_quotes(&c, 2, "nodcp-").await;
    drop(ws);
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert_eq!(c.open_orders("BTCUSDT").await.unwrap().len(), 2);
}
