//! The real mmbot against a real bybit-sim, with 24 resting orders, stopped the ways users stop
//! it: SIGTERM, SIGINT, POST /shutdown. Each must leave zero orders on the exchange, exit 0, and
//! leave a complete recorder file.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

async fn stop_and_check(name: &str, stop: impl AsyncFnOnce(&Bot)) {
    stop_and_check_with(name, BotOptions::default(), stop).await;
}

async fn stop_and_check_with(name: &str, opts: BotOptions, stop: impl AsyncFnOnce(&Bot)) {
    let sim = start_sim();
    let mut bot = start_bot(name, &sim, opts);
    let resting = wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    assert!(resting >= 24);
    stop(&bot).await;
    let dir = bot.dir.clone();
    let exit = bot.wait_exit(Duration::from_secs(45));
    assert_eq!(
        exit.code,
        0,
        "exit code; stdout:\n{}\nstderr tail:\n{}",
        exit.stdout,
        tail(&exit.stderr)
    );
    assert!(
        bot_orders(&sim, &SYMBOLS).await.is_empty(),
        "the exchange holds none of the bot's orders"
    );
    assert_all_steps_ok(&exit.stdout);
    assert!(exit.stdout.contains("verified 0 open on the exchange"), "{}", exit.stdout);
    assert!(exit.stdout.contains("exit code 0"));
    assert_recorder_complete(&dir, &exit);
    let lines = recorder_lines_in(&dir);
    let cancel = lines
        .iter()
        .find(|l| l["kind"] == "shutdown_cancel_orders")
        .expect("shutdown_cancel_orders recorded");
    assert_eq!(cancel["verified_flat"], true);
    assert!(cancel["cancelled"].as_u64().unwrap() >= 1);
    let report = lines.last().unwrap();
    assert_eq!(
        report["steps"].as_array().unwrap().len(),
        6,
        "the recorded report holds the six steps before the recorder's own"
    );
}

fn tail(s: &str) -> String {
    s.lines()
        .rev()
        .take(25)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n")
}

#[actix_rt::test]
async fn sigterm_leaves_no_orders_and_exits_0() {
    stop_and_check("sigterm", async |bot: &Bot| bot.signal(libc::SIGTERM)).await;
}

/// The connector on the main thread (`exchange.connector_thread = "main"`) rather than the
/// market thread: the same stop, the same outcome.
#[actix_rt::test]
async fn sigterm_with_the_connector_on_the_main_thread_leaves_no_orders() {
    let opts = BotOptions {
        exchange: "connector_thread = \"main\"",
        ..BotOptions::default()
    };
    stop_and_check_with("connector-main", opts, async |bot: &Bot| bot.signal(libc::SIGTERM)).await;
}

/// A busy-polling market thread (`[market_thread] busy_poll`): it rehearses the hot path while
/// quoting, and a SIGTERM still stops it, with the same outcome.
#[actix_rt::test]
async fn sigterm_with_a_busy_polling_market_thread_leaves_no_orders() {
    let opts = BotOptions {
        market_thread: "busy_poll = true\nrehearse_every_us = 200",
        ..BotOptions::default()
    };
    stop_and_check_with("busy-poll", opts, async |bot: &Bot| {
        let metrics = bot.metrics().await;
        assert!(
            metric(&metrics, "mmbot_hot_path_rehearsals_total") > 0.0,
            "the busy-polling thread rehearses the hot path:\n{metrics}"
        );
        bot.signal(libc::SIGTERM)
    })
    .await;
}

#[actix_rt::test]
async fn sigint_leaves_no_orders_and_exits_0() {
    stop_and_check("sigint", async |bot: &Bot| bot.signal(libc::SIGINT)).await;
}

#[actix_rt::test]
async fn http_shutdown_leaves_no_orders_and_exits_0() {
    stop_and_check("http", async |bot: &Bot| {
        let http = awc::Client::new();
        let mut first = http.post(bot.control_url("/shutdown")).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(first.status().as_u16(), 202);
        let first: Value = first.json().await.unwrap();
        // Asking again returns the same shutdown (or finds the server already stopping).
        if let Ok(mut again) = http.post(bot.control_url("/shutdown")).bearer_auth(TOKEN).send().await {
            if again.status().as_u16() == 202 {
                let again: Value = again.json().await.unwrap();
                assert_eq!(again["shutdown_id"], first["shutdown_id"]);
            }
        }
    })
    .await;
}

/// Bybit's cancel-all is asynchronous: its answer lists the orders while they still rest. With the
/// simulator's delay stretched to 400 ms, a stop must keep verifying until they are really gone —
/// never report flat from the answer alone.
#[actix_rt::test]
async fn an_asynchronous_cancel_all_is_verified_until_the_orders_are_gone() {
    stop_and_check("async-cancel-all", async |bot: &Bot| {
        let sim_url = {
            let cfg = std::fs::read_to_string(bot.dir.join("mmbot.toml")).unwrap();
            cfg.lines()
                .find_map(|l| l.strip_prefix("rest_url = \"").map(|u| u.trim_end_matches('"').to_string()))
                .unwrap()
        };
        bybit_sim::testkit::Admin::new(&sim_url)
            .set_faults(&serde_json::json!({"cancel_all_delay_ms": 400}))
            .await;
        let t = std::time::Instant::now();
        bot.signal(libc::SIGTERM);
        // The orders are still listed right after the stop began.
        let listed = exchange_at(&sim_url).open_orders_with_prefix(&SYMBOLS, PREFIX).await.unwrap();
        assert!(
            !listed.is_empty() || t.elapsed() > Duration::from_millis(350),
            "orders left at once"
        );
    })
    .await;
}
