//! `[exchange.rate_limits]`: the account's budgets as configured, Bybit's default tier unless a
//! VIP/PRO account says otherwise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use bybit_v5::limits::{self, Budget};

/// `[exchange.rate_limits]`: the account's budgets. Defaults are Bybit's default tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Order units per second for each order endpoint (create, amend, cancel, cancel-all and each
    /// batch endpoint has its own); Bybit's default tier: 10.
    pub orders_per_sec: u32,
    /// Order/position/account reads per second; Bybit: 50.
    pub reads_per_sec: u32,
    /// HTTP requests per rolling 5 s from this IP; Bybit: 600, then HTTP 403.
    pub ip_requests_per_5s: u32,
    /// How long to send nothing after an HTTP 403 (Bybit: at least 10 minutes).
    pub ip_ban_ms: u64,
    /// Requests of the IP window that only cancels may use: a risk pull or a shutdown never
    /// waits behind quotes and reads.
    pub cancel_reserve: u32,
    /// Requests of the IP window never used, by anything: this count is stamped when a request is
    /// admitted, the exchange's when it arrives, so the two windows' edges differ by the trip —
    /// and one request over costs a ban of every REST path (cancels too) for `ip_ban_ms`.
    pub ip_margin: u32,
    /// How much longer than the exchange's one-second window a unit counts as spent (ms): our
    /// count stamps a unit when its answer arrives, the exchange when its rate limiter gets to
    /// it — under network jitter and a loaded host the exchange's stamp can trail the request's
    /// arrival, and a unit freed by our clock is still in its window. At a saturated endpoint this
    /// gives up `limit × margin / (1000 + margin)` units per second (50 ms of 10/s: 0.48/s).
    pub window_margin_ms: u64,
    /// Per-endpoint budgets that differ from the above (a VIP/PRO account), by path.
    pub endpoints: BTreeMap<String, u32>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            orders_per_sec: limits::DEFAULT_ORDERS_PER_SEC,
            reads_per_sec: limits::DEFAULT_READS_PER_SEC,
            ip_requests_per_5s: limits::IP_REQUESTS_PER_5S,
            ip_ban_ms: limits::IP_BAN_MS,
            cancel_reserve: 30,
            ip_margin: 30,
            window_margin_ms: 50,
            endpoints: BTreeMap::new(),
        }
    }
}

impl RateLimitSettings {
    /// The configured per-second budget of `endpoint`; None for public paths.
    pub fn limit_for(&self, endpoint: &str) -> Option<u32> {
        if let Some(n) = self.endpoints.get(endpoint) {
            return Some(*n);
        }
        Some(match limits::budget_of(endpoint)? {
            Budget::Orders => self.orders_per_sec,
            Budget::Reads => self.reads_per_sec,
            Budget::Fixed(n) => n,
        })
    }
}

impl RateLimitSettings {
    /// How long a unit counts as spent: the exchange's window and our margin.
    pub fn unit_hold(&self) -> std::time::Duration {
        std::time::Duration::from_millis(1000 + self.window_margin_ms)
    }
}
