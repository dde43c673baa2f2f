//! Flat by every path: with the preferred cancel path broken at run time just before the stop,
//! the shutdown escalates — cancel-all → batch and single cancels by the transport orders go by
//! → by the other transport → the exchange's dead-man switch — and ends flat, naming the path per
//! symbol. Each test asks the exchange what is left and counts the requests the broken path
//! received (no hot loop). Orders go by REST (the default, pinned) in the tests of REST's own
//! escalation, by the trade socket in the others.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const CANCEL_ALL: &str = "/v5/order/cancel-all";
const CANCEL_BATCH: &str = "/v5/order/cancel-batch";
const CANCEL: &str = "/v5/order/cancel";

struct Stopped {
    exit: Exit,
    dir: TestDir,
    since_us: u64,
}

/// 24 orders resting, `faults` switched on, SIGTERM; the bot's exit.
async fn stop_under(name: &str, sim: &bybit_sim::SimHandle, faults: Value, opts: BotOptions) -> Stopped {
    let mut bot = start_bot(name, sim, opts);
    wait_for_orders(sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let since_us = bybit_sim::server::state::now_us();
    set_faults(sim, faults).await;
    let dir = bot.dir.clone();
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(60));
    Stopped { exit, dir, since_us }
}

/// Exit 0, nothing left on the exchange, and every symbol flattened by one of `paths` (the
/// first of them for at least one symbol), as the summary and the recorder say.
async fn assert_flat_by(sim: &bybit_sim::SimHandle, s: &Stopped, paths: &[&str]) {
    assert_eq!(s.exit.code, 0, "stdout:\n{}", s.exit.stdout);
    set_faults(sim, json!({})).await;
    assert!(
        bot_orders(sim, &SYMBOLS).await.is_empty(),
        "the exchange holds none of the bot's orders"
    );
    let by = flattened_by(&s.dir);
    assert_eq!(by.len(), SYMBOLS.len());
    for (symbol, p) in &by {
        assert!(paths.contains(&p.as_str()), "{symbol} by {p}; stdout:\n{}", s.exit.stdout);
        assert!(
            s.exit.stdout.contains(&format!("orders {symbol} flat by {p} in ")),
            "the summary names the path: {}",
            s.exit.stdout
        );
    }
    assert!(by.iter().any(|(_, p)| p == paths[0]), "{by:?}");
}

/// Orders by REST: the escalation after cancel-all is REST's batch, then singles, then the socket.
fn by_rest() -> BotOptions {
    BotOptions {
        exchange: REST_ORDER_ENTRY,
        ..Default::default()
    }
}

/// Orders over the trade socket: after cancel-all comes the socket's batch, then REST's.
fn by_socket() -> BotOptions {
    BotOptions {
        exchange: WS_ORDER_ENTRY,
        ..Default::default()
    }
}

/// With the cancel-all broken: by cancel-batch — and, for a symbol whose batch finds the
/// endpoint's budget spent (10 units/s for 24 orders), by the next path with room: single
/// cancels on their own budget, or the trade socket once the batch budget has room again.
const BATCH_OR_LATER: [&str; 3] = ["cancel-batch", "cancel-single", "ws-trade"];

#[actix_rt::test]
async fn a_hanging_cancel_all_is_passed_over_for_cancel_batch() {
    let sim = start_sim();
    let s = stop_under("flat-hang", &sim, json!({"hang": [CANCEL_ALL]}), by_rest()).await;
    assert_flat_by(&sim, &s, &BATCH_OR_LATER).await;
    // One cancel-all per symbol, left to hang (a second only if the first timed out before
    // the symbol was flat: never a loop).
    let all = requests_on(&sim, CANCEL_ALL, s.since_us).await;
    assert!((3..=6).contains(&all), "{all} cancel-alls");
    let batches = requests_on(&sim, CANCEL_BATCH, s.since_us).await;
    let singles = requests_on(&sim, CANCEL, s.since_us).await;
    assert!((1..=6).contains(&batches), "{batches} cancel-batches");
    assert!(
        singles <= 16,
        "{singles} single cancels: at most the two symbols without batch room"
    );
}

#[actix_rt::test]
async fn a_failing_cancel_all_gives_way_to_cancel_batch_at_once() {
    let sim = start_sim();
    let s = stop_under("flat-502", &sim, json!({"error_5xx": [CANCEL_ALL]}), by_rest()).await;
    assert_flat_by(&sim, &s, &BATCH_OR_LATER).await;
    let all = requests_on(&sim, CANCEL_ALL, s.since_us).await;
    assert!((3..=6).contains(&all), "{all} cancel-alls: a failure rests the path, never a loop");
}

#[actix_rt::test]
async fn a_rate_limited_cancel_all_gives_way_to_cancel_batch() {
    let sim = start_sim();
    let s = stop_under("flat-10006", &sim, json!({"rate_limit": [CANCEL_ALL]}), by_rest()).await;
    assert_flat_by(&sim, &s, &BATCH_OR_LATER).await;
    let all = requests_on(&sim, CANCEL_ALL, s.since_us).await;
    assert!((3..=6).contains(&all), "{all} cancel-alls: 10006 rests the path until its reset");
}

#[actix_rt::test]
async fn with_cancel_all_and_cancel_batch_broken_single_cancels_flatten() {
    let sim = start_sim();
    let faults = json!({"error_5xx": [CANCEL_ALL], "hang": [CANCEL_BATCH]});
    let s = stop_under("flat-single", &sim, faults, by_rest()).await;
    assert_flat_by(&sim, &s, &["cancel-single", "ws-trade"]).await;
    // Each order cancelled once (a cancel is never re-sent while it is on its way).
    let singles = requests_on(&sim, CANCEL, s.since_us).await;
    assert!(singles <= 24, "{singles} single cancels for 24 orders");
}

#[actix_rt::test]
async fn with_every_rest_cancel_broken_the_trade_socket_flattens() {
    let sim = start_sim();
    let faults = json!({"error_5xx": [CANCEL_ALL, CANCEL_BATCH, CANCEL]});
    let s = stop_under("flat-ws", &sim, faults, by_rest()).await;
    assert_flat_by(&sim, &s, &["ws-trade"]).await;
}

#[actix_rt::test]
async fn with_orders_by_the_trade_socket_a_failing_cancel_all_gives_way_to_the_socket() {
    let sim = start_sim();
    let s = stop_under("flat-sock", &sim, json!({"error_5xx": [CANCEL_ALL]}), by_socket()).await;
    // The socket's cancel-batch first; a symbol whose batch finds the budget spent (the socket's
    // batch and REST's share one) goes by the next path with room.
    assert_flat_by(&sim, &s, &["ws-trade", "cancel-batch", "cancel-single"]).await;
    let by_socket = requests_on(&sim, "/v5/trade:order.cancel-batch", s.since_us).await;
    assert!(by_socket >= 1, "order.cancel-batch went over the trade socket");
}

#[actix_rt::test]
async fn with_orders_by_the_trade_socket_and_the_socket_hung_rest_cancels() {
    let sim = start_sim();
    let faults = json!({"error_5xx": [CANCEL_ALL], "hang": ["/v5/trade"]});
    let s = stop_under("flat-sock-hung", &sim, faults, by_socket()).await;
    // The socket's batch is passed over within ~50 ms (its silence bound on loopback); its
    // units stay spent on the shared cancel-batch budget for a window, so single cancels (a
    // budget of their own) take the orders, and REST's batch where it has room again.
    assert_flat_by(&sim, &s, &["cancel-single", "cancel-batch"]).await;
    // The socket was tried first (one batch per symbol, passed over after its silence bound).
    let by_socket = requests_on(&sim, "/v5/trade:order.cancel-batch", s.since_us).await;
    assert!((1..=6).contains(&by_socket), "{by_socket} socket batches: tried, never a loop");
}

#[actix_rt::test]
async fn with_every_order_path_broken_the_dead_man_switch_flattens_within_its_window() {
    let sim = start_sim();
    let faults = json!({"hang": [CANCEL_ALL, CANCEL_BATCH, CANCEL, "/v5/trade"]});
    let opts = BotOptions {
        order_manager: "dcp_window_s = 3",
        shutdown: "order_manager_ms = 20000\ndeadline_ms = 40000",
        ..Default::default()
    };
    let s = stop_under("flat-dcp", &sim, faults, opts).await;
    assert_flat_by(&sim, &s, &["dead-man-switch"]).await;
    let cancel = recorder_lines_in(&s.dir)
        .into_iter()
        .find(|l| l["kind"] == "shutdown_cancel_orders")
        .unwrap();
    let closed_at = cancel["dead_man_after_ms"].as_u64().expect("the private connection was closed");
    for sym in cancel["symbols"].as_array().unwrap() {
        let flat_at = sym["time_to_flat_ms"].as_u64().unwrap();
        // Window 3 s, plus a wide margin for the exchange's check and our reads.
        assert!(
            flat_at >= closed_at && flat_at - closed_at <= 3000 + 3000,
            "flat {flat_at} ms, connections closed at {closed_at} ms"
        );
        // Every kind of cancel path was tried before the last resort. The batch endpoint's
        // budget (10 units/s, a batch of 8 spends 8) serves one symbol per second, so a symbol
        // may go by singles instead of a batch.
        let tried = |p: &str| sym["requests"][p].as_u64().unwrap_or(0) >= 1;
        assert!(tried("cancel-all") && tried("ws-trade"), "cancel-all and ws-trade tried: {sym}");
        assert!(tried("cancel-batch") || tried("cancel-single"), "batch or singles tried: {sym}");
    }
    for p in ["cancel-all", "cancel-batch", "cancel-single", "ws-trade"] {
        let by_some = cancel["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .any(|sym| sym["requests"][p].as_u64().unwrap_or(0) >= 1);
        assert!(by_some, "{p} tried by some symbol: {cancel}");
    }
    let stats = bybit_sim::testkit::Admin::new(&sim.rest_url()).stats().await;
    assert_eq!(stats["accounts"][0]["dcp_fired"], 1, "{stats}");
}

#[actix_rt::test]
async fn startup_leftovers_go_by_the_same_escalation() {
    let sim = start_sim();
    let opts = || BotOptions {
        order_manager: "dcp_window_s = 0",
        ..Default::default()
    };
    let mut first = start_bot("flat-startup-1", &sim, opts());
    wait_for_orders(&sim, &mut first, &SYMBOLS, 24, Duration::from_secs(30)).await;
    first.signal(libc::SIGKILL);
    let _ = first.wait_exit(Duration::from_secs(5));
    let old: Vec<String> = bot_orders(&sim, &SYMBOLS)
        .await
        .iter()
        .map(|o| o["orderLinkId"].as_str().unwrap().to_string())
        .collect();
    let leftovers = old.len();
    assert!(leftovers >= 20, "{leftovers} leftovers of the killed run");
    // The batch endpoint is down: the new run cancels the leftovers one by one (or on the trade
    // socket), then quotes.
    set_faults(&sim, json!({"error_5xx": [CANCEL_BATCH]})).await;
    let since_us = bybit_sim::server::state::now_us();
    let mut second = start_bot("flat-startup-2", &sim, opts());
    let started = std::time::Instant::now();
    loop {
        let now = bot_orders(&sim, &SYMBOLS).await;
        let fresh = now.iter().filter(|o| !old.iter().any(|l| o["orderLinkId"] == l.as_str())).count();
        if fresh >= 24 {
            assert_eq!(fresh, now.len(), "no leftover next to the new quotes");
            break;
        }
        assert!(
            second.is_running() && started.elapsed() < Duration::from_secs(30),
            "the new run quotes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    set_faults(&sim, json!({})).await;
    // No cancel-all at startup: it would take other people's orders too.
    assert_eq!(requests_on(&sim, CANCEL_ALL, since_us).await, 0);
    let dir = second.dir.clone();
    second.signal(libc::SIGTERM);
    assert_eq!(second.wait_exit(Duration::from_secs(40)).code, 0);
    let rec = recorder_lines_in(&dir)
        .into_iter()
        .find(|l| l["kind"] == "startup_reconciliation")
        .expect("reconciliation recorded");
    assert_eq!(rec["cancelled"].as_u64().unwrap() as usize, leftovers, "{rec}");
    for s in rec["symbols"].as_array().unwrap() {
        let path = s["path"].as_str().unwrap_or("none");
        assert!(["cancel-single", "ws-trade"].contains(&path), "{s}");
        assert_eq!(s["flat"], true, "{s}");
    }
}

#[actix_rt::test]
async fn the_account_scope_flattens_every_symbol_with_one_cancel_all_and_shared_reads() {
    let sim = start_sim();
    let opts = BotOptions {
        order_manager: "cancel_scope = \"account\"",
        ..Default::default()
    };
    let mut bot = start_bot("flat-account", &sim, opts);
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    // An order of someone else on the account, on a symbol the bot does not trade: the account
    // scope takes it too (that is why it is only for an account the bot has to itself).
    let other = exchange(&sim)
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "XRPUSDT", "side": "Buy", "orderType": "Limit",
                    "qty": "100", "price": "0.1", "timeInForce": "PostOnly", "orderLinkId": "manual-1"})
            .to_string(),
        )
        .await
        .unwrap();
    assert_eq!(other.ret_code(), 0, "{}", other.body);
    let since_us = bybit_sim::server::state::now_us();
    let dir = bot.dir.clone();
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(30));
    let s = Stopped { exit, dir, since_us };
    assert_flat_by(&sim, &s, &["cancel-all"]).await;
    assert_eq!(requests_on(&sim, CANCEL_ALL, since_us).await, 1, "one cancel-all for three symbols");
    // Every read lists all symbols: far fewer than one per symbol and poll.
    let reads = requests_on(&sim, "/v5/order/realtime", since_us).await;
    assert!((1..=6).contains(&reads), "{reads} account-wide reads");
    assert!(s.exit.stdout.contains("(requests: cancel-all 1)"), "{}", s.exit.stdout);
    let left = exchange(&sim).open_orders("XRPUSDT").await.unwrap();
    assert!(left.is_empty(), "the account scope cancels every USDT order: {left:?}");
}
