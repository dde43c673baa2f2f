//! Conditional orders and a position's TP/SL through the REST API: they wait off the book,
//! `orderFilter` tells them apart on the listing and on cancel-all (omitted: every kind is
//! cancelled, as Bybit documents), and a price that reaches them runs them.

use std::time::Duration;

use bybit_sim::testkit::{Admin, Client};
use bybit_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};

fn sim() -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.market.trade_probability = 0.0;
    cfg.market.volatility_bps = 0.0;
    bybit_sim::spawn(cfg).expect("sim starts")
}

fn client(sim: &SimHandle) -> Client {
    Client::new(&sim.rest_url(), "sim-key", "sim-secret")
}

async fn post(c: &Client, path: &str, body: Value) -> Value {
    let a = c.post(path, &body.to_string()).await.unwrap();
    assert_eq!(a.ret_code(), 0, "{path} {body}: {:?}", a.body);
    a.body["result"].clone()
}

async fn listed(c: &Client, filter: &str) -> Vec<Value> {
    let q = format!("category=linear&symbol=BTCUSDT{filter}");
    let a = c.get("/v5/order/realtime", &q).await.unwrap();
    assert_eq!(a.ret_code(), 0, "{:?}", a.body);
    a.body["result"]["list"].as_array().unwrap().clone()
}

async fn last_price(c: &Client) -> f64 {
    let a = c.public("/v5/market/tickers", "category=linear&symbol=BTCUSDT").await.unwrap();
    a.body["result"]["list"][0]["lastPrice"].as_str().unwrap().parse().unwrap()
}

/// A long of 0.01 BTC, a stop-loss 20 % under it, a conditional reduce-only sell 15 % under it,
/// (both on the mark price) and one post-only bid 25 % under: one order of each kind.
async fn one_of_each(c: &Client) -> f64 {
    post(
        c,
        "/v5/order/create",
        json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.01"}),
    )
    .await;
    let last = last_price(c).await;
    post(c, "/v5/position/trading-stop", json!({"category": "linear", "symbol": "BTCUSDT", "stopLoss": format!("{:.1}", last * 0.8), "slTriggerBy": "MarkPrice", "tpslMode": "Full", "positionIdx": 0})).await;
    post(c, "/v5/order/create", json!({"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Market", "qty": "0.01",
        "triggerPrice": format!("{:.1}", last * 0.85), "triggerDirection": 2, "triggerBy": "MarkPrice", "reduceOnly": true, "orderLinkId": "guard-1"})).await;
    post(
        c,
        "/v5/order/create",
        json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
        "price": format!("{:.1}", last * 0.75), "timeInForce": "PostOnly", "orderLinkId": "quote-1"}),
    )
    .await;
    last
}

#[actix_rt::test]
async fn order_filter_separates_the_kinds_on_the_listing_and_on_cancel_all() {
    let sim = sim();
    let c = client(&sim);
    one_of_each(&c).await;
    assert_eq!(listed(&c, "").await.len(), 3, "every kind by default");
    let active = listed(&c, "&orderFilter=Order").await;
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["orderLinkId"], "quote-1");
    let stops = listed(&c, "&orderFilter=StopOrder").await;
    assert_eq!((stops.len(), stops[0]["orderStatus"].as_str()), (1, Some("Untriggered")));
    assert_eq!(stops[0]["stopOrderType"], "Stop");
    let tpsl = listed(&c, "&orderFilter=tpslOrder").await;
    assert_eq!((tpsl.len(), tpsl[0]["stopOrderType"].as_str()), (1, Some("StopLoss")));
    let pos = c.get("/v5/position/list", "category=linear&symbol=BTCUSDT").await.unwrap();
    assert_eq!(
        pos.body["result"]["list"][0]["stopLoss"], tpsl[0]["triggerPrice"],
        "the row shows its stop-loss"
    );

    let r = post(
        &c,
        "/v5/order/cancel-all",
        json!({"category": "linear", "symbol": "BTCUSDT", "orderFilter": "Order"}),
    )
    .await;
    assert_eq!(r["list"].as_array().unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(listed(&c, "").await.len(), 2, "the stop-loss and the conditional stay");

    post(&c, "/v5/order/cancel-all", json!({"category": "linear", "symbol": "BTCUSDT"})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(listed(&c, "").await.is_empty(), "omitted: every kind is cancelled");
    let pos = c.get("/v5/position/list", "category=linear&symbol=BTCUSDT").await.unwrap();
    assert_eq!(pos.body["result"]["list"][0]["stopLoss"], "");
}

#[actix_rt::test]
async fn a_price_that_reaches_a_stop_runs_it_and_a_flat_position_deactivates_its_tpsl() {
    let sim = sim();
    let c = client(&sim);
    one_of_each(&c).await;
    // The market falls 16 %: the conditional sell (15 % under) runs and closes the long; the
    // stop-loss (20 % under) is left with no position and deactivates.
    Admin::new(&sim.rest_url()).shock("BTCUSDT", -1_600.0).await;
    let mut size = String::new();
    for _ in 0..50 {
        let pos = c.get("/v5/position/list", "category=linear&symbol=BTCUSDT").await.unwrap();
        size = pos.body["result"]["list"][0]["size"].as_str().unwrap_or("").to_string();
        if size.parse::<f64>().unwrap_or(1.0) == 0.0 && listed(&c, "&orderFilter=tpslOrder").await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(size.parse::<f64>().unwrap(), 0.0, "the triggered conditional closed the long");
    assert!(listed(&c, "&orderFilter=tpslOrder").await.is_empty(), "no position, no stop-loss");
    let h = c
        .get("/v5/order/history", "category=linear&symbol=BTCUSDT&orderLinkId=guard-1")
        .await
        .unwrap();
    assert_eq!(h.body["result"]["list"][0]["orderStatus"], "Filled", "{:?}", h.body);
}
