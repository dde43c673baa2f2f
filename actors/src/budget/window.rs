//! One endpoint's rolling one-second window, counted the way the exchange counts it.

/// The exchange's window for per-endpoint budgets.
pub(super) const WINDOW: Duration = Duration::from_secs(1);

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One endpoint's rolling window.
#[derive(Debug)]
pub(super) struct Window {
    pub(super) configured: u32,
    /// What the exchange's headers say this account has, once an answer told us.
    pub(super) learned: Option<u32>,
    /// One entry per unit spent in the last second.
    pub(super) spent: VecDeque<Instant>,
    pub(super) blocked_until: Option<Instant>,
    pub(super) deferred: u64,
}

impl Window {
    pub(super) fn limit(&self) -> u32 {
        self.learned.map_or(self.configured, |l| l.min(self.configured))
    }

    pub(super) fn used(&mut self, now: Instant) -> u32 {
        while self.spent.front().is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW) {
            self.spent.pop_front();
        }
        self.spent.len() as u32
    }

    /// When `units` more fit, given what is spent now.
    pub(super) fn free_at(&mut self, units: u32, now: Instant) -> Instant {
        let used = self.used(now);
        let limit = self.limit();
        let over = (used + units).saturating_sub(limit) as usize;
        if over == 0 {
            return now;
        }
        // The `over`-th oldest unit has to leave the window first.
        self.spent.get(over - 1).map_or(now + WINDOW, |t| *t + WINDOW)
    }
}
