//! Shutdowns that cannot be clean, and say so: a hanging cancel-all (exit 4 by the deadline,
//! naming the orders that may remain) and a second signal (exit 5 at once, recorder flushed).

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

#[actix_rt::test]
async fn hanging_cancel_all_times_out_the_order_step_and_exits_4_by_the_deadline() {
    let sim = start_sim();
    let opts = BotOptions {
        shutdown: "deadline_ms = 6000\norder_manager_ms = 2500\nrest_connector_ms = 1000",
        ..Default::default()
    };
    let mut bot = start_bot("hang", &sim, opts);
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    set_faults(&sim, json!({"hang": ["/v5/order/cancel-all"]})).await;
    let dir = bot.dir.clone();
    let sent = Instant::now();
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(20));
    let took = sent.elapsed();
    assert_eq!(exit.code, 4, "stdout:\n{}", exit.stdout);
    assert!(
        took < Duration::from_millis(6000 + 3000),
        "exits by the deadline (plus a wide margin): {took:?}"
    );
    let om = exit.stdout.lines().find(|l| l.contains(" order_manager ")).unwrap();
    assert!(om.contains("timed out"), "{om}");
    assert!(om.contains("24 orders may remain"), "the exchange was asked what remains: {om}");
    assert!(
        exit.stdout.contains("orders that may remain: e2e-"),
        "names the orders: {}",
        exit.stdout
    );
    for later in ["strategy", "ws_connector", "rest_connector", "web_server", "recorder"] {
        assert!(
            exit.stdout.contains(&format!(" {later} ")),
            "later step {later} still ran:\n{}",
            exit.stdout
        );
    }
    assert!(exit.stdout.contains("ORDERS MAY REMAIN"));
    // Indeed they do: the exchange still holds them.
    assert!(!bot_orders(&sim, &SYMBOLS).await.is_empty());
    let lines = recorder_lines_in(&dir);
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "shutdown_report");
    assert_eq!(last["exit_code"], 4);
}

#[actix_rt::test]
async fn second_sigterm_forces_exit_5_at_once_with_recorder_flushed() {
    let sim = start_sim();
    let mut bot = start_bot("force", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    // A slow exchange makes the order step last seconds.
    set_faults(&sim, json!({"latency_ms": {"/v5/order/cancel-all": 10000}})).await;
    bot.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(bot.is_running(), "still in the slow order step");
    let dir = bot.dir.clone();
    let second = Instant::now();
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(10));
    assert_eq!(exit.code, 5);
    assert!(second.elapsed() < Duration::from_secs(3), "at once: {:?}", second.elapsed());
    assert!(exit.stdout.contains("forced"));
    let file = std::fs::read_dir(dir.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("events-"))
        .unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    let kinds: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(kinds.contains(&"shutdown_started".to_string()));
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("shutdown_forced"),
        "flushed through the forced exit"
    );
}
