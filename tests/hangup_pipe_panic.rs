//! The ordinary ways a process ends that are not SIGINT/SIGTERM: a terminal that hangs up
//! (SIGHUP), Ctrl+\ (SIGQUIT), a stdout pipe whose reader is gone, a panic in an actor, and a data
//! disk that fills up. Each must end the process within its deadline with no order left, judged
//! by asking the exchange. Live mode against bybit-sim on loopback.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

fn live() -> BotOptions {
    BotOptions {
        mode: "live",
        ..Default::default()
    }
}

fn last_shutdown(dir: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(dir.join("data/last-shutdown.json")).expect("last-shutdown.json written");
    serde_json::from_str(&text).unwrap()
}

async fn stop_by(signal: i32, name: &str) {
    let sim = start_sim();
    let mut bot = start_bot(&format!("sig{signal}"), &sim, live());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    bot.signal(signal);
    let exit = bot.wait_exit(Duration::from_secs(45));
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    assert!(exit.stdout.contains(&format!("(reason: {name})")), "{}", exit.stdout);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty(), "no order left on the exchange");
}

#[actix_rt::test]
async fn sighup_stops_gracefully_with_no_order_left() {
    stop_by(libc::SIGHUP, "SIGHUP").await;
}

#[actix_rt::test]
async fn sigquit_stops_gracefully_with_no_order_left() {
    stop_by(libc::SIGQUIT, "SIGQUIT").await;
}

#[actix_rt::test]
async fn a_stdout_whose_reader_is_gone_does_not_keep_the_process_alive() {
    let sim = start_sim();
    let mut bot = start_bot(
        "epipe",
        &sim,
        BotOptions {
            stdout_closed_pipe: true,
            ..live()
        },
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let dir = bot.dir.clone();
    bot.signal(libc::SIGTERM);
    // The deadline is 40 s: the process must be gone well inside it, not sleep forever.
    let exit = bot.wait_exit(Duration::from_secs(45));
    assert_eq!(exit.code, 0, "{}", exit.stderr);
    assert!(!exit.stderr.contains("panicked"), "{}", exit.stderr);
    assert!(exit.stderr.contains("stdout cannot be written"), "{}", exit.stderr);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
    let report = last_shutdown(&dir);
    assert_eq!(report["reason"], "SIGTERM");
    assert_eq!(report["exit_code"], 0);
    assert!(report["cancelled_orders"].as_u64().unwrap() >= 24, "{report}");
}

async fn panic_in(actor: &'static str) -> (Exit, Value, bybit_sim::SimHandle) {
    let sim = start_sim();
    let mut bot = start_bot(
        &format!("panic-{actor}"),
        &sim,
        BotOptions {
            env: vec![("MMBOT_FAULT_PANIC", actor), ("MMBOT_FAULT_PANIC_AFTER_MS", "3000")],
            ..live()
        },
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let dir = bot.dir.clone();
    // Nobody signals it: the panic alone must stop the bot within its deadline.
    let exit = bot.wait_exit(Duration::from_secs(60));
    let report = last_shutdown(&dir);
    (exit, report, sim)
}

#[actix_rt::test]
async fn a_panic_in_the_strategy_stops_the_bot_flat() {
    let (exit, report, sim) = panic_in("strategy").await;
    assert_eq!(exit.code, 3, "flat, but the run did not end cleanly:\n{}", exit.stdout);
    let reason = report["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("panic: injected fault: strategy panics handling a book update at ") && reason.contains("strategy/actor.rs"),
        "{reason}"
    );
    assert!(exit.stderr.contains("PANIC in thread"), "{}", exit.stderr);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty(), "no order left on the exchange");
}

#[actix_rt::test]
async fn a_panic_in_the_order_manager_is_flattened_by_the_supervisor() {
    let (exit, report, sim) = panic_in("order_manager").await;
    assert_eq!(exit.code, 3, "flat, but the run did not end cleanly:\n{}", exit.stdout);
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .starts_with("panic: injected fault: order_manager"),
        "{report}"
    );
    let step = exit.stdout.lines().find(|l| l.contains("1. order_manager")).unwrap();
    assert!(step.contains(" ok ") && step.contains("last-resort flatten"), "{step}");
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty(), "no order left on the exchange");
    // A live config without a cancel scope cancels only its own orders: by id (one batch per
    // symbol, again only for a symbol a later listing still shows), never a cancel-all.
    let cancel_alls = requests_on(&sim, "/v5/order/cancel-all", 0).await;
    assert_eq!(cancel_alls, 0, "{cancel_alls} cancel-all requests under cancel_scope own");
    let batches = requests_on(&sim, "/v5/order/cancel-batch", 0).await;
    assert!((3..=6).contains(&batches), "{batches} cancel-batch requests");
}

#[actix_rt::test]
async fn a_full_disk_with_on_write_failure_stop_stops_the_bot_flat() {
    let sim = start_sim();
    let mut bot = start_bot(
        "diskfull-stop",
        &sim,
        BotOptions {
            recorder: "on_write_failure = \"stop\"",
            // The event file fills up while the bot quotes; stderr (info only) stays under it.
            file_size_limit: Some(24 * 1024),
            env: vec![("RUST_LOG", "info")],
            ..live()
        },
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let dir = bot.dir.clone();
    let exit = bot.wait_exit(Duration::from_secs(90));
    assert_eq!(exit.code, 3, "{}\n{}", exit.stdout, exit.stderr);
    assert!(exit.stderr.contains("RECORDER FAILURE"), "{}", exit.stderr);
    assert!(last_shutdown(&dir)["reason"].as_str().unwrap().starts_with("recorder cannot write"));
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty(), "orders cancelled and verified");
}
