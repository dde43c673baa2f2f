//! What inventory the bot leaves: the positions step asks the exchange for the position per
//! symbol and its notional, states it in the summary, `/status` and the recorder's report, and
//! with `shutdown.close_positions` closes it with reduce-only IOC orders within a slippage cap —
//! exit 3 when that fails while the orders are flat.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

/// The account's SOLUSDT position on the exchange (signed).
async fn sol_position(sim: &bybit_sim::SimHandle) -> f64 {
    let a = exchange(sim)
        .get_within_budget("/v5/position/list", "category=linear&symbol=SOLUSDT")
        .await
        .expect("exchange answers");
    let p = &a.body["result"]["list"][0];
    let size: f64 = p["size"].as_str().unwrap_or("0").parse().unwrap_or(0.0);
    if p["side"] == "Sell" {
        -size
    } else {
        size
    }
}

/// 24 orders resting, then the SOLUSDT market drops through the bot's best bid: the bot is long.
async fn bot_with_a_long(name: &str, sim: &bybit_sim::SimHandle, opts: BotOptions) -> (Bot, f64) {
    let mut bot = start_bot(name, sim, opts);
    wait_for_orders(sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let admin = bybit_sim::testkit::Admin::new(&sim.rest_url());
    let started = Instant::now();
    loop {
        admin.shock("SOLUSDT", -15.0).await;
        let size = sol_position(sim).await;
        if size > 0.0 {
            return (bot, size);
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no fill on the bot's bid");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn shutdown_report(dir: &std::path::Path) -> Value {
    let lines = recorder_lines_in(dir);
    let last = lines.last().unwrap().clone();
    assert_eq!(last["kind"], "shutdown_report");
    last
}

#[actix_rt::test]
async fn positions_left_open_are_stated_with_their_notional() {
    let sim = start_sim();
    let (bot, _) = bot_with_a_long("pos-left", &sim, BotOptions::default()).await;
    let dir = bot.dir.clone();
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "a position is not an order: {}", exit.stdout);
    // The market kept moving until the cancels: the exchange's figure at exit is the one stated.
    let size = sol_position(&sim).await;
    assert!(size > 0.0);
    let line = exit.stdout.lines().find(|l| l.contains("positions at exit:")).unwrap();
    assert!(line.contains("SOLUSDT ") && line.contains("notional"), "{line}");
    let positions = &shutdown_report(&dir)["positions"];
    assert_eq!(positions["close_requested"], false);
    let left = positions["left"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{positions}");
    assert_eq!(left[0]["symbol"], "SOLUSDT");
    let notional: f64 = left[0]["notional"].as_str().unwrap().parse().unwrap();
    let mark: f64 = left[0]["mark_price"].as_str().unwrap().parse().unwrap();
    let reported: f64 = left[0]["size"].as_str().unwrap().parse().unwrap();
    assert_eq!(reported, size, "what the exchange holds, nothing closed it");
    assert!((notional - size * mark).abs() < 1e-6, "{left:?}");
}

#[actix_rt::test]
async fn close_positions_closes_them_reduce_only_after_the_cancels() {
    let sim = start_sim();
    let opts = BotOptions {
        shutdown: "close_positions = true\nclose_slippage_bps = 100",
        ..Default::default()
    };
    let (bot, _) = bot_with_a_long("pos-close", &sim, opts).await;
    let dir = bot.dir.clone();
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert_all_steps_ok(&exit.stdout);
    assert!(exit.stdout.contains("closed SOLUSDT "), "{}", exit.stdout);
    assert!(exit.stdout.contains("positions at exit: none"), "{}", exit.stdout);
    assert_eq!(sol_position(&sim).await, 0.0, "flat on the exchange");
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
    let positions = &shutdown_report(&dir)["positions"];
    assert_eq!(positions["before_close"][0]["symbol"], "SOLUSDT");
    assert_eq!(positions["left"], json!([]));
}

#[actix_rt::test]
async fn a_close_that_cannot_fill_exits_3_with_orders_flat_and_status_shows_the_position() {
    let sim = start_sim();
    let opts = BotOptions {
        shutdown: "close_positions = true\npositions_ms = 4000",
        ..Default::default()
    };
    let (bot, _) = bot_with_a_long("pos-fail", &sim, opts).await;
    let dir = bot.dir.clone();
    // The close order's endpoint hangs (quotes go by create-batch, unaffected until now).
    set_faults(&sim, json!({"hang": either_transport("/v5/order/create")})).await;
    bot.signal(libc::SIGTERM);
    // While the positions step waits on its close, /status states what is open.
    let started = Instant::now();
    let status = loop {
        let s = bot.status().await;
        if !s["shutdown"]["positions"].is_null() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no positions in /status: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let left = &status["shutdown"]["positions"]["left"];
    assert_eq!(left[0]["symbol"], "SOLUSDT", "{status}");
    assert!(!status["shutdown"]["orders"]["symbols"].as_array().unwrap().is_empty(), "{status}");
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 3, "{}", exit.stdout);
    let step = exit.stdout.lines().find(|l| l.contains(" positions ")).unwrap();
    assert!(step.contains("failed") && step.contains("SOLUSDT"), "{step}");
    assert!(exit.stdout.contains("verified 0 open on the exchange"), "{}", exit.stdout);
    set_faults(&sim, json!({})).await;
    let size = sol_position(&sim).await;
    assert!(size > 0.0, "still open, as reported");
    let reported: f64 = shutdown_report(&dir)["positions"]["left"][0]["size"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(reported, size);
    assert_eq!(shutdown_report(&dir)["exit_code"], 3);
}
