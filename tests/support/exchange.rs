//! Asking the exchange (bybit-sim, as the test account or its admin): the bot's orders, its
//! position, the requests it received, the faults it injects.

use std::time::{Duration, Instant};

use bybit_sim::testkit::Client;
use bybit_sim::SimHandle;
use serde_json::Value;

use super::{Bot, KEY, PREFIX, SECRET};

pub fn exchange(sim: &SimHandle) -> Client {
    exchange_at(&sim.rest_url())
}

/// The test account's signed client for the exchange at `rest_url`.
pub fn exchange_at(rest_url: &str) -> Client {
    Client::new(rest_url, KEY, SECRET)
}

pub async fn bot_orders(sim: &SimHandle, symbols: &[&str]) -> Vec<Value> {
    exchange(sim)
        .open_orders_with_prefix(symbols, PREFIX)
        .await
        .expect("exchange answers")
}

/// Wait until the exchange holds at least `n` of the bot's orders.
pub async fn wait_for_orders(sim: &SimHandle, bot: &mut Bot, symbols: &[&str], n: usize, limit: Duration) -> usize {
    let started = Instant::now();
    loop {
        let have = bot_orders(sim, symbols).await.len();
        if have >= n {
            return have;
        }
        assert!(bot.is_running(), "mmbot exited early; see {}", bot.stderr_path.display());
        assert!(
            started.elapsed() < limit,
            "only {have} of {n} orders after {limit:?}; see {}",
            bot.stderr_path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many requests the exchange received on `path` since `since_us`.
pub async fn requests_on(sim: &SimHandle, path: &str, since_us: u64) -> usize {
    bybit_sim::testkit::Admin::new(&sim.rest_url())
        .requests(since_us)
        .await
        .iter()
        .filter(|r| r["path"] == path)
        .count()
}

/// The names an order endpoint's requests are counted under by the simulator: its REST path
/// and its trade-socket op (`/v5/trade:order.amend-batch`).
pub fn either_transport(endpoint: &str) -> [String; 2] {
    let op = bybit_v5::rest::trade_op(endpoint).expect("an order endpoint");
    [endpoint.to_string(), format!("/v5/trade:{op}")]
}

/// Requests for an order endpoint by either transport, from `/sim/stats`.
pub fn order_requests(stats: &Value, endpoint: &str) -> u64 {
    either_transport(endpoint)
        .iter()
        .filter_map(|p| stats["requests"][p].as_u64())
        .sum()
}

pub async fn set_faults(sim: &SimHandle, faults: Value) {
    bybit_sim::testkit::Admin::new(&sim.rest_url()).set_faults(&faults).await;
}

/// A decimal field as Bybit sends it (a string; a number also read).
pub fn dec(v: &Value) -> rust_decimal::Decimal {
    match v {
        Value::String(s) => s.parse().unwrap_or_default(),
        Value::Number(n) => n.to_string().parse().unwrap_or_default(),
        _ => rust_decimal::Decimal::ZERO,
    }
}

/// The exchange's net position of the bot's account in `symbol`.
pub async fn exchange_position(sim: &bybit_sim::SimHandle, symbol: &str) -> rust_decimal::Decimal {
    let a = exchange(sim)
        .get("/v5/position/list", &format!("category=linear&symbol={symbol}"))
        .await
        .unwrap();
    a.body["result"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let size = dec(&p["size"]);
            if p["side"] == "Sell" {
                -size
            } else {
                size
            }
        })
        .sum()
}
