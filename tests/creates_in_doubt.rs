//! A create whose answer never came may still land on the exchange, up to the receive window
//! after it was sent. A REST proxy in front of bybit-sim holds one create for longer than the
//! bot's request timeout and then delivers it: the bot must not quote that level again meanwhile
//! — judged on the exchange's order log, at no moment do two of its bids rest together.

#[path = "support/http_proxy.rs"]
mod http_proxy;
#[path = "support/order_log.rs"]
mod order_log;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_proxy::HttpProxy;
use serde_json::json;
use support::*;

/// The most orders of the bot on one side that ever rested at the same moment.
async fn most_resting_on_one_side(sim: &bybit_sim::SimHandle) -> usize {
    let log = order_log::read(&sim.rest_url(), PREFIX).await;
    let mut most = 0;
    for side in ["Buy", "Sell"] {
        let mut moves: Vec<(u64, i64)> = Vec::new();
        for o in log.iter().filter(|o| o.side == side) {
            moves.push((o.opened_event, 1));
            moves.extend(o.closed_event.map(|c| (c, -1)));
        }
        moves.sort();
        let mut now = 0i64;
        for (_, d) in moves {
            now += d;
            most = most.max(now as usize);
        }
    }
    most
}

#[actix_rt::test]
async fn a_create_that_lands_after_its_timeout_is_not_quoted_twice() {
    let sim = start_quiet_sim();
    let (delaying, delayed) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let (on, n) = (delaying.clone(), delayed.clone());
    let upstream: SocketAddr = sim.rest_url().trim_start_matches("http://").parse().unwrap();
    // Once armed, the first create is held 2.5 s: past the bot's 1 s timeout, inside the 5 s
    // receive window, so the exchange takes it when it arrives.
    let proxy = HttpProxy::start_delaying(
        upstream,
        Arc::new(move |target: &str, _: &[u8]| {
            let create = target.starts_with("/v5/order/create");
            (create && on.load(Ordering::SeqCst) && n.fetch_add(1, Ordering::SeqCst) == 0).then_some(Duration::from_millis(2_500))
        }),
    );
    let mut bot = start_bot(
        "create-in-doubt",
        &sim,
        BotOptions {
            symbols: vec!["BTCUSDT"],
            levels: 1,
            exchange: "order_entry = \"rest\"\nrequest_timeout_ms = 1000\nrecv_window_ms = 5000",
            order_manager: "reconcile_interval_ms = 300",
            rest_url: Some(proxy.url()),
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &["BTCUSDT"], 2, Duration::from_secs(30)).await;

    delaying.store(true, Ordering::SeqCst);
    // The operator cancels the bot's bid: the bot creates it again, and that create is held.
    let bid = bot_orders(&sim, &["BTCUSDT"])
        .await
        .into_iter()
        .find(|o| o["side"] == "Buy")
        .expect("the bot's bid");
    let cancel = exchange(&sim)
        .post(
            "/v5/order/cancel",
            &json!({"category": "linear", "symbol": "BTCUSDT", "orderLinkId": bid["orderLinkId"]}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(cancel.ret_code(), 0, "{:?}", cancel.body);
    let started = Instant::now();
    while delayed.load(Ordering::SeqCst) == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the bot never re-created its bid");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Past the held create's landing and several reconciliations after it.
    tokio::time::sleep(Duration::from_millis(2_500 + 3_000)).await;
    assert_eq!(
        most_resting_on_one_side(&sim).await,
        1,
        "a level was quoted again while its create could still land"
    );
    assert_eq!(bot_orders(&sim, &["BTCUSDT"]).await.len(), 2, "one bid, one ask");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(bot_orders(&sim, &["BTCUSDT"]).await.is_empty());
}
