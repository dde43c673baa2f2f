//! Shutdowns that cannot be clean, and say so: an exchange that is gone (every request hangs:
//! exit 4 by the deadline, naming the orders that may remain) and a second signal (exit 5 at
//! once, naming the orders believed open, recorder flushed).

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

#[actix_rt::test]
async fn an_exchange_that_is_gone_times_out_the_order_step_and_exits_4_naming_the_orders() {
    let sim = start_sim();
    let opts = BotOptions {
        shutdown: "deadline_ms = 6000\norder_manager_ms = 2500\npositions_ms = 1000\nrest_connector_ms = 1000\nrecorder_ms = 3000",
        // No dead-man switch: nothing cancels on the exchange's side either.
        order_manager: "dcp_window_s = 0",
        ..Default::default()
    };
    let mut bot = start_bot("gone", &sim, opts);
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    // Every REST path and the trade socket accept and never answer.
    set_faults(&sim, json!({"hang": ["*", "/v5/trade"]})).await;
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
    assert!(om.contains("may remain"), "{om}");
    for symbol in SYMBOLS {
        assert!(exit.stdout.contains(&format!("orders {symbol} NOT FLAT")), "{}", exit.stdout);
    }
    assert!(
        exit.stdout.contains("orders that may remain: e2e-"),
        "names the orders: {}",
        exit.stdout
    );
    for later in ["positions", "strategy", "ws_connector", "rest_connector", "web_server", "recorder"] {
        assert!(
            exit.stdout.contains(&format!(" {later} ")),
            "later step {later} still ran:\n{}",
            exit.stdout
        );
    }
    assert!(exit.stdout.contains("ORDERS MAY REMAIN"));
    // Indeed they do: the exchange still holds them, each one named.
    set_faults(&sim, json!({})).await;
    let left = bot_orders(&sim, &SYMBOLS).await;
    assert_eq!(left.len(), 24);
    for o in &left {
        assert!(exit.stdout.contains(o["orderLinkId"].as_str().unwrap()), "{o} named");
    }
    let lines = recorder_lines_in(&dir);
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "shutdown_report");
    assert_eq!(last["exit_code"], 4);
}

#[actix_rt::test]
async fn second_sigterm_forces_exit_5_at_once_with_recorder_flushed() {
    let sim = start_sim();
    let opts = BotOptions {
        order_manager: "dcp_window_s = 0",
        ..Default::default()
    };
    let mut bot = start_bot("force", &sim, opts);
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    // Every cancel path hangs: the order step lasts its 20 s, reading what is open.
    set_faults(
        &sim,
        json!({"hang": ["/v5/order/cancel-all", "/v5/order/cancel-batch", "/v5/order/cancel", "/v5/trade"]}),
    )
    .await;
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
    // It names what may be live: the orders the exchange listed during the shutdown.
    assert!(exit.stdout.contains("24 order(s) may be live"), "{}", exit.stdout);
    set_faults(&sim, json!({})).await;
    for o in bot_orders(&sim, &SYMBOLS).await {
        assert!(exit.stdout.contains(o["orderLinkId"].as_str().unwrap()), "{o} named");
    }
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
    let forced: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let believed: usize = forced["believed_open"]
        .as_object()
        .expect("believed-open orders recorded")
        .values()
        .map(|v| v.as_array().unwrap().len())
        .sum();
    assert_eq!(believed, 24);
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("shutdown_forced"),
        "flushed through the forced exit"
    );
}
