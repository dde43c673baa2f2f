//! One endpoint's rolling one-second window, counted the way the exchange counts it.

/// The exchange's window for per-endpoint budgets.
pub(super) const WINDOW: Duration = Duration::from_secs(1);

/// The longest a sent unit counts as in flight without an answer.
const IN_FLIGHT_CAP: Duration = Duration::from_secs(30);

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One endpoint's rolling window.
#[derive(Debug)]
pub(super) struct Window {
    pub(super) configured: u32,
    /// What the exchange's headers say this account has, once an answer told us.
    pub(super) learned: Option<u32>,
    /// One entry per unit answered in the last second, at its answer's time.
    pub(super) spent: VecDeque<Instant>,
    /// One entry per unit sent and not answered yet, at its admission: it counts until its
    /// answer, however long that takes — the exchange counts it when it arrives, which may be
    /// more than a second after it left (a loaded host, a slow network).
    pub(super) in_flight: VecDeque<Instant>,
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
        // A unit whose answer never came (a caller that did not settle it) cannot hold the
        // budget forever: past any request timeout it has arrived or never will.
        while self
            .in_flight
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= IN_FLIGHT_CAP)
        {
            self.in_flight.pop_front();
        }
        (self.spent.len() + self.in_flight.len()) as u32
    }

    /// When `units` more fit, given what is spent now.
    pub(super) fn free_at(&mut self, units: u32, now: Instant) -> Instant {
        let used = self.used(now);
        let limit = self.limit();
        let over = (used + units).saturating_sub(limit) as usize;
        if over == 0 {
            return now;
        }
        // The `over`-th oldest answered unit has to leave the window first; units still in
        // flight leave a window after their answer, not known yet (the answer re-plans).
        self.spent.get(over - 1).map_or(now + WINDOW, |t| *t + WINDOW)
    }
}
