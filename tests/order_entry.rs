//! Order entry over the trade WebSocket (`/v5/trade`, `order_entry = "websocket"`): orders go over it, its
//! rate-limit header teaches the budget, a socket that stops answering is dropped and REST
//! carries the orders until it answers again, a dropped socket is reconnected. Checked on the
//! exchange (which transport each request came by), in /metrics and in the exit report.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const ORDER_PATHS: [&str; 3] = ["/v5/order/create-batch", "/v5/order/amend-batch", "/v5/order/cancel-batch"];

fn by_socket() -> BotOptions {
    BotOptions {
        exchange: WS_ORDER_ENTRY,
        ..Default::default()
    }
}

/// Order requests by REST and by the socket since the start, from `/sim/stats`.
fn by_transport(stats: &Value) -> (u64, u64) {
    let n = |p: &str| stats["requests"][p].as_u64().unwrap_or(0);
    ORDER_PATHS.iter().fold((0, 0), |(rest, ws), p| {
        let [r, w] = either_transport(p);
        (rest + n(&r), ws + n(&w))
    })
}

async fn stats(sim: &bybit_sim::SimHandle) -> Value {
    bybit_sim::testkit::Admin::new(&sim.rest_url()).stats().await
}

/// Wait until `f` holds for the exchange's stats.
async fn until(sim: &bybit_sim::SimHandle, bot: &mut Bot, limit: Duration, what: &str, f: impl Fn(&Value) -> bool) {
    let t = Instant::now();
    loop {
        if f(&stats(sim).await) {
            return;
        }
        assert!(bot.is_running(), "mmbot exited while waiting for {what}");
        assert!(
            t.elapsed() < limit,
            "{what}: not within {limit:?}: {}",
            stats(sim).await["requests"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_rt::test]
async fn orders_go_by_rest_unless_the_socket_is_chosen() {
    let sim = start_sim();
    let mut bot = start_bot("oe-rest", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let (rest, ws) = by_transport(&stats(&sim).await);
    assert!(rest >= 3, "{rest} order requests by REST");
    assert_eq!(ws, 0, "nothing over the socket while REST works");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(30));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}

#[actix_rt::test]
async fn orders_go_over_the_trade_socket_and_its_budget_header_is_heeded() {
    // The account has 5 order units/s; the bot is configured with Bybit's default 10.
    let sim = start_sim_with(|c| c.limits.orders_per_sec = 5);
    let mut bot = start_bot("oe-socket", &sim, by_socket());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(40)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let metrics = bot.metrics().await;
    let (rest, ws) = by_transport(&stats(&sim).await);
    assert_eq!(rest, 0, "no order request by REST while the socket is up");
    assert!(ws >= 3, "{ws} order requests over the socket");
    assert_eq!(metric(&metrics, "mmbot_order_entry_requests_total{transport=\"rest\"}"), 0.0);
    assert!(metric(&metrics, "mmbot_order_entry_requests_total{transport=\"websocket\"}") >= ws as f64 - 1.0);
    // The socket's answers carry the budget, and the bot takes the exchange's lower figure.
    assert_eq!(
        metric(&metrics, "mmbot_rate_budget_limit{endpoint=\"/v5/order/create-batch\"}"),
        5.0,
        "{metrics}"
    );
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(30));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(exit.stdout.contains("trade socket closed"), "{}", exit.stdout);
    assert!(
        exit.stderr
            .contains("the exchange gives this account 5 requests/s, the config says 10"),
        "{}",
        exit.stderr
    );
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}

#[actix_rt::test]
async fn a_hung_trade_socket_is_dropped_and_rest_carries_the_orders_until_it_answers_again() {
    let sim = start_sim_with(|c| c.market.volatility_bps = 3.0);
    let opts = BotOptions {
        exchange: "order_entry = \"websocket\"\nrequest_timeout_ms = 1000",
        ..Default::default()
    };
    let mut bot = start_bot("oe-hung", &sim, opts);
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let (rest_before, _) = by_transport(&stats(&sim).await);
    assert_eq!(rest_before, 0);
    // The socket accepts frames and never answers: the bot's first request there times out,
    // the socket is dropped, and the market's moves are followed by REST.
    set_faults(&sim, json!({"hang": ["/v5/trade"]})).await;
    until(&sim, &mut bot, Duration::from_secs(20), "orders by REST", |s| {
        by_transport(s).0 >= 3
    })
    .await;
    let hung_at_ws = by_transport(&stats(&sim).await).1;
    set_faults(&sim, json!({})).await;
    // Reconnected (backoff ≤ 10 s) and back on the socket.
    until(&sim, &mut bot, Duration::from_secs(30), "orders over the socket again", |s| {
        by_transport(s).1 >= hung_at_ws + 3
    })
    .await;
    let metrics = bot.metrics().await;
    assert!(metric(&metrics, "mmbot_order_entry_requests_total{transport=\"rest\"}") >= 3.0);
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(30));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
    assert!(
        exit.stderr.contains("no answer on the trade socket; dropping it"),
        "{}",
        exit.stderr
    );
}

#[actix_rt::test]
async fn a_dropped_trade_socket_is_reconnected() {
    let sim = start_sim_with(|c| c.market.volatility_bps = 3.0);
    let mut bot = start_bot("oe-drop", &sim, by_socket());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let dropped = bybit_sim::testkit::Admin::new(&sim.rest_url()).drop_ws().await;
    assert!(dropped >= 3, "public, private and trade sockets dropped ({dropped})");
    let after_drop = by_transport(&stats(&sim).await).1;
    until(&sim, &mut bot, Duration::from_secs(20), "orders over a new socket", |s| {
        by_transport(s).1 >= after_drop + 3
    })
    .await;
    let metrics = bot.metrics().await;
    assert!(metric(&metrics, "mmbot_ws_reconnects_total{stream=\"trade\"}") >= 1.0, "{metrics}");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(30));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}
