//! Each fault, switched on at start or at run time, seen through a real client.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bybit_sim::testkit::{ws_connect, ws_next, ws_send, Client};
use bybit_sim::{Faults, SimConfig, SimHandle};
use serde_json::json;

fn sim(faults: Faults) -> SimHandle {
    bybit_sim::spawn(SimConfig {
        faults,
        ..Default::default()
    })
    .expect("sim starts")
}

async fn set_faults(sim: &SimHandle, faults: serde_json::Value) {
    let r = awc::Client::new()
        .put(format!("{}/sim/faults", sim.rest_url()))
        .send_json(&faults)
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[actix_rt::test]
async fn latency_at_start_and_at_run_time() {
    let mut f = Faults::default();
    f.latency_ms.insert("/v5/market/time".into(), 500);
    let sim = sim(f);
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret");
    let t = Instant::now();
    assert_eq!(c.public("/v5/market/time", "").await.unwrap().ret_code(), 0);
    assert!(t.elapsed() >= Duration::from_millis(500));
    let t = Instant::now();
    c.public("/v5/market/tickers", "category=linear").await.unwrap();
    assert!(t.elapsed() < Duration::from_millis(500), "other paths are not delayed");
    set_faults(&sim, json!({"latency_ms": {"*": 200}})).await;
    let t = Instant::now();
    c.get("/v5/order/realtime", "category=linear&symbol=BTCUSDT").await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(200));
}

#[actix_rt::test]
async fn hanging_endpoint_never_answers_until_cleared() {
    let sim = sim(Faults {
        hang: BTreeSet::from(["/v5/order/cancel-all".to_string()]),
        ..Default::default()
    });
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret").with_timeout(Duration::from_millis(800));
    let t = Instant::now();
    let r = c.post("/v5/order/cancel-all", r#"{"category":"linear","symbol":"BTCUSDT"}"#).await;
    assert!(r.is_err(), "hangs: {r:?}");
    assert!(t.elapsed() >= Duration::from_millis(750));
    assert_eq!(
        c.public("/v5/market/time", "").await.unwrap().ret_code(),
        0,
        "other endpoints answer"
    );
    awc::Client::new()
        .delete(format!("{}/sim/faults", sim.rest_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.post("/v5/order/cancel-all", r#"{"category":"linear","symbol":"BTCUSDT"}"#)
            .await
            .unwrap()
            .ret_code(),
        0
    );
}

#[actix_rt::test]
async fn server_errors_and_forced_rate_limits() {
    let sim = sim(Faults::default());
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret");
    set_faults(&sim, json!({"error_5xx": ["/v5/order/create"], "rate_limit": ["/v5/order/amend"]})).await;
    let a = c.post("/v5/order/create", "{}").await.unwrap();
    assert_eq!(a.status, 502);
    assert!(a.body.is_null(), "not JSON, as a gateway error");
    let a = c.post("/v5/order/amend", "{}").await.unwrap();
    assert_eq!((a.status, a.ret_code()), (200, 10006));
    let reset: u64 = a.header("X-Bapi-Limit-Reset-Timestamp").unwrap().parse().unwrap();
    assert!(reset > bybit_sim::exchange::now_ms() - 5);
    let stats = bybit_sim::testkit::Admin::new(&sim.rest_url()).stats().await;
    assert_eq!(stats["requests"]["/v5/order/create"], 1);
}

#[actix_rt::test]
async fn websocket_connections_are_dropped_on_demand() {
    let sim = sim(Faults::default());
    let mut ws = ws_connect(&sim.ws_public_url()).await.unwrap();
    ws_send(&mut ws, &json!({"op":"subscribe","args":["orderbook.1.BTCUSDT"]}))
        .await
        .unwrap();
    assert!(ws_next(&mut ws, Duration::from_secs(5)).await.is_some());
    assert!(bybit_sim::testkit::Admin::new(&sim.rest_url()).drop_ws().await >= 1);
    let t = Instant::now();
    while ws_next(&mut ws, Duration::from_secs(3)).await.is_some() {
        assert!(t.elapsed() < Duration::from_secs(3), "connection should end");
    }
    // New connections are welcome again.
    let mut ws = ws_connect(&sim.ws_public_url()).await.unwrap();
    ws_send(&mut ws, &json!({"op":"ping"})).await.unwrap();
    assert_eq!(ws_next(&mut ws, Duration::from_secs(5)).await.unwrap()["ret_msg"], "pong");
}

#[actix_rt::test]
async fn connections_are_refused_for_a_while_then_accepted() {
    let sim = sim(Faults::default());
    let c = Client::new(&sim.rest_url(), "sim-key", "sim-secret").with_timeout(Duration::from_secs(2));
    awc::Client::new()
        .post(format!("{}/sim/refuse?ms=1000", sim.rest_url()))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = std::net::TcpStream::connect(sim.addr);
    assert!(refused.is_err(), "connect is refused while the fault lasts");
    let t = Instant::now();
    loop {
        if let Ok(a) = c.public("/v5/market/time", "").await {
            assert_eq!(a.ret_code(), 0);
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "listening again after the fault");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_rt::test]
async fn refusing_at_start() {
    let sim = bybit_sim::spawn(SimConfig {
        refuse_at_start: Duration::from_millis(700),
        ..Default::default()
    })
    .unwrap();
    assert!(std::net::TcpStream::connect(sim.addr).is_err());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(std::net::TcpStream::connect(sim.addr).is_ok());
}
