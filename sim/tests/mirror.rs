//! `bybit-sim --market mirror` following another bybit-sim's public stream (as it would follow
//! Bybit's): with its instruments read from the upstream's REST API, it serves the upstream's
//! book, and an order resting on the mirror fills when the upstream's trades reach it.

#[path = "support/replay.rs"]
#[allow(dead_code)] // the replay tests use the rest
mod replay_support;

use std::time::Duration;

use bybit_sim::testkit::Client;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use replay_support::*;

fn book(sim: &SimProcess) -> Value {
    get(&sim.url("/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=200"))["result"].clone()
}

fn start_pair() -> (SimProcess, SimProcess) {
    let upstream = SimProcess::start(&["--symbols", "BTCUSDT", "--seed", "5", "--trade-probability", "0.3"]);
    let ws = format!("ws://{}/v5/public/linear", upstream.addr);
    let rest = format!("http://{}", upstream.addr);
    let mirror = SimProcess::start(&[
        "--symbols",
        "BTCUSDT",
        "--market",
        "mirror",
        "--mirror-url",
        &ws,
        "--mirror-rest-url",
        &rest,
    ]);
    for _ in 0..100 {
        if !book(&mirror)["b"].as_array().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get(&mirror.url("/sim/market"))["source"], "mirror");
    (upstream, mirror)
}

#[test]
fn a_mirror_serves_the_upstreams_book() {
    let (upstream, mirror) = start_pair();
    for round in 0..3 {
        // The upstream stands still; the mirror has its last update within moments.
        post(&upstream.url("/sim/market?paused=true"));
        std::thread::sleep(Duration::from_millis(600));
        let (want, got) = (book(&upstream), book(&mirror));
        assert!(!want["b"].as_array().unwrap().is_empty());
        assert_eq!(levels(&got["b"]), levels(&want["b"]), "round {round}: bids");
        assert_eq!(levels(&got["a"]), levels(&want["a"]), "round {round}: asks");
        post(&upstream.url("/sim/market?paused=false"));
        std::thread::sleep(Duration::from_millis(700));
    }
    // The instruments are the upstream's.
    let info = get(&mirror.url("/v5/market/instruments-info?category=linear&symbol=BTCUSDT"));
    assert_eq!(info["result"]["list"][0]["priceFilter"]["tickSize"], "0.10");
}

#[actix_rt::test]
async fn an_order_resting_on_the_mirror_fills_when_the_upstreams_trades_reach_it() {
    let (upstream, mirror) = start_pair();
    post(&upstream.url("/sim/market?paused=true"));
    std::thread::sleep(Duration::from_millis(500));
    let b = book(&upstream);
    let best_bid = dec(&b["b"][0][0]);
    let depth: Decimal = b["b"].as_array().unwrap().iter().take(5).map(|l| dec(&l[1])).sum();
    let price = best_bid - "0.2".parse::<Decimal>().unwrap();
    let client = Client::new(&mirror.url(""), "sim-key", "sim-secret");
    let placed = client
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
                    "price": price.to_string(), "timeInForce": "PostOnly"})
            .to_string(),
        )
        .await
        .unwrap();
    assert_eq!(placed.ret_code(), 0, "{:?}", placed.body);
    let open = client.open_orders("BTCUSDT").await.unwrap();
    assert_eq!(open.len(), 1, "resting on the mirror: {open:?}");
    // A seller on the upstream sweeps five levels: its trades go through our bid's price.
    let out = std::process::Command::new("curl")
        .args(["-sf", "-X", "POST", "-H", "Content-Type: application/json", "-d"])
        .arg(json!({"symbol": "BTCUSDT", "side": "Sell", "qty": depth.to_string()}).to_string())
        .arg(upstream.url("/sim/trade"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut execs = Vec::new();
    for _ in 0..50 {
        let a = client.get("/v5/execution/list", "category=linear&symbol=BTCUSDT").await.unwrap();
        execs = a.body["result"]["list"].as_array().cloned().unwrap_or_default();
        if !execs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(execs.len(), 1, "one fill: {execs:?}");
    assert_eq!(dec(&execs[0]["execPrice"]), price, "at the order's own price");
    assert_eq!(execs[0]["isMaker"], true);
    assert!(client.open_orders("BTCUSDT").await.unwrap().is_empty());
    // Our order never moved the upstream: its book has no order of ours.
    let upstream_bid_at_price = book(&upstream)["b"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| dec(&l[0]) == price && dec(&l[1]) == "0.001".parse::<Decimal>().unwrap());
    assert!(!upstream_bid_at_price);
}
