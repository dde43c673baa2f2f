//! What the high-availability tests share: the bots' configuration (2 symbols × 2 levels × 2
//! sides on one account, an `[ha]` section naming an etcd) and their role as `/status` says it.

// Each test binary that includes this uses part of it.
#![allow(dead_code)]

use serde_json::Value;

use super::support::{Bot, BotOptions};

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
