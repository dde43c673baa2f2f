//! The account as the exchange knows it: an inherited position before the first quote, fills in
//! a private-stream gap back-filled once, pushes withheld and corrected by the scheduled check, a
//! silent private socket declared dead, a frozen process whose orders the exchange's dead-man
//! switch cancelled, and frames with one odd item. Judged against the exchange's own state.

mod support;

use std::time::{Duration, Instant};

use bybit_sim::testkit::Admin;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

/// Σ qty × price of the account's trade executions in `symbol`, as the exchange lists them.
async fn exchange_volume(sim: &bybit_sim::SimHandle, symbol: &str) -> (Decimal, usize) {
    let a = exchange(sim)
        .get("/v5/execution/list", &format!("category=linear&symbol={symbol}&limit=100"))
        .await
        .unwrap();
    let list = a.body["result"]["list"].as_array().unwrap().clone();
    let trades: Vec<&Value> = list.iter().filter(|e| e["execType"] == "Trade").collect();
    (trades.iter().map(|e| dec(&e["execQty"]) * dec(&e["execPrice"])).sum(), trades.len())
}

async fn bot_position(bot: &Bot, symbol: &str) -> Decimal {
    dec(&bot.status().await["positions"][symbol])
}

async fn bot_volume(bot: &Bot, symbol: &str) -> Decimal {
    dec(&bot.status().await["pnl"]["symbols"][symbol]["volume"])
}

/// Wait until `check` holds, at most `limit`; the time it took.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[actix_rt::test]
async fn an_inherited_position_is_known_before_the_first_quote_and_skews_it() {
    let sim = start_sim();
    // A position the bot did not open: a taker buy on its account before it starts.
    let buy = exchange(&sim)
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.012"}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(buy.ret_code(), 0, "{:?}", buy.body);
    let held = exchange_position(&sim, "BTCUSDT").await;
    assert_eq!(held, "0.012".parse::<Decimal>().unwrap());
    let mut bot = start_bot(
        "inherit",
        &sim,
        BotOptions {
            strategy: "inventory_skew_bps = 0.5",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let status = bot.status().await;
    assert_eq!(dec(&status["positions"]["BTCUSDT"]), held, "{}", status["positions"]);
    assert_eq!(dec(&status["pnl"]["symbols"]["BTCUSDT"]["inherited"]), held);
    // Long inventory: the bot leans to sell — its bids sit further from the mid than its asks.
    let stats = Admin::new(&sim.rest_url()).stats().await;
    let q = &stats["accounts"][0]["quotes"]["BTCUSDT"];
    let (bid, ask) = (dec(&q["bid"]), dec(&q["ask"]));
    let mid = dec(&stats["markets"]["BTCUSDT"]["mid"]);
    assert!(mid - bid > ask - mid, "skewed by the inherited long: bid {bid} ask {ask} mid {mid}");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0);
    assert!(exit.stderr.contains("BTCUSDT: inherited position 0.012"), "said at start");
}

#[actix_rt::test]
async fn fills_in_a_private_stream_gap_are_back_filled_once() {
    let sim = start_sim();
    let mut bot = start_bot("gap", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let admin = Admin::new(&sim.rest_url());
    // Cut every stream and refuse reconnects for 3 s; meanwhile the market runs through the bids.
    admin.drop_ws().await;
    let _ = awc::Client::new()
        .post(format!("{}/sim/refuse?ms=3000", sim.rest_url()))
        .send()
        .await;
    admin.shock("BTCUSDT", -60.0).await;
    let held = exchange_position(&sim, "BTCUSDT").await;
    assert!(held > Decimal::ZERO, "the shock filled the bot's bids");
    let (volume, fills) = exchange_volume(&sim, "BTCUSDT").await;
    let took = within(Duration::from_secs(10), || async { bot_position(&bot, "BTCUSDT").await == held }).await;
    assert!(
        took.is_some_and(|t| t < Duration::from_secs(8)),
        "position equals the exchange's {held} within 5 s of the reconnect"
    );
    // Each fill counted once: the bot's traded volume equals the exchange's, not twice it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bot_volume(&bot, "BTCUSDT").await, volume, "{fills} fills");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}

#[actix_rt::test]
async fn withheld_pushes_are_corrected_by_the_scheduled_check() {
    let sim = start_sim();
    let started = Instant::now();
    let mut bot = start_bot(
        "withheld",
        &sim,
        BotOptions {
            order_manager: "reconcile_interval_ms = 1000",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let admin = Admin::new(&sim.rest_url());
    admin.set_faults(&json!({"withhold_private": true})).await;
    admin.shock("ETHUSDT", -60.0).await;
    let held = exchange_position(&sim, "ETHUSDT").await;
    assert!(held > Decimal::ZERO);
    // One interval (1 s) and a wide margin for a loaded machine.
    let took = within(Duration::from_secs(6), || async { bot_position(&bot, "ETHUSDT").await == held }).await;
    assert!(took.is_some(), "the scheduled check corrects the position to {held}");
    let metrics = bot.metrics().await;
    assert!(
        metric(&metrics, "mmbot_position_drift_total{symbol=\"ETHUSDT\"}") >= 1.0,
        "drift counted"
    );
    admin.set_faults(&json!({})).await;
    // Every read has a reason: one position listing per interval (plus the start's: the
    // preflight's position mode per symbol, the inherited positions), and the executions only
    // when a check found a drift.
    let seconds = started.elapsed().as_secs() as usize;
    let position_reads = requests_on(&sim, "/v5/position/list", 0).await;
    assert!(
        position_reads <= seconds + 3 + SYMBOLS.len(),
        "{position_reads} position reads in {seconds} s"
    );
    let execution_reads = requests_on(&sim, "/v5/execution/list", 0).await;
    assert!((1..=3).contains(&execution_reads), "{execution_reads} execution reads");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert_eq!(exit.stderr.matches("ETHUSDT: position drift").count(), 1, "said once per drift");
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}

#[actix_rt::test]
async fn a_silent_private_socket_is_declared_dead_and_replaced() {
    let sim = start_sim();
    let mut bot = start_bot(
        "silent",
        &sim,
        BotOptions {
            ws: "ping_interval_ms = 1000",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let admin = Admin::new(&sim.rest_url());
    admin.set_faults(&json!({"silent_private": true})).await;
    // Dead after 2 × 1000 ms of silence; the reconnect stays silent until the fault clears.
    let dead = within(Duration::from_secs(10), || async {
        metric(&bot.metrics().await, "mmbot_ws_stale_total{stream=\"private\"}") >= 1.0
    })
    .await;
    assert!(dead.is_some(), "declared dead");
    admin.set_faults(&json!({})).await;
    // A new connection, not the dead one still shown as connected for a moment.
    let back = within(Duration::from_secs(15), || async {
        metric(&bot.metrics().await, "mmbot_ws_reconnects_total{stream=\"private\"}") >= 1.0
            && bot.status().await["connections"]["private"] == "connected"
    })
    .await;
    assert!(back.is_some(), "reconnected");
    // The reconnect's reconciliation runs once the new connection has authenticated.
    let reconciled = within(Duration::from_secs(10), || async {
        std::fs::read_to_string(&bot.stderr_path).is_ok_and(|e| e.contains("reconciling orders with the exchange after a reconnect"))
    })
    .await;
    assert!(reconciled.is_some(), "reconciled after the reconnect");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0);
    assert!(exit.stderr.contains("private stream: nothing heard for"), "{}", exit.stderr);
    assert!(exit.stderr.contains("reconciling orders with the exchange after a reconnect"));
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}

#[actix_rt::test]
async fn a_frozen_process_is_cancelled_by_the_dead_man_switch_and_recovers() {
    let sim = start_sim();
    let mut bot = start_bot(
        "frozen",
        &sim,
        BotOptions {
            order_manager: "dcp_window_s = 10",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let admin = Admin::new(&sim.rest_url());
    bot.signal(libc::SIGSTOP);
    // No ping for longer than the window: the exchange cancels everything, connections open.
    let fired = within(Duration::from_secs(20), || async {
        admin.stats().await["accounts"][0]["dcp_fired"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    bot.signal(libc::SIGCONT);
    assert!(fired.is_some(), "the simulator's DCP fired while the bot was frozen");
    // Within 5 s (wide for a loaded machine) the bot believes no order the exchange does not list.
    let consistent = within(Duration::from_secs(10), || async {
        let listed: Vec<String> = bot_orders(&sim, &SYMBOLS)
            .await
            .iter()
            .filter_map(|o| o["orderLinkId"].as_str().map(String::from))
            .collect();
        let status = bot.status().await;
        status["open_orders"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["phase"] == "Live")
            .all(|o| listed.iter().any(|l| o["link_id"] == l.as_str()))
    })
    .await;
    assert!(consistent.is_some(), "no ghost orders after the dead-man switch");
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}

#[actix_rt::test]
async fn a_frame_with_one_bad_item_keeps_the_good_one() {
    let sim = start_sim();
    let mut bot = start_bot("baditem", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    // One of this run's own orders filled (only those count in the bot's PnL).
    let own = format!("{PREFIX}-{}-9999", bot.status().await["run_id"].as_str().unwrap());
    let good = json!({"category": "linear", "symbol": "SOLUSDT", "execId": "injected-1", "orderLinkId": own, "side": "Buy",
        "execPrice": "100", "execQty": "0.5", "execFee": "0.01", "execType": "Trade", "execTime": now,
        "closedSize": "", "execPnl": "", "extraFees": [], "orderType": "Limit", "orderPrice": "", "leavesQty": ""});
    let bad = json!({"category": "linear", "symbol": "SOLUSDT", "execId": "injected-2", "side": "Buy", "execPrice": "not a number",
        "execQty": "0.5", "execType": "Trade", "execTime": now});
    let spot = json!({"category": "spot", "symbol": "SOLUSDT", "execId": "injected-3", "side": "Buy", "execPrice": "100",
        "execQty": "7", "execType": "Trade", "execTime": now});
    // Funding is real money on a line of its own, not a fill.
    let funding = json!({"category": "linear", "symbol": "SOLUSDT", "execId": "funding-1", "side": "Buy", "execPrice": "100",
        "execQty": "0.5", "execFee": "0.3", "execType": "Funding", "execTime": now, "orderType": "UNKNOWN"});
    let frame = json!({"id": "x", "topic": "execution", "creationTime": 1, "data": [bad, good, spot, funding]});
    let r = awc::Client::new()
        .post(format!("{}/sim/ws/inject", sim.rest_url()))
        .send_json(&json!({"text": frame.to_string(), "api_key": KEY, "topic": "execution"}))
        .await
        .unwrap();
    assert!(r.status().is_success());
    let volume = "50".parse::<Decimal>().unwrap();
    let kept = within(Duration::from_secs(5), || async { bot_volume(&bot, "SOLUSDT").await == volume }).await;
    assert!(kept.is_some(), "the good item counts (0.5 × 100), the spot item does not");
    assert_eq!(metric(&bot.metrics().await, "mmbot_ws_skipped_items_total"), 1.0);
    let pnl = &bot.status().await["pnl"]["symbols"]["SOLUSDT"];
    assert_eq!(dec(&pnl["funding"]), "0.3".parse::<Decimal>().unwrap(), "{pnl}");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0);
    assert!(exit.stderr.contains("skipped an undecodable execution item"), "{}", exit.stderr);
}

#[actix_rt::test]
async fn an_operators_manual_fill_moves_the_position_but_not_the_bots_pnl() {
    // A still market: the bot's quotes do not fill, so every execution below is the operator's.
    let sim = start_quiet_sim();
    let mut bot = start_bot("manual-fill", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let buy = exchange(&sim)
        .post(
            "/v5/order/create",
            &json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.012", "orderLinkId": "by-hand-1"}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(buy.ret_code(), 0, "{:?}", buy.body);
    let held: Decimal = "0.012".parse().unwrap();
    let seen = within(Duration::from_secs(15), || async { bot_position(&bot, "BTCUSDT").await == held }).await;
    assert!(seen.is_some(), "the bot's inventory is the exchange's position");
    // A second's grace for the execution push, which arrives beside the position's.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let a = exchange(&sim)
        .get("/v5/execution/list", "category=linear&symbol=BTCUSDT&limit=100")
        .await
        .unwrap();
    let list = a.body["result"]["list"].as_array().unwrap().clone();
    let volume_of = |mine: bool| -> Decimal {
        list.iter()
            .filter(|e| e["execType"] == "Trade" && e["orderLinkId"].as_str().unwrap_or("").starts_with(PREFIX) == mine)
            .map(|e| dec(&e["execQty"]) * dec(&e["execPrice"]))
            .sum()
    };
    assert!(volume_of(false) > Decimal::ZERO, "the operator's fill is on the exchange: {list:?}");
    let status = bot.status().await;
    let pnl = &status["pnl"]["symbols"]["BTCUSDT"];
    assert_eq!(dec(&pnl["volume"]), volume_of(true), "only the bot's own fills are its PnL: {pnl}");
    bot.signal(libc::SIGTERM);
    assert_eq!(bot.wait_exit(Duration::from_secs(40)).code, 0);
}
