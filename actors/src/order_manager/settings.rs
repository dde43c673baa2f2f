//! The OrderManager's settings (`[orders]`): how it cancels at stop (`cancel_scope`), what it
//! does with orders it finds at start, its timers.

use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::budget::round_trips::SilenceBounds;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CancelScope {
    /// cancel-all per symbol: fastest, and catches orders the bot lost track of — but it also
    /// removes manual orders and other bots' orders on a shared account.
    Symbol,
    /// Batch-cancel only orders carrying the bot's order-link prefix.
    Own,
    /// One cancel-all by settleCoin (USDT) for every symbol at once, verified by one listing of
    /// the account's open orders: the fewest requests (one instead of one per symbol) — and it
    /// removes every USDT order on the account, the bot's or not. For an account the bot has
    /// to itself.
    Account,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrderManagerSettings {
    /// First part of every orderLinkId: letters, digits, `_`; at most 12 characters.
    pub link_prefix: String,
    pub cancel_scope: CancelScope,
    /// Price moves up to this many basis points keep an order in place (no churn).
    pub requote_tolerance_bps: Decimal,
    /// How often open orders are reconciled with the exchange while running.
    pub reconcile_interval_ms: u64,
    /// What to do at startup with open orders carrying the prefix but another run id.
    pub leftovers: LeftoverPolicy,
    /// Exchange-side dead-man switch (disconnect-cancel-all) window in seconds, 3 to 300; 0 = off.
    pub dcp_window_s: u32,
    /// The longest a cancel path may stay unanswered before the next one starts alongside (left
    /// to finish: cancels are idempotent); the failure backoff's base.
    pub escalate_after_ms: u64,
    /// The shortest: a path is passed over after `escalate_rtt_factor` × the link's recent p99
    /// round trip to its endpoint, but never sooner than this.
    pub escalate_floor_ms: u64,
    /// How many recent p99 round trips of silence mean a path hangs; 0 = always `escalate_after_ms`.
    pub escalate_rtt_factor: u32,
}

impl OrderManagerSettings {
    /// When a silent cancel path is passed over.
    pub fn silence(&self) -> SilenceBounds {
        let cap = Duration::from_millis(self.escalate_after_ms);
        if self.escalate_rtt_factor == 0 {
            return SilenceBounds::fixed(cap);
        }
        SilenceBounds {
            factor: self.escalate_rtt_factor,
            floor: Duration::from_millis(self.escalate_floor_ms),
            cap,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeftoverPolicy {
    /// Cancel them before the first quote.
    Cancel,
    /// Leave them resting; the shutdown cancels them with the rest (same prefix).
    Adopt,
    /// Do not start while they exist.
    Refuse,
}

impl Default for OrderManagerSettings {
    fn default() -> Self {
        Self {
            link_prefix: "mmb".into(),
            cancel_scope: CancelScope::Symbol,
            requote_tolerance_bps: Decimal::TWO,
            reconcile_interval_ms: 5000,
            leftovers: LeftoverPolicy::Cancel,
            dcp_window_s: 10,
            escalate_after_ms: 1000,
            escalate_floor_ms: 50,
            escalate_rtt_factor: 4,
        }
    }
}
