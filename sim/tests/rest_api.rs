//! The REST API through a real HTTP client: signing, every endpoint, pagination, post-only,
//! fills, batches, rate limits and bad input.

use std::time::Duration;

use bybit_sim::testkit::Client;
use bybit_sim::{RateLimits, SimConfig, SimHandle};
use serde_json::{json, Value};

fn sim_with(limits: RateLimits) -> SimHandle {
    // A quiet market: no random trades, so fills happen only when a test makes them.
    let mut cfg = SimConfig {
        limits,
        ..Default::default()
    };
    cfg.market.trade_probability = 0.0;
    cfg.market.volatility_bps = 0.0;
    bybit_sim::spawn(cfg).expect("sim starts")
}

fn sim() -> SimHandle {
    sim_with(RateLimits {
        orders_per_sec: 1000,
        reads_per_sec: 1000,
        ..Default::default()
    })
}

fn client(sim: &SimHandle) -> Client {
    Client::new(&sim.rest_url(), "sim-key", "sim-secret")
}

async fn best(c: &Client, symbol: &str) -> (f64, f64) {
    let a = c
        .public("/v5/market/orderbook", &format!("category=linear&symbol={symbol}&limit=1"))
        .await
        .unwrap();
    let p = |side: &str| a.body["result"][side][0][0].as_str().unwrap().parse::<f64>().unwrap();
    (p("b"), p("a"))
}

fn post_only(link: &str, side: &str, price: &str, qty: &str) -> String {
    json!({"category":"linear","symbol":"BTCUSDT","side":side,"orderType":"Limit","qty":qty,"price":price,"timeInForce":"PostOnly","orderLinkId":link}).to_string()
}

#[actix_rt::test]
async fn signing_is_checked_against_the_raw_bytes() {
    let sim = sim();
    let c = client(&sim);
    // ccxt-style insertion order and pybit-style sorted keys both verify: the raw query is signed.
    assert_eq!(
        c.get("/v5/order/realtime", "symbol=BTCUSDT&category=linear")
            .await
            .unwrap()
            .ret_code(),
        0
    );
    assert_eq!(
        c.get("/v5/order/realtime", "category=linear&limit=50&symbol=BTCUSDT")
            .await
            .unwrap()
            .ret_code(),
        0
    );
    // Spaced (pybit) and compact (ccxt) JSON bodies both verify.
    let spaced = r#"{"category": "linear", "symbol": "BTCUSDT"}"#;
    assert_eq!(c.post("/v5/order/cancel-all", spaced).await.unwrap().ret_code(), 0);
    assert_eq!(
        c.post("/v5/order/cancel-all", r#"{"category":"linear","symbol":"BTCUSDT"}"#)
            .await
            .unwrap()
            .ret_code(),
        0
    );
    // Wrong secret → 10004; unknown key → 10003; stale timestamp → 10002.
    let wrong = Client::new(&sim.rest_url(), "sim-key", "not-the-secret");
    let a = wrong.get("/v5/order/realtime", "category=linear&symbol=BTCUSDT").await.unwrap();
    assert_eq!((a.status, a.ret_code()), (200, 10004));
    let unknown = Client::new(&sim.rest_url(), "who", "sim-secret");
    assert_eq!(
        unknown
            .get("/v5/order/realtime", "category=linear&symbol=BTCUSDT")
            .await
            .unwrap()
            .ret_code(),
        10003
    );
    let stale_ts = bybit_sim::exchange::now_ms() - 60_000;
    let q = "category=linear&symbol=BTCUSDT";
    let mut req = awc::Client::new().get(format!("{}/v5/order/realtime?{q}", sim.rest_url()));
    for h in bybit_v5::sign::rest_headers("sim-key", "sim-secret", stale_ts, "5000", q) {
        req = req.insert_header(h);
    }
    let body: Value = req.send().await.unwrap().json().await.unwrap();
    assert_eq!(body["retCode"], 10002);
    assert!(body["retMsg"].as_str().unwrap().contains("recv_window"));
}

#[actix_rt::test]
async fn market_data_endpoints() {
    let sim = sim();
    let c = client(&sim);
    let t = c.public("/v5/market/time", "").await.unwrap();
    assert_eq!(t.ret_code(), 0);
    assert!(t.body["result"]["timeSecond"].as_str().unwrap().parse::<u64>().unwrap() > 1_600_000_000);
    let i = c.public("/v5/market/instruments-info", "category=linear").await.unwrap();
    assert_eq!(i.body["result"]["category"], "linear");
    let list = i.body["result"]["list"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    let btc = list.iter().find(|x| x["symbol"] == "BTCUSDT").unwrap();
    assert_eq!(btc["priceFilter"]["tickSize"], "0.10");
    assert_eq!(btc["lotSizeFilter"]["qtyStep"], "0.001");
    assert_eq!(btc["lotSizeFilter"]["minOrderQty"], "0.001");
    // Other categories answer with empty lists, as general-purpose libraries need.
    let spot = c.public("/v5/market/instruments-info", "category=spot").await.unwrap();
    assert_eq!((spot.ret_code(), spot.body["result"]["list"].as_array().unwrap().len()), (0, 0));
    let (bid, ask) = best(&c, "BTCUSDT").await;
    assert!(bid < ask);
    let ob = c
        .public("/v5/market/orderbook", "category=linear&symbol=ETHUSDT&limit=50")
        .await
        .unwrap();
    assert_eq!(ob.body["result"]["b"].as_array().unwrap().len(), 50);
    let tk = c.public("/v5/market/tickers", "category=linear&symbol=BTCUSDT").await.unwrap();
    assert_eq!(tk.body["result"]["list"][0]["symbol"], "BTCUSDT");
    for path in [
        "/v5/account/wallet-balance?accountType=UNIFIED",
        "/v5/position/list?category=linear&symbol=BTCUSDT",
        "/v5/account/fee-rate?category=linear&symbol=BTCUSDT",
        "/v5/account/info",
        "/v5/user/query-api",
        "/v5/asset/coin/query-info",
        "/v5/order/history?category=linear",
        "/v5/execution/list?category=linear",
    ] {
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        let a = c.get(p, q).await.unwrap();
        assert_eq!(a.ret_code(), 0, "{path}: {}", a.body);
        assert!(a.header("X-Bapi-Limit").is_some(), "{path} has rate-limit headers");
    }
    let w = c.get("/v5/account/wallet-balance", "accountType=UNIFIED").await.unwrap();
    assert_eq!(w.body["result"]["list"][0]["coin"][0]["coin"], "USDT");
    assert_eq!(c.get("/v5/user/query-api", "").await.unwrap().body["result"]["uta"], 1);
}

#[actix_rt::test]
async fn place_amend_cancel_cancel_all_and_list() {
    let sim = sim();
    let c = client(&sim);
    let (bid, ask) = best(&c, "BTCUSDT").await;
    let a = c
        .post("/v5/order/create", &post_only("t-1", "Buy", &format!("{:.1}", bid - 10.0), "0.010"))
        .await
        .unwrap();
    assert_eq!(a.ret_code(), 0, "{}", a.body);
    let id = a.body["result"]["orderId"].as_str().unwrap().to_string();
    assert_eq!(a.body["result"]["orderLinkId"], "t-1");
    c.post(
        "/v5/order/create",
        &post_only("t-2", "Sell", &format!("{:.1}", ask + 10.0), "0.010"),
    )
    .await
    .unwrap();
    c.post(
        "/v5/order/create",
        &post_only("t-3", "Sell", &format!("{:.1}", ask + 20.0), "0.010"),
    )
    .await
    .unwrap();
    let open = c.open_orders("BTCUSDT").await.unwrap();
    assert_eq!(open.len(), 3);
    let am = c
        .post(
            "/v5/order/amend",
            &json!({"category":"linear","symbol":"BTCUSDT","orderId":id,"price":format!("{:.1}", bid - 11.0),"qty":"0.020"}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(am.ret_code(), 0, "{}", am.body);
    let o = c.get("/v5/order/realtime", &format!("category=linear&orderId={id}")).await.unwrap();
    assert_eq!(o.body["result"]["list"][0]["qty"], "0.020");
    assert_eq!(o.body["result"]["list"][0]["price"], format!("{:.1}", bid - 11.0));
    let cx = c
        .post(
            "/v5/order/cancel",
            &json!({"category":"linear","symbol":"BTCUSDT","orderLinkId":"t-2"}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(cx.ret_code(), 0);
    let again = c
        .post(
            "/v5/order/cancel",
            &json!({"category":"linear","symbol":"BTCUSDT","orderLinkId":"t-2"}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(again.ret_code(), 110001);
    assert_eq!(c.open_orders("BTCUSDT").await.unwrap().len(), 2);
    // Cancel-all is asynchronous, as on Bybit: the answer lists the orders, and they stay on
    // the book (and in realtime) until the delay has passed — stretched here to 300 ms.
    bybit_sim::testkit::Admin::new(&sim.rest_url())
        .set_faults(&json!({"cancel_all_delay_ms": 300}))
        .await;
    let all = c
        .post("/v5/order/cancel-all", r#"{"category":"linear","symbol":"BTCUSDT"}"#)
        .await
        .unwrap();
    assert_eq!(all.body["result"]["success"], "1");
    assert_eq!(all.body["result"]["list"].as_array().unwrap().len(), 2);
    assert_eq!(
        c.open_orders("BTCUSDT").await.unwrap().len(),
        2,
        "still there right after the answer"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(c.open_orders("BTCUSDT").await.unwrap().is_empty());
    let h = c
        .get("/v5/order/history", "category=linear&symbol=BTCUSDT&orderStatus=Cancelled")
        .await
        .unwrap();
    assert_eq!(h.body["result"]["list"].as_array().unwrap().len(), 3);
    // cancel-all needs a scope
    assert_eq!(
        c.post("/v5/order/cancel-all", r#"{"category":"linear"}"#).await.unwrap().ret_code(),
        10001
    );
}

#[actix_rt::test]
async fn open_orders_paginate_with_cursor() {
    let sim = sim();
    let c = client(&sim);
    let (bid, _) = best(&c, "BTCUSDT").await;
    for i in 0..120 {
        let price = format!("{:.1}", bid - 5.0 - (i % 40) as f64 * 0.1);
        let a = c
            .post("/v5/order/create", &post_only(&format!("pg-{i}"), "Buy", &price, "0.001"))
            .await
            .unwrap();
        assert_eq!(a.ret_code(), 0, "{}", a.body);
    }
    let first = c
        .get("/v5/order/realtime", "category=linear&symbol=BTCUSDT&limit=50")
        .await
        .unwrap();
    assert_eq!(first.body["result"]["list"].as_array().unwrap().len(), 50);
    let cursor = first.body["result"]["nextPageCursor"].as_str().unwrap();
    assert!(!cursor.is_empty() && cursor.chars().all(|c| c.is_ascii_alphanumeric()));
    let all = c.open_orders("BTCUSDT").await.unwrap();
    let mut ids: Vec<&str> = all.iter().map(|o| o["orderLinkId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 120);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 120, "pages do not overlap");
    // newest first
    assert_eq!(all[0]["orderLinkId"], "pg-119");
    assert_eq!(
        c.get("/v5/order/realtime", "category=linear&symbol=BTCUSDT&limit=51")
            .await
            .unwrap()
            .ret_code(),
        10001
    );
}

#[actix_rt::test]
async fn post_only_crossing_is_accepted_then_cancelled() {
    let sim = sim();
    let c = client(&sim);
    let (_, ask) = best(&c, "BTCUSDT").await;
    let a = c
        .post("/v5/order/create", &post_only("cross", "Buy", &format!("{ask:.1}"), "0.010"))
        .await
        .unwrap();
    assert_eq!(a.ret_code(), 0);
    assert!(c.open_orders("BTCUSDT").await.unwrap().is_empty());
    let h = c.get("/v5/order/history", "category=linear&orderLinkId=cross").await.unwrap();
    let o = &h.body["result"]["list"][0];
    assert_eq!(o["orderStatus"], "Cancelled");
    assert_eq!(o["rejectReason"], "EC_PostOnlyWillTakeLiquidity");
    assert_eq!(o["cumExecQty"], "0.000");
}

#[actix_rt::test]
async fn taker_trades_fill_resting_orders_and_move_position_and_wallet() {
    let sim = sim();
    let c = client(&sim);
    let (bid, _) = best(&c, "BTCUSDT").await;
    // One tick above the best bid: first in line for the next sell.
    let price = format!("{:.1}", bid + 0.1);
    assert_eq!(
        c.post("/v5/order/create", &post_only("fill-me", "Buy", &price, "0.010"))
            .await
            .unwrap()
            .ret_code(),
        0
    );
    let http = awc::Client::new();
    let trade = |qty: &str| {
        http.post(format!("{}/sim/trade", sim.rest_url()))
            .send_json(&json!({"symbol":"BTCUSDT","side":"Sell","qty":qty}))
    };
    trade("0.004").await.unwrap();
    let o = c.get("/v5/order/realtime", "category=linear&orderLinkId=fill-me").await.unwrap();
    assert_eq!(o.body["result"]["list"][0]["orderStatus"], "PartiallyFilled");
    assert_eq!(o.body["result"]["list"][0]["leavesQty"], "0.006");
    trade("0.020").await.unwrap();
    assert!(c.open_orders("BTCUSDT").await.unwrap().is_empty());
    let p = c.get("/v5/position/list", "category=linear&symbol=BTCUSDT").await.unwrap();
    assert_eq!(p.body["result"]["list"][0]["size"], "0.010");
    assert_eq!(p.body["result"]["list"][0]["side"], "Buy");
    let e = c.get("/v5/execution/list", "category=linear&symbol=BTCUSDT").await.unwrap();
    let execs = e.body["result"]["list"].as_array().unwrap();
    assert_eq!(execs.len(), 2);
    assert!(execs.iter().all(|x| x["isMaker"] == true));
    let w = c.get("/v5/account/wallet-balance", "accountType=UNIFIED").await.unwrap();
    let bal: f64 = w.body["result"]["list"][0]["totalWalletBalance"].as_str().unwrap().parse().unwrap();
    assert!(bal < 100000.0, "maker fees were charged: {bal}");
    // A crossing GTC limit takes liquidity as taker.
    let (_, ask) = best(&c, "BTCUSDT").await;
    let taker = json!({"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.005","price":format!("{ask:.1}"),"timeInForce":"IOC"}).to_string();
    assert_eq!(c.post("/v5/order/create", &taker).await.unwrap().ret_code(), 0);
    let p = c.get("/v5/position/list", "category=linear&symbol=BTCUSDT").await.unwrap();
    assert_eq!(p.body["result"]["list"][0]["size"], "0.015");
}

#[actix_rt::test]
async fn batch_endpoints_report_per_item() {
    let sim = sim();
    let c = client(&sim);
    let (bid, _) = best(&c, "BTCUSDT").await;
    let item = |link: &str, off: f64| json!({"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":format!("{:.1}", bid - off),"timeInForce":"PostOnly","orderLinkId":link});
    let body = json!({"category":"linear","request":[item("b-1", 5.0), item("b-2", 6.0), item("b-1", 7.0)]}).to_string();
    let a = c.post("/v5/order/create-batch", &body).await.unwrap();
    assert_eq!(a.ret_code(), 0);
    let codes: Vec<i64> = a.body["retExtInfo"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![0, 0, 110072]);
    assert_eq!(a.body["result"]["list"][2]["orderId"], "");
    let amend = json!({"category":"linear","request":[{"symbol":"BTCUSDT","orderLinkId":"b-1","price":format!("{:.1}", bid - 8.0)},{"symbol":"BTCUSDT","orderLinkId":"nope","price":"1"}]}).to_string();
    let a = c.post("/v5/order/amend-batch", &amend).await.unwrap();
    let codes: Vec<i64> = a.body["retExtInfo"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![0, 110001]);
    let cancel = json!({"category":"linear","request":[{"symbol":"BTCUSDT","orderLinkId":"b-1"},{"symbol":"BTCUSDT","orderLinkId":"b-2"}]})
        .to_string();
    let a = c.post("/v5/order/cancel-batch", &cancel).await.unwrap();
    assert_eq!(a.body["retExtInfo"]["list"][1]["code"], 0);
    assert!(c.open_orders("BTCUSDT").await.unwrap().is_empty());
    let too_many: Vec<Value> = (0..21).map(|i| item(&format!("x{i}"), 5.0)).collect();
    let a = c
        .post(
            "/v5/order/create-batch",
            &json!({"category":"linear","request":too_many}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(a.ret_code(), 10001);
}

#[actix_rt::test]
async fn rate_limits_answer_10006_with_headers() {
    let sim = sim_with(RateLimits {
        orders_per_sec: 3,
        reads_per_sec: 50,
        ..Default::default()
    });
    let c = client(&sim);
    let (bid, _) = best(&c, "BTCUSDT").await;
    let mut codes = Vec::new();
    let mut last = None;
    for i in 0..5 {
        let a = c
            .post(
                "/v5/order/create",
                &post_only(&format!("rl-{i}"), "Buy", &format!("{:.1}", bid - 5.0), "0.001"),
            )
            .await
            .unwrap();
        codes.push(a.ret_code());
        last = Some(a);
    }
    assert_eq!(&codes[..3], &[0, 0, 0]);
    assert_eq!(codes[3], 10006);
    let last = last.unwrap();
    assert_eq!(last.header("X-Bapi-Limit"), Some("3"));
    assert_eq!(last.header("X-Bapi-Limit-Status"), Some("0"));
    let reset: u64 = last.header("X-Bapi-Limit-Reset-Timestamp").unwrap().parse().unwrap();
    assert!(reset >= bybit_sim::exchange::now_ms() - 5, "reset is never in the past");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        c.post(
            "/v5/order/create",
            &post_only("rl-after", "Buy", &format!("{:.1}", bid - 5.0), "0.001")
        )
        .await
        .unwrap()
        .ret_code(),
        0
    );
}

#[actix_rt::test]
async fn bad_input_gets_bybit_codes_never_a_crash() {
    let sim = sim();
    let c = client(&sim);
    let (bid, _) = best(&c, "BTCUSDT").await;
    let cases = [
        ("{not json".to_string(), 10001),
        (
            json!({"category":"linear","symbol":"NOPEUSDT","side":"Buy","orderType":"Limit","qty":"1","price":"1"}).to_string(),
            10001,
        ),
        (post_only("step", "Buy", &format!("{:.2}", bid - 5.05), "0.001"), 10001),
        (post_only("qty", "Buy", &format!("{:.1}", bid - 5.0), "0.0015"), 10001),
        (
            json!({"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001"}).to_string(),
            10001,
        ),
        (json!({"category":"linear","symbol":"BTCUSDT"}).to_string(), 10001),
        (
            post_only(
                "this-order-link-id-is-far-too-long-for-bybit",
                "Buy",
                &format!("{:.1}", bid - 5.0),
                "0.001",
            ),
            10001,
        ),
        (post_only("tiny", "Buy", &format!("{:.1}", bid - 5.0), "0.0001"), 10001),
    ];
    for (body, code) in cases {
        let a = c.post("/v5/order/create", &body).await.unwrap();
        assert_eq!((a.status, a.ret_code()), (200, code), "{body} → {}", a.body);
    }
    assert_eq!(
        c.public("/v5/market/orderbook", "category=linear&symbol=NOPE")
            .await
            .unwrap()
            .ret_code(),
        10001
    );
    assert_eq!(c.public("/v5/market/orderbook", "category=linear").await.unwrap().ret_code(), 10001);
    let big = "x".repeat(200 * 1024);
    let a = c.post("/v5/order/create", &big).await.unwrap();
    assert_eq!(a.status, 413, "oversized bodies are refused");
    let a = c.public("/v5/no/such/route", "").await.unwrap();
    assert_eq!((a.status, a.ret_code()), (404, 10017));
    // Still serving.
    assert_eq!(c.public("/v5/market/time", "").await.unwrap().ret_code(), 0);
}
