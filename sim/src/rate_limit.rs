//! Per-account, per-endpoint rate limits over a rolling one-second window, as Bybit applies them
//! (batch endpoints spend one unit per order), and the headers every answer carries.

use std::collections::{HashMap, VecDeque};

use bybit_v5::rest::path;

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct RateLimits {
    /// Per second for create, amend, cancel, cancel-all and each batch endpoint.
    pub orders_per_sec: u32,
    /// Per second for order/position/account reads.
    pub reads_per_sec: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            orders_per_sec: 10,
            reads_per_sec: 50,
        }
    }
}

impl RateLimits {
    pub fn limit_for(&self, p: &str) -> u32 {
        match p {
            path::DCP => 5,
            path::FEE_RATE | path::COIN_INFO | path::DCP_INFO => 5,
            p if p.starts_with("/v5/order/") && !matches!(p, path::ORDER_REALTIME | path::ORDER_HISTORY) => self.orders_per_sec,
            _ => self.reads_per_sec,
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
