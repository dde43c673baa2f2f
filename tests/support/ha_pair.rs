//! What the high-availability tests share: the bots' configuration (2 symbols × 2 levels × 2
//! sides on one account, an `[ha]` section naming an etcd) and their role as `/status` says it.

// Each test binary that includes this uses part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::Value;

use super::order_log;
use super::support::{recorder_file, Bot, BotOptions, PREFIX};

pub const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];
/// 2 levels × 2 sides × 2 symbols.
pub const ORDERS: usize = 8;

/// The lease's timings, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    pub ttl: u64,
    pub renew: u64,
    pub margin: u64,
    pub request_timeout: u64,
}

/// A bot of the pair. The margin must exceed the receive window (a create sent before giving up
/// cannot land after the lease could lapse): 1500 ms here.
pub fn options(etcd_urls: &[&str], lease: Lease, risk: &'static str) -> BotOptions {
    let endpoints = etcd_urls.iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>().join(", ");
    BotOptions {
        risk,
        symbols: SYMBOLS.to_vec(),
        levels: 2,
        exchange: "recv_window_ms = 1500",
        order_manager: "cancel_scope = \"own\"",
        tail: format!(
            "[ha]\nendpoints = [{endpoints}]\nlease_ttl_ms = {}\nrenew_every_ms = {}\nmargin_ms = {}\nrequest_timeout_ms = {}\n",
            lease.ttl, lease.renew, lease.margin, lease.request_timeout
        ),
        ..Default::default()
    }
}

/// `/status`, or None while the control server is not up (yet, or any more).
pub async fn status(bot: &Bot) -> Option<Value> {
    let mut r = awc::Client::new().get(bot.control_url("/status")).send().await.ok()?;
    r.json().limit(1 << 22).await.ok()
}

/// The role `/status` shows; empty while it does not answer.
pub async fn role(bot: &Bot) -> String {
    status(bot)
        .await
        .and_then(|s| s["ha"]["role"].as_str().map(String::from))
        .unwrap_or_default()
}

pub async fn run_id(bot: &Bot) -> String {
    bot.status().await["run_id"].as_str().unwrap().to_string()
}

/// The events the recorder has written so far; a line still being written is not one yet.
pub fn events_so_far(bot: &Bot) -> Vec<Value> {
    let text = recorder_file(&bot.dir)
        .and_then(|f| std::fs::read_to_string(f).ok())
        .unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect()
}

/// The first recorded event that `matches`, waiting for the recorder to write it: it reaches the
/// file a few milliseconds after the bot acts on it.
pub async fn recorded(bot: &Bot, matches: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        if let Some(e) = events_so_far(bot).into_iter().find(|e| matches(e)) {
            return e;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no such event in {}",
            bot.dir.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn wait_role(bot: &mut Bot, want: &str, limit: Duration) -> Instant {
    let started = Instant::now();
    loop {
        assert!(bot.is_running(), "mmbot exited early; see {}", bot.stderr_path.display());
        if role(bot).await == want {
            return Instant::now();
        }
        assert!(
            started.elapsed() < limit,
            "not {want} within {limit:?}; see {}",
            bot.stderr_path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every request the bot sent to the exchange so far, and its order requests, from its metrics.
pub async fn requests_sent(bot: &Bot) -> (f64, f64) {
    let m = bot.metrics().await;
    let sum = |prefix: &str| -> f64 {
        m.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    (sum("mmbot_rest_requests_total{"), sum("mmbot_order_entry_requests_total{"))
}

pub async fn assert_no_overlap(sim: &bybit_sim::SimHandle) -> Vec<order_log::Rested> {
    let log = order_log::read(&sim.rest_url(), PREFIX).await;
    let both = order_log::overlaps(&log);
    assert!(
        both.is_empty(),
        "orders of two runs rested together: {:?}",
        &both[..both.len().min(5)]
    );
    log
}

/// SIGTERM each, each exits 0, and none of the bot's orders is left on the exchange.
pub async fn stop_all_flat(sim: &bybit_sim::SimHandle, bots: Vec<Bot>) {
    for bot in bots {
        bot.signal(libc::SIGTERM);
        assert_eq!(bot.wait_exit(Duration::from_secs(60)).code, 0);
    }
    assert!(super::support::bot_orders(sim, &SYMBOLS).await.is_empty());
}
