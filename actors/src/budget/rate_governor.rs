//! The account's request budget, kept the way the exchange keeps it: per (account, endpoint) over
//! a rolling one-second window (a batch spends one unit per order), reads on their own budgets,
//! and a per-IP window over every request. Seeded from the configured limits (Bybit's default
//! table unless a VIP/PRO account says otherwise) and corrected from every answer's
//! `X-Bapi-Limit*` headers; a 10006 blocks its endpoint until the reset the exchange named, an
//! HTTP 403 stops every request until the ban ends.
//!
//! Why not the `governor` crate: its GCRA replenishes at a fixed rate from its own clock and has
//! no way to take "the server says 3 left until t" or "blocked until t", nor to let cancels use a
//! reserve that quotes may not. Bybit's budget is a rolling count that the server reports on
//! every answer; a count of timestamps per window models exactly that, in a few lines.
//!
//! [`RateGovernor`] is pure (time is a parameter); [`Governor`] is the handle every sender
//! shares — the one process-wide budget, like the metrics an exception to "actors share no
//! state", because the budget is the account's, not any one actor's.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use super::admission::{DeferReason, Deferral, LimitChange, LimitHeaders, Priority};
use super::round_trips::RoundTrips;
pub use super::round_trips::Transport;
pub use super::settings::RateLimitSettings;
pub use super::snapshot::{BudgetSnapshot, EndpointBudget};
use super::window::{Window, WINDOW};

const IP_WINDOW: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct RateGovernor {
    settings: RateLimitSettings,
    /// By endpoint, in the order first used: a handful, asked several times on every plan. A
    /// scan compares lengths first, and the endpoints share a long prefix a map would compare
    /// on every step of its search.
    windows: Vec<(String, Window)>,
    ip: VecDeque<Instant>,
    ip_banned_until: Option<Instant>,
    rejections: BTreeMap<String, BTreeMap<String, u64>>,
    /// When the newest request the exchange has answered was sent: the link is answering what
    /// was sent up to then (see `Window::in_flight`).
    answered_sent: Option<Instant>,
}

impl RateGovernor {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings,
            windows: Vec::new(),
            ip: VecDeque::new(),
            ip_banned_until: None,
            rejections: BTreeMap::new(),
            answered_sent: None,
        }
    }

    pub fn settings(&self) -> &RateLimitSettings {
        &self.settings
    }

    fn window(&mut self, endpoint: &str) -> Option<&mut Window> {
        let i = match self.windows.iter().position(|(e, _)| e == endpoint) {
            Some(i) => i,
            None => {
                let configured = self.settings.limit_for(endpoint)?;
                self.windows
                    .push((endpoint.to_string(), Window::new(configured, self.settings.unit_hold())));
                self.windows.len() - 1
            }
        };
        Some(&mut self.windows[i].1)
    }

    fn ip_used(&mut self, now: Instant) -> u32 {
        while self.ip.front().is_some_and(|t| now.saturating_duration_since(*t) >= IP_WINDOW) {
            self.ip.pop_front();
        }
        self.ip.len() as u32
    }

    fn ip_limit(&self, priority: Priority) -> u32 {
        let usable = self.ip_usable();
        match priority {
            Priority::Cancel => usable,
            _ => usable.saturating_sub(self.settings.cancel_reserve).max(1),
        }
    }

    /// The IP window less the margin kept for the skew between our count and the exchange's.
    fn ip_usable(&self) -> u32 {
        self.settings.ip_requests_per_5s.saturating_sub(self.settings.ip_margin).max(1)
    }

    /// The largest batch `endpoint` can ever take at once (its whole window).
    pub fn max_units(&mut self, endpoint: &str) -> u32 {
        self.window(endpoint).map_or(u32::MAX, |w| w.limit().max(1))
    }

    /// Units of `endpoint` that may go now in one request.
    pub fn available(&mut self, endpoint: &str, priority: Priority, now: Instant) -> u32 {
        if self.ip_banned_until.is_some_and(|t| now < t) || self.ip_used(now) >= self.ip_limit(priority) {
            return 0;
        }
        let answered = self.answered_sent;
        match self.window(endpoint) {
            None => u32::MAX,
            Some(w) if w.blocked_until.is_some_and(|t| now < t) => 0,
            Some(w) => {
                let used = w.used(priority, answered, now);
                w.limit().saturating_sub(used)
            }
        }
    }

    /// Spend `units` of `endpoint` (and one IP request) now, or say when that becomes possible.
    pub fn try_admit(&mut self, endpoint: &str, units: u32, priority: Priority, now: Instant) -> Result<(), Deferral> {
        let deferral = self.deferral(endpoint, units, priority, now);
        if let Some(d) = deferral {
            if let Some(w) = self.window(endpoint) {
                w.deferred += 1;
            }
            return Err(d);
        }
        if let Some(w) = self.window(endpoint) {
            w.spend(units, now);
        }
        self.ip.push_back(now);
        Ok(())
    }

    fn deferral(&mut self, endpoint: &str, units: u32, priority: Priority, now: Instant) -> Option<Deferral> {
        if let Some(until) = self.ip_banned_until.filter(|t| now < *t) {
            return Some(Deferral {
                until,
                reason: DeferReason::IpBan,
            });
        }
        let ip_limit = self.ip_limit(priority);
        if self.ip_used(now) >= ip_limit {
            let over = (self.ip.len() as u32 + 1 - ip_limit) as usize;
            let until = self.ip.get(over - 1).map_or(now + IP_WINDOW, |t| *t + IP_WINDOW);
            return Some(Deferral {
                until,
                reason: DeferReason::IpWindow,
            });
        }
        let answered = self.answered_sent;
        let w = self.window(endpoint)?;
        if let Some(until) = w.blocked_until.filter(|t| now < *t) {
            return Some(Deferral {
                until,
                reason: DeferReason::RateLimited,
            });
        }
        // A batch larger than the whole window waits for an empty window (callers split batches
        // by `max_units`, so this only guards against a misconfigured caller).
        let units = units.min(w.limit().max(1));
        let at = w.free_at(units, priority, answered, now);
        (at > now).then_some(Deferral {
            until: at,
            reason: DeferReason::Budget,
        })
    }

    /// The answer to a request admitted at `sent` arrived at `now`: the exchange counted its
    /// units somewhere in between, so from here on they count as spent at `now` — the latest the
    /// exchange can have counted them. (Counting from `sent` would free them too early whenever
    /// the request waited on the way, and the exchange would refuse the next one.)
    pub fn settle(&mut self, endpoint: &str, units: u32, sent: Instant, now: Instant) {
        self.answered_sent = Some(self.answered_sent.map_or(sent, |a| a.max(sent)));
        if let Some(w) = self.window(endpoint) {
            w.settle(units, sent, now);
        }
    }

    /// The request admitted at `sent` ended without an answer (see `Window::forget`); nothing
    /// changes when it was answered (settled) already.
    pub fn unanswered(&mut self, endpoint: &str, units: u32, sent: Instant) {
        if let Some(w) = self.window(endpoint) {
            w.forget(units, sent);
        }
    }

    /// Per endpoint, the ages of the units that count now (what a successor must count too).
    pub fn spent_ages(&mut self, now: Instant) -> BTreeMap<String, Vec<u64>> {
        self.windows
            .iter_mut()
            .map(|(e, w)| (e.clone(), w.ages(now).iter().map(|a| a.as_millis() as u64).collect::<Vec<_>>()))
            .filter(|(_, ages)| !ages.is_empty())
            .collect()
    }

    /// Units another instance on the account spent, `ages` ago: they count here until they
    /// leave the exchange's window.
    pub fn charge(&mut self, endpoint: &str, ages: &[Duration], now: Instant) -> usize {
        match self.window(endpoint) {
            Some(w) => ages.iter().filter(|age| w.charge(**age, now)).count(),
            None => 0,
        }
    }

    /// When `units` of `endpoint` could go (now, if they can).
    pub fn room_at(&mut self, endpoint: &str, units: u32, priority: Priority, now: Instant) -> Instant {
        self.deferral(endpoint, units, priority, now).map_or(now, |d| d.until)
    }

    /// Correct the window from an answer's headers. The exchange's count wins when it is
    /// higher than ours (another client on the account, or requests we did not see settle);
    /// its limit wins when lower than configured (the configured one is kept otherwise: it is
    /// the operator's share of the account).
    pub fn observe(&mut self, endpoint: &str, h: LimitHeaders, now: Instant) -> Option<LimitChange> {
        let w = self.window(endpoint)?;
        let mut change = None;
        if let Some(l) = h.limit.filter(|l| *l > 0) {
            if w.learned != Some(l) {
                change = Some(LimitChange {
                    configured: w.configured,
                    exchange_says: l,
                });
                w.learned = Some(l);
            }
        }
        if let (Some(l), Some(left)) = (h.limit, h.remaining) {
            let server_used = l.saturating_sub(left);
            let ours = w.used(Priority::Quote, None, now);
            if server_used > ours {
                w.spent.extend(std::iter::repeat_n(now, (server_used - ours) as usize));
            }
            if left == 0 {
                if let Some(reset) = h.reset_at.filter(|r| *r > now) {
                    w.blocked_until = Some(w.blocked_until.map_or(reset, |b| b.max(reset)));
                }
            }
        }
        change
    }

    /// The exchange answered 10006: nothing more on this endpoint until `reset_at`
    /// (one window when the answer named no reset).
    pub fn rate_limited(&mut self, endpoint: &str, reset_at: Option<Instant>, now: Instant) {
        let until = reset_at.filter(|r| *r > now).unwrap_or(now + WINDOW);
        if let Some(w) = self.window(endpoint) {
            w.blocked_until = Some(w.blocked_until.map_or(until, |b| b.max(until)));
        }
    }

    /// HTTP 403: the IP is banned; nothing goes out until the configured ban length has passed.
    pub fn ip_banned(&mut self, now: Instant) -> Instant {
        let until = now + Duration::from_millis(self.settings.ip_ban_ms);
        self.ip_banned_until = Some(self.ip_banned_until.map_or(until, |b| b.max(until)));
        until
    }

    /// Changes a planner held back for want of room (they were never sent; the next plan
    /// starts from the latest desired state).
    pub fn note_deferred(&mut self, endpoint: &str, n: u64) {
        if let Some(w) = self.window(endpoint) {
            w.deferred += n;
        }
    }

    pub fn note_rejection(&mut self, endpoint: &str, code: i64) {
        *self
            .rejections
            .entry(endpoint.to_string())
            .or_default()
            .entry(code.to_string())
            .or_default() += 1;
    }

    /// `(limit, remaining)` of `endpoint` now; None for public paths.
    pub fn remaining(&mut self, endpoint: &str, now: Instant) -> Option<(u32, u32)> {
        let w = self.window(endpoint)?;
        let used = w.used(Priority::Quote, None, now);
        Some((w.limit(), w.limit().saturating_sub(used)))
    }

    /// The exchange's limit for `endpoint` as last learned from its headers.
    pub fn learned(&self, endpoint: &str) -> Option<u32> {
        self.windows.iter().find(|(e, _)| e == endpoint).and_then(|(_, w)| w.learned)
    }

    /// Every limit the exchange's headers have named so far, by endpoint.
    pub fn learned_all(&self) -> BTreeMap<String, u32> {
        self.windows.iter().filter_map(|(e, w)| Some((e.clone(), w.learned?))).collect()
    }

    pub fn snapshot(&mut self, now: Instant) -> BudgetSnapshot {
        let mut endpoints = BTreeMap::new();
        for (name, w) in &mut self.windows {
            let used = w.used(Priority::Quote, None, now);
            endpoints.insert(
                name.clone(),
                EndpointBudget {
                    limit: w.limit(),
                    configured: w.configured,
                    exchange_says: w.learned,
                    remaining: w.limit().saturating_sub(used),
                    deferred: w.deferred,
                    blocked_ms: w.blocked_until.map_or(0, |t| t.saturating_duration_since(now).as_millis() as u64),
                },
            );
        }
        let ip_used = self.ip_used(now);
        BudgetSnapshot {
            endpoints,
            ip_limit: self.settings.ip_requests_per_5s,
            ip_remaining: self.ip_usable().saturating_sub(ip_used),
            ip_banned_ms: self
                .ip_banned_until
                .map_or(0, |t| t.saturating_duration_since(now).as_millis() as u64),
            rejections: self.rejections.clone(),
        }
    }
}

/// The process-wide budget every sender shares (REST and the trade socket), with the round
/// trips those senders measured: both are facts about the account's link to the exchange that
/// every sender feeds and the shutdown reads. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Governor {
    budget: Arc<Mutex<RateGovernor>>,
    round_trips: Arc<Mutex<RoundTrips>>,
}

impl Governor {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            budget: Arc::new(Mutex::new(RateGovernor::new(settings))),
            round_trips: Arc::default(),
        }
    }

    /// Run `f` on the governor. Poisoning cannot leave it inconsistent (no method panics
    /// midway), so a poisoned lock is used as is.
    pub fn with<T>(&self, f: impl FnOnce(&mut RateGovernor) -> T) -> T {
        f(&mut self.budget.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// An answer on `endpoint` came `d` after its request left.
    pub fn record_round_trip(&self, transport: Transport, endpoint: &'static str, d: Duration) {
        self.round_trips
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(transport, endpoint, d);
    }

    /// The recent 99th-percentile round trip of `endpoint` (the transport's when it has few).
    pub fn round_trip_p99(&self, transport: Transport, endpoint: &'static str) -> Option<Duration> {
        self.round_trips.lock().unwrap_or_else(|e| e.into_inner()).p99(transport, endpoint)
    }

    pub fn available(&self, endpoint: &str, priority: Priority) -> u32 {
        self.with(|g| g.available(endpoint, priority, Instant::now()))
    }

    pub fn max_units(&self, endpoint: &str) -> u32 {
        self.with(|g| g.max_units(endpoint))
    }

    pub fn snapshot(&self) -> BudgetSnapshot {
        self.with(|g| g.snapshot(Instant::now()))
    }

    /// Wait for room for `units` on `endpoint`, until `give_up`: quotes never wait (the next
    /// plan sends the latest desired state instead of a stale one); cancels and reads wait their
    /// turn. Returns when the units were spent; `on_defer` hears every wait.
    pub async fn admit_within(
        &self,
        endpoint: &str,
        units: u32,
        priority: Priority,
        give_up: Instant,
        on_defer: impl Fn(&Deferral),
    ) -> Result<Instant, Deferral> {
        loop {
            let now = Instant::now();
            let d = match self.with(|g| g.try_admit(endpoint, units, priority, now)) {
                Ok(()) => return Ok(now),
                Err(d) => d,
            };
            on_defer(&d);
            if priority == Priority::Quote || d.until > give_up {
                return Err(d);
            }
            tokio::time::sleep_until(d.until.into()).await;
        }
    }
}

#[cfg(test)]
#[path = "rate_governor_tests.rs"]
mod tests;
