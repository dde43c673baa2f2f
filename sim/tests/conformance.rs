//! Field-for-field conformance: every REST endpoint and WebSocket topic the simulator serves,
//! through a real client, held against `sim/conformance/payloads.toml` (Bybit's documented keys,
//! their spelling and JSON types). A missing key, an extra or differently cased one, or a wrong
//! type fails — a strict decoder of Bybit's payloads must be able to run against bybit-sim.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bybit_sim::testkit::{ws_connect, ws_next, ws_send, Admin, Client, WsConn};
use bybit_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};

type Table = BTreeMap<String, String>;

fn tables() -> BTreeMap<String, Table> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/payloads.toml")).unwrap();
    toml::from_str(&text).expect("payloads.toml parses")
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "num",
        Value::String(_) => "str",
        Value::Array(_) => "arr",
        Value::Object(_) => "obj",
    }
}

/// Every path of `v` with its JSON type; objects the table calls `map` are not descended into.
fn flatten(v: &Value, path: &str, table: &Table, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                out.entry(p.clone()).or_default().insert(type_of(x));
                if table.get(&p).map(|t| t.trim_end_matches('?')) != Some("map") {
                    flatten(x, &p, table, out);
                }
            }
        }
        Value::Array(a) => {
            let p = format!("{path}[]");
            for x in a {
                out.entry(p.clone()).or_default().insert(type_of(x));
                flatten(x, &p, table, out);
            }
        }
        _ => {}
    }
}

/// What is wrong with `v` as the payload `name`.
fn problems(name: &str, v: &Value, tables: &BTreeMap<String, Table>) -> Vec<String> {
    let table = tables.get(name).unwrap_or_else(|| panic!("no table for {name}"));
    let mut seen = BTreeMap::new();
    flatten(v, "", table, &mut seen);
    let mut out = Vec::new();
    for (path, expected) in table {
        let optional = expected.ends_with('?');
        let expected = expected.trim_end_matches('?');
        match seen.get(path) {
            None if optional => {}
            None => out.push(format!("{name}: missing {path} ({expected})")),
            Some(types) => {
                let ok = types
                    .iter()
                    .all(|t| *t == expected || (expected == "num" && *t == "int") || (expected == "map" && *t == "obj"));
                if !ok {
                    out.push(format!("{name}: {path} is {types:?}, expected {expected}"));
                }
            }
        }
    }
    for path in seen.keys() {
        if !table.contains_key(path) {
            out.push(format!("{name}: unexpected key {path}"));
        }
    }
    out
}

struct Checker {
    tables: BTreeMap<String, Table>,
    checked: BTreeSet<String>,
    problems: Vec<String>,
}

impl Checker {
    fn check(&mut self, name: &str, v: &Value) {
        self.problems.extend(problems(name, v, &self.tables));
        self.checked.insert(name.to_string());
    }
}

fn quiet_sim() -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.market.trade_probability = 0.0;
    cfg.market.volatility_bps = 0.0;
    cfg.limits.orders_per_sec = 1000;
    cfg.limits.reads_per_sec = 1000;
    bybit_sim::spawn(cfg).expect("sim starts")
}

/// A WebSocket whose frames are kept until asked for, so no frame is lost to an earlier wait.
struct Frames {
    ws: WsConn,
    kept: Vec<Value>,
}

impl Frames {
    async fn open(url: &str) -> Self {
        Self {
            ws: ws_connect(url).await.unwrap(),
            kept: Vec::new(),
        }
    }

    async fn send(&mut self, v: Value) {
        ws_send(&mut self.ws, &v).await.unwrap();
    }

    /// The first frame, kept or new, for which `want` holds (within a few seconds).
    async fn take(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.kept.iter().position(&want) {
            return self.kept.remove(i);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while tokio::time::Instant::now() < deadline {
            if let Some(m) = ws_next(&mut self.ws, Duration::from_secs(2)).await {
                if want(&m) {
                    return m;
                }
                self.kept.push(m);
            }
        }
        panic!("no {what} frame within 5 s");
    }
}

fn post_only(link: &str, side: &str, price: f64, qty: &str) -> String {
    json!({"category":"linear","symbol":"BTCUSDT","side":side,"orderType":"Limit","qty":qty,"price":format!("{price:.1}"),
           "timeInForce":"PostOnly","orderLinkId":link})
    .to_string()
}

#[actix_rt::test]
async fn every_payload_has_bybits_keys_and_types() {
    let sim = quiet_sim();
    let admin = Admin::new(&sim.rest_url());
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret");
    let mut k = Checker {
        tables: tables(),
        checked: BTreeSet::new(),
        problems: Vec::new(),
    };

    // Streams first, so the private ones see the orders and fills below.
    let mut public = Frames::open(&sim.ws_public_url()).await;
    public
        .send(json!({"op":"subscribe","req_id":"s1","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT","tickers.BTCUSDT"]}))
        .await;
    let ack = public.take("public", |m| m["op"] == "subscribe").await;
    k.check("ws.public.subscribe", &ack);
    public.send(json!({"op":"ping","req_id":"p1"})).await;
    let pong = public.take("public", |m| m["op"] == "ping").await;
    k.check("ws.public.pong", &pong);
    let snapshot = public
        .take("public", |m| m["topic"] == "tickers.BTCUSDT" && m["type"] == "snapshot")
        .await;
    k.check("ws.public.tickers.snapshot", &snapshot);

    let mut private = Frames::open(&sim.ws_private_url()).await;
    let expires = bybit_sim::exchange::now_ms() + 10_000;
    let sig = bybit_v5::sign::sign_ws_auth("sim-secret", expires);
    private
        .send(json!({"req_id":"a1","op":"auth","args":["sim-key", expires, sig]}))
        .await;
    let auth = private.take("private", |m| m["op"] == "auth").await;
    k.check("ws.private.auth", &auth);
    private
        .send(json!({"req_id":"s2","op":"subscribe","args":["order","execution","position","wallet"]}))
        .await;
    let sub = private.take("private", |m| m["op"] == "subscribe").await;
    k.check("ws.private.subscribe", &sub);
    private.send(json!({"req_id":"p2","op":"ping"})).await;
    let pong = private.take("private", |m| m["op"] == "pong").await;
    k.check("ws.private.pong", &pong);

    // Public REST.
    let bad = Client::new(&sim.rest_url(), "sim-key", "wrong-secret");
    k.check(
        "error",
        &bad.get("/v5/order/realtime", "category=linear&symbol=BTCUSDT").await.unwrap().body,
    );
    k.check("market/time", &c.public("/v5/market/time", "").await.unwrap().body);
    k.check(
        "market/instruments-info",
        &c.public("/v5/market/instruments-info", "category=linear").await.unwrap().body,
    );
    let book = c
        .public("/v5/market/orderbook", "category=linear&symbol=BTCUSDT&limit=5")
        .await
        .unwrap()
        .body;
    k.check("market/orderbook", &book);
    let bid: f64 = book["result"]["b"][0][0].as_str().unwrap().parse().unwrap();
    let ask: f64 = book["result"]["a"][0][0].as_str().unwrap().parse().unwrap();

    // Orders: single endpoints, batches, then a fill so executions and positions have content.
    let created = c
        .post("/v5/order/create", &post_only("cf-1", "Buy", bid - 5.0, "0.010"))
        .await
        .unwrap()
        .body;
    k.check("order/create", &created);
    let amend = json!({"category":"linear","symbol":"BTCUSDT","orderLinkId":"cf-1","price":format!("{:.1}", bid - 6.0)});
    k.check("order/amend", &c.post("/v5/order/amend", &amend.to_string()).await.unwrap().body);
    let batch = json!({"category":"linear","request":[
        {"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.010","price":format!("{:.1}", bid - 7.0),"timeInForce":"PostOnly","orderLinkId":"cf-2"},
        {"symbol":"BTCUSDT","side":"Sell","orderType":"Limit","qty":"0.010","price":format!("{:.1}", ask + 7.0),"timeInForce":"PostOnly","orderLinkId":"cf-3"},
        {"symbol":"BTCUSDT","side":"Sell","orderType":"Limit","qty":"0.010","price":format!("{:.1}", ask + 8.0),"timeInForce":"PostOnly","orderLinkId":"cf-3"}]});
    k.check(
        "order/create-batch",
        &c.post("/v5/order/create-batch", &batch.to_string()).await.unwrap().body,
    );
    let amends = json!({"category":"linear","request":[{"symbol":"BTCUSDT","orderLinkId":"cf-2","price":format!("{:.1}", bid - 8.0)},
                                                       {"symbol":"BTCUSDT","orderLinkId":"nope","price":"1"}]});
    k.check(
        "order/amend-batch",
        &c.post("/v5/order/amend-batch", &amends.to_string()).await.unwrap().body,
    );
    k.check(
        "order/realtime",
        &c.get("/v5/order/realtime", "category=linear&symbol=BTCUSDT").await.unwrap().body,
    );
    let cancels =
        json!({"category":"linear","request":[{"symbol":"BTCUSDT","orderLinkId":"cf-3"},{"symbol":"BTCUSDT","orderLinkId":"nope"}]});
    k.check(
        "order/cancel-batch",
        &c.post("/v5/order/cancel-batch", &cancels.to_string()).await.unwrap().body,
    );
    let cancel = json!({"category":"linear","symbol":"BTCUSDT","orderLinkId":"cf-2"});
    k.check("order/cancel", &c.post("/v5/order/cancel", &cancel.to_string()).await.unwrap().body);
    // A taker trade fills the bot's bid: executions, a position, a wallet change, a public trade.
    c.post("/v5/order/create", &post_only("cf-4", "Buy", bid, "0.010")).await.unwrap();
    let r = awc::Client::new()
        .post(format!("{}/sim/trade", sim.rest_url()))
        .send_json(&json!({"symbol":"BTCUSDT","side":"Sell","qty":"5"}))
        .await
        .unwrap();
    assert!(r.status().is_success());
    let order = private.take("private", |m| m["topic"] == "order").await;
    k.check("ws.private.order", &order);
    let exec = private.take("private", |m| m["topic"] == "execution").await;
    k.check("ws.private.execution", &exec);
    let position = private.take("private", |m| m["topic"] == "position").await;
    k.check("ws.private.position", &position);
    let wallet = private.take("private", |m| m["topic"] == "wallet").await;
    k.check("ws.private.wallet", &wallet);
    let trade = public.take("public", |m| m["topic"] == "publicTrade.BTCUSDT").await;
    k.check("ws.public.publicTrade", &trade);
    // A delta that touches both sides (most do: the synthetic book moves with the trade).
    let delta = public
        .take("public", |m| {
            m["topic"] == "orderbook.50.BTCUSDT"
                && m["type"] == "delta"
                && m["data"]["b"].as_array().is_some_and(|b| !b.is_empty())
                && m["data"]["a"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    k.check("ws.public.orderbook", &delta);
    let tdelta = public
        .take("public", |m| m["topic"] == "tickers.BTCUSDT" && m["type"] == "delta")
        .await;
    k.check("ws.public.tickers.delta", &tdelta);

    c.post("/v5/order/create", &post_only("cf-5", "Buy", bid - 9.0, "0.010"))
        .await
        .unwrap();
    k.check(
        "order/cancel-all",
        &c.post("/v5/order/cancel-all", r#"{"category":"linear","symbol":"BTCUSDT"}"#)
            .await
            .unwrap()
            .body,
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    k.check(
        "order/history",
        &c.get("/v5/order/history", "category=linear&symbol=BTCUSDT").await.unwrap().body,
    );
    k.check(
        "execution/list",
        &c.get("/v5/execution/list", "category=linear&symbol=BTCUSDT").await.unwrap().body,
    );
    k.check(
        "position/list",
        &c.get("/v5/position/list", "category=linear&symbol=BTCUSDT").await.unwrap().body,
    );
    k.check(
        "market/tickers",
        &c.public("/v5/market/tickers", "category=linear&symbol=BTCUSDT").await.unwrap().body,
    );
    k.check(
        "market/recent-trade",
        &c.public("/v5/market/recent-trade", "category=linear&symbol=BTCUSDT")
            .await
            .unwrap()
            .body,
    );
    k.check(
        "account/wallet-balance",
        &c.get("/v5/account/wallet-balance", "accountType=UNIFIED").await.unwrap().body,
    );
    k.check(
        "account/fee-rate",
        &c.get("/v5/account/fee-rate", "category=linear&symbol=BTCUSDT").await.unwrap().body,
    );
    k.check("account/info", &c.get("/v5/account/info", "").await.unwrap().body);
    k.check("user/query-api", &c.get("/v5/user/query-api", "").await.unwrap().body);
    k.check(
        "asset/coin/query-info",
        &c.get("/v5/asset/coin/query-info", "coin=USDT").await.unwrap().body,
    );
    let dcp = json!({"timeWindow": 10, "product": "DERIVATIVES"});
    k.check(
        "order/disconnected-cancel-all",
        &c.post("/v5/order/disconnected-cancel-all", &dcp.to_string()).await.unwrap().body,
    );
    k.check(
        "account/query-dcp-info",
        &c.get("/v5/account/query-dcp-info", "").await.unwrap().body,
    );
    // The trade WebSocket.
    let mut trade = Frames::open(&sim.ws_trade_url()).await;
    let expires = bybit_sim::exchange::now_ms() + 10_000;
    let sig = bybit_v5::sign::sign_ws_auth("sim-secret", expires);
    trade
        .send(json!({"reqId":"t-a","op":"auth","args":["sim-key", expires.to_string(), sig]}))
        .await;
    let a = trade.take("trade", |m| m["op"] == "auth").await;
    k.check("ws.trade.auth", &a);
    trade.send(json!({"reqId":"t-p","op":"ping"})).await;
    let a = trade.take("trade", |m| m["op"] == "pong").await;
    k.check("ws.trade.pong", &a);
    let ts = bybit_sim::exchange::now_ms();
    let order = serde_json::from_str::<Value>(&post_only("cf-t1", "Buy", bid - 20.0, "0.010")).unwrap();
    trade
        .send(json!({"reqId":"t-c","header":{"X-BAPI-TIMESTAMP": ts},"op":"order.create","args":[order]}))
        .await;
    let a = trade.take("trade", |m| m["op"] == "order.create").await;
    k.check("ws.trade.order.create", &a);
    let mut item = serde_json::from_str::<Value>(&post_only("cf-t2", "Buy", bid - 21.0, "0.010")).unwrap();
    item.as_object_mut().unwrap().remove("category");
    trade
        .send(json!({"reqId":"t-b","header":{"X-BAPI-TIMESTAMP": ts},"op":"order.create-batch","args":[{"category":"linear","request":[item]}]}))
        .await;
    let a = trade.take("trade", |m| m["op"] == "order.create-batch").await;
    k.check("ws.trade.order.create-batch", &a);
    let _ = admin.stats().await;

    let untested: Vec<&String> = k.tables.keys().filter(|n| !k.checked.contains(*n)).collect();
    assert!(untested.is_empty(), "payloads in the table this test never fetched: {untested:?}");
    assert!(k.problems.is_empty(), "{} problems:\n{}", k.problems.len(), k.problems.join("\n"));
}

#[test]
fn the_checker_catches_missing_extra_cased_and_mistyped_keys() {
    let t = tables();
    let good = json!({"retCode":0,"retMsg":"OK","result":{"timeSecond":"1","timeNano":"1"},"retExtInfo":{},"time":1});
    assert!(problems("market/time", &good, &t).is_empty());
    let bad = json!({"retCode":"0","retMsg":"OK","result":{"timesecond":"1","timeNano":"1"},"retExtInfo":{}});
    let p = problems("market/time", &bad, &t);
    assert!(p.iter().any(|x| x.contains("retCode is")), "{p:?}");
    assert!(p.iter().any(|x| x.contains("missing result.timeSecond")), "{p:?}");
    assert!(p.iter().any(|x| x.contains("unexpected key result.timesecond")), "{p:?}");
    assert!(p.iter().any(|x| x.contains("missing time")), "{p:?}");
}
