//! One endpoint's rolling one-second window, counted the way the exchange counts it.

/// The exchange's window for per-endpoint budgets.
pub(super) const WINDOW: Duration = Duration::from_secs(1);

/// No request of ours is on its way longer than this (`request_timeout_ms` defaults to 3 s): a
/// unit whose answer never came back to the governor (a caller that paid and then stopped)
/// counts as counted by the exchange at most this long after it was admitted.
const IN_FLIGHT_CAP: Duration = Duration::from_secs(5);

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::admission::Priority;

/// One endpoint's rolling window.
#[derive(Debug)]
pub(super) struct Window {
    pub(super) configured: u32,
    /// What the exchange's headers say this account has, once an answer told us.
    pub(super) learned: Option<u32>,
    /// One entry per unit spent in the last `hold`: stamped at admission, moved to the answer's
    /// time when it comes.
    pub(super) spent: VecDeque<Instant>,
    /// Requests admitted and not answered yet: (admitted at, units). The exchange may count
    /// them at any moment until their answer, so a unit in flight longer than `hold` still
    /// counts — for quotes and reads always; for cancels until the exchange has answered a
    /// request sent after it. Then it is stuck at the exchange (a hung path), not on its way,
    /// and must not keep the cancels that route around it from going; while nothing later has
    /// been answered either (a stalled host or link), it may still arrive and be counted.
    pub(super) in_flight: Vec<(Instant, u32)>,
    pub(super) blocked_until: Option<Instant>,
    pub(super) deferred: u64,
    /// How long a unit stays spent: the exchange's WINDOW plus the configured margin.
    pub(super) hold: Duration,
}

impl Window {
    pub(super) fn new(configured: u32, hold: Duration) -> Self {
        Self {
            configured,
            learned: None,
            spent: VecDeque::new(),
            in_flight: Vec::new(),
            blocked_until: None,
            deferred: 0,
            hold,
        }
    }

    pub(super) fn limit(&self) -> u32 {
        self.learned.map_or(self.configured, |l| l.min(self.configured))
    }

    /// Units spent within `hold`, and those on their way for longer. `answered_sent`: when the
    /// newest request the exchange has answered (any endpoint) was sent.
    fn counts(&mut self, priority: Priority, answered_sent: Option<Instant>, now: Instant) -> (u32, u32) {
        while self.spent.front().is_some_and(|t| now.saturating_duration_since(*t) >= self.hold) {
            self.spent.pop_front();
        }
        self.in_flight.retain(|(at, _)| now.saturating_duration_since(*at) < IN_FLIGHT_CAP);
        let hold = self.hold;
        let late = self
            .in_flight
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) >= hold)
            .filter(|(at, _)| priority != Priority::Cancel || answered_sent.is_none_or(|a| a <= *at))
            .map(|(_, n)| n)
            .sum();
        (self.spent.len() as u32, late)
    }

    /// Units that count against the limit for `priority` now.
    pub(super) fn used(&mut self, priority: Priority, answered_sent: Option<Instant>, now: Instant) -> u32 {
        let (spent, late) = self.counts(priority, answered_sent, now);
        spent + late
    }

    /// When `units` more fit, given what is spent now.
    pub(super) fn free_at(&mut self, units: u32, priority: Priority, answered_sent: Option<Instant>, now: Instant) -> Instant {
        let (spent, late) = self.counts(priority, answered_sent, now);
        let over = (spent + late + units).saturating_sub(self.limit()) as usize;
        if over == 0 {
            return now;
        }
        // Spent units leave in order; one still on its way leaves a `hold` after its answer,
        // which can come now at the earliest.
        self.spent.get(over - 1).map_or(now + self.hold, |t| *t + self.hold)
    }

    /// The ages of the units that count now (on their way: age 0).
    pub(super) fn ages(&mut self, now: Instant) -> Vec<Duration> {
        let _ = self.counts(Priority::Quote, None, now);
        let mut ages: Vec<Duration> = self.spent.iter().map(|t| now.saturating_duration_since(*t)).collect();
        ages.extend(
            self.in_flight
                .iter()
                .flat_map(|(_, n)| std::iter::repeat_n(Duration::ZERO, *n as usize)),
        );
        ages
    }

    /// A unit another instance spent, `age` ago; whether it still counts (older than `hold`,
    /// it is gone already).
    pub(super) fn charge(&mut self, age: Duration, now: Instant) -> bool {
        if age >= self.hold {
            return false;
        }
        let at = now.checked_sub(age).unwrap_or(now);
        let i = self.spent.partition_point(|t| *t <= at);
        self.spent.insert(i, at);
        true
    }

    /// Units admitted now.
    pub(super) fn spend(&mut self, units: u32, now: Instant) {
        self.spent.extend(std::iter::repeat_n(now, units as usize));
        self.in_flight.push((now, units));
    }

    /// The request admitted at `sent` ended without an answer (timed out, connection lost): it
    /// stops counting as on its way, and its units count from their admission. Most likely it
    /// never reached the engine (a hung gateway); holding its units until our timeout would
    /// starve the paths that route around it.
    pub(super) fn forget(&mut self, units: u32, sent: Instant) {
        if let Some(i) = self.in_flight.iter().position(|(at, n)| *at == sent && *n == units) {
            self.in_flight.swap_remove(i);
        }
    }

    /// The request admitted at `sent` was answered at `now` (answered, timed out, failed): its units
    /// count from `now`, the latest the exchange can have counted them. Once per request: a
    /// second call finds nothing on its way and changes nothing.
    pub(super) fn settle(&mut self, units: u32, sent: Instant, now: Instant) {
        let Some(i) = self.in_flight.iter().position(|(at, n)| *at == sent && *n == units) else {
            return;
        };
        self.in_flight.swap_remove(i);
        let mut removed = 0;
        self.spent.retain(|t| {
            if removed < units && *t == sent {
                removed += 1;
                false
            } else {
                true
            }
        });
        // Every unit, also those whose admission stamp had left the window already.
        let at = self.spent.partition_point(|t| *t <= now);
        for _ in 0..units {
            self.spent.insert(at, now);
        }
    }
}
