//! Per-account, per-endpoint rate limits over a rolling one-second window, as Bybit applies them
//! (batch endpoints spend one unit per order), and the headers every answer carries.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use bybit_v5::limits;

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct RateLimits {
    /// Per second for create, amend, cancel, cancel-all and each batch endpoint.
    pub orders_per_sec: u32,
    /// Per second for order/position/account reads.
    pub reads_per_sec: u32,
    /// HTTP requests per rolling 5 s per client IP, across every `/v5/` path (Bybit: 600).
    pub ip_requests_per_5s: u32,
    /// How long an IP that went over stays banned (HTTP 403). Bybit says at least 10 minutes;
    /// the simulator's default is shorter so a test that trips it does not wait that long.
    pub ip_ban_ms: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            orders_per_sec: limits::DEFAULT_ORDERS_PER_SEC,
            reads_per_sec: limits::DEFAULT_READS_PER_SEC,
            ip_requests_per_5s: limits::IP_REQUESTS_PER_5S,
            ip_ban_ms: 30_000,
        }
    }
}

impl RateLimits {
    pub fn limit_for(&self, p: &str) -> u32 {
        match limits::budget_of(p) {
            Some(limits::Budget::Orders) => self.orders_per_sec,
            Some(limits::Budget::Fixed(n)) => n,
            Some(limits::Budget::Reads) | None => self.reads_per_sec,
        }
    }
}

/// What the rate-limit headers say after a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub limit: u32,
    pub remaining: u32,
    pub reset_ms: u64,
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: HashMap<(usize, String), VecDeque<u64>>,
    ip_windows: HashMap<IpAddr, VecDeque<u64>>,
    banned_until: HashMap<IpAddr, u64>,
}

/// The IP limit's verdict on one HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpVerdict {
    Pass,
    /// Over the limit (now or earlier): HTTP 403 until this time (ms).
    Banned {
        until_ms: u64,
    },
}

impl RateLimiter {
    /// Spend up to `units` from the rolling window; returns how many were granted and the budget.
    pub fn spend(&mut self, limits: &RateLimits, account: usize, endpoint: &str, units: u32, now_ms: u64) -> (u32, Budget) {
        let limit = limits.limit_for(endpoint);
        let w = self.windows.entry((account, endpoint.to_string())).or_default();
        while w.front().is_some_and(|t| now_ms.saturating_sub(*t) >= 1000) {
            w.pop_front();
        }
        let free = limit.saturating_sub(w.len() as u32);
        let granted = units.min(free);
        for _ in 0..granted {
            w.push_back(now_ms);
        }
        let remaining = limit.saturating_sub(w.len() as u32);
        // Never in the past: one SDK sleeps until this and fails on a negative wait.
        let reset_ms = if remaining == 0 {
            w.front().map(|t| t + 1000).unwrap_or(now_ms).max(now_ms + 1)
        } else {
            now_ms
        };
        (
            granted,
            Budget {
                limit,
                remaining,
                reset_ms,
            },
        )
    }

    /// Count one HTTP request from `ip` against the rolling 5 s IP window; going over bans the
    /// IP for `ip_ban_ms`, and a banned IP's requests do not count (they never reach the API).
    pub fn ip_request(&mut self, limits: &RateLimits, ip: IpAddr, now_ms: u64) -> IpVerdict {
        if let Some(until) = self.banned_until.get(&ip).copied() {
            if now_ms < until {
                return IpVerdict::Banned { until_ms: until };
            }
            self.banned_until.remove(&ip);
        }
        let w = self.ip_windows.entry(ip).or_default();
        while w.front().is_some_and(|t| now_ms.saturating_sub(*t) >= 5000) {
            w.pop_front();
        }
        if w.len() as u32 >= limits.ip_requests_per_5s {
            let until = now_ms + limits.ip_ban_ms;
            self.banned_until.insert(ip, until);
            w.clear();
            return IpVerdict::Banned { until_ms: until };
        }
        w.push_back(now_ms);
        IpVerdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bybit_v5::rest::path;

    #[test]
    fn window_fills_then_recovers() {
        let limits = RateLimits::default();
        let mut rl = RateLimiter::default();
        let (g, b) = rl.spend(&limits, 0, path::ORDER_CREATE_BATCH, 8, 1000);
        assert_eq!((g, b.remaining), (8, 2));
        let (g, b) = rl.spend(&limits, 0, path::ORDER_CREATE_BATCH, 5, 1500);
        assert_eq!((g, b.remaining), (2, 0));
        assert!(b.reset_ms >= 1500);
        let (g, _) = rl.spend(&limits, 0, path::ORDER_CREATE_BATCH, 5, 2001);
        assert_eq!(g, 5);
        // Other accounts and endpoints have their own windows.
        assert_eq!(rl.spend(&limits, 1, path::ORDER_CREATE_BATCH, 10, 1500).0, 10);
        assert_eq!(rl.spend(&limits, 0, path::ORDER_REALTIME, 50, 1500).0, 50);
    }

    #[test]
    fn ip_over_the_limit_is_banned_for_the_ban_window() {
        let limits = RateLimits {
            ip_requests_per_5s: 3,
            ip_ban_ms: 10_000,
            ..Default::default()
        };
        let mut rl = RateLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        for t in [0, 1, 2] {
            assert_eq!(rl.ip_request(&limits, ip, t), IpVerdict::Pass);
        }
        assert_eq!(rl.ip_request(&limits, ip, 3), IpVerdict::Banned { until_ms: 10_003 });
        assert_eq!(rl.ip_request(&limits, other, 3), IpVerdict::Pass);
        // Still banned after the 5 s window has rolled on; free once the ban ends.
        assert_eq!(rl.ip_request(&limits, ip, 9_000), IpVerdict::Banned { until_ms: 10_003 });
        assert_eq!(rl.ip_request(&limits, ip, 10_003), IpVerdict::Pass);
    }
}
