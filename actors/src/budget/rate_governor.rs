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

use std::collections::{BTreeMap, HashMap, VecDeque};
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
    windows: HashMap<String, Window>,
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
            windows: HashMap::new(),
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
        if !self.windows.contains_key(endpoint) {
            let configured = self.settings.limit_for(endpoint)?;
            self.windows
                .insert(endpoint.to_string(), Window::new(configured, self.settings.unit_hold()));
        }
        self.windows.get_mut(endpoint)
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
        self.windows.get(endpoint).and_then(|w| w.learned)
    }

    /// Every limit the exchange's headers have named so far, by endpoint.
    pub fn learned_all(&self) -> BTreeMap<String, u32> {
        self.windows.iter().filter_map(|(e, w)| Some((e.clone(), w.learned?))).collect()
    }

    pub fn snapshot(&mut self, now: Instant) -> BudgetSnapshot {
        let names: Vec<String> = self.windows.keys().cloned().collect();
        let mut endpoints = BTreeMap::new();
        for name in names {
            let w = self.windows.get_mut(&name).expect("listed");
            let used = w.used(Priority::Quote, None, now);
            endpoints.insert(
                name,
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
    pub fn record_round_trip(&self, transport: Transport, endpoint: &str, d: Duration) {
        self.round_trips
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(transport, endpoint, d);
    }

    /// The recent 99th-percentile round trip of `endpoint` (the transport's when it has few).
    pub fn round_trip_p99(&self, transport: Transport, endpoint: &str) -> Option<Duration> {
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
mod tests {
    use super::*;
    use bybit_v5::rest::path;

    fn gov() -> RateGovernor {
        RateGovernor::new(RateLimitSettings::default())
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rolling_window_per_endpoint_batch_spends_per_order() {
        let mut g = gov();
        let t0 = Instant::now();
        assert_eq!(g.available(path::ORDER_CREATE_BATCH, Priority::Quote, t0), 10);
        assert!(g.try_admit(path::ORDER_CREATE_BATCH, 8, Priority::Quote, t0).is_ok());
        g.settle(path::ORDER_CREATE_BATCH, 8, t0, t0);
        assert_eq!(g.available(path::ORDER_CREATE_BATCH, Priority::Quote, t0), 2);
        // Another endpoint has its own budget.
        assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0), 10);
        let d = g.try_admit(path::ORDER_CREATE_BATCH, 5, Priority::Quote, t0 + ms(300)).unwrap_err();
        assert_eq!(d.reason, DeferReason::Budget);
        // The window and the default 50 ms margin.
        assert_eq!(d.until, t0 + ms(1050), "frees when the oldest units leave the window");
        assert!(g.try_admit(path::ORDER_CREATE_BATCH, 5, Priority::Quote, t0 + ms(1050)).is_ok());
        // Reads and public paths.
        assert_eq!(g.available(path::ORDER_REALTIME, Priority::Read, t0), 50);
        assert_eq!(g.available(path::ORDERBOOK, Priority::Read, t0), u32::MAX);
    }

    #[test]
    fn units_count_from_the_answer_not_the_send() {
        let mut g = gov();
        let t0 = Instant::now();
        g.try_admit(path::ORDER_AMEND_BATCH, 10, Priority::Quote, t0).unwrap();
        // The request took 300 ms to be answered: the exchange may have counted it at 299 ms.
        g.settle(path::ORDER_AMEND_BATCH, 10, t0, t0 + ms(300));
        assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0 + ms(1300)), 0);
        // The exchange's rate limiter may have stamped it after the answer left: the margin.
        assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0 + ms(1349)), 0);
        assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0 + ms(1350)), 10);
    }

    #[test]
    fn a_unit_on_its_way_counts_until_its_answer_except_for_cancels_around_a_hung_request() {
        let mut g = gov();
        let t0 = Instant::now();
        g.try_admit(path::ORDER_CANCEL_BATCH, 10, Priority::Cancel, t0).unwrap();
        // No answer 2 s later, and nothing sent since answered either (a stalled host or link):
        // the exchange may count it any moment yet. Everything waits for its answer.
        assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Quote, t0 + ms(2000)), 0);
        assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Cancel, t0 + ms(2000)), 0);
        // A request sent after it was answered: the link works, this one is stuck at the
        // exchange. Quotes still wait for its answer; cancels go (a hung request must not hold
        // back the paths around it).
        g.try_admit(path::ORDER_REALTIME, 1, Priority::Read, t0 + ms(100)).unwrap();
        g.settle(path::ORDER_REALTIME, 1, t0 + ms(100), t0 + ms(110));
        assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Quote, t0 + ms(2000)), 0);
        assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Cancel, t0 + ms(2000)), 10);
        let d = g
            .try_admit(path::ORDER_CANCEL_BATCH, 1, Priority::Quote, t0 + ms(2000))
            .unwrap_err();
        assert_eq!(d.until, t0 + ms(3050), "a hold after an answer that could come now");
        g.settle(path::ORDER_CANCEL_BATCH, 10, t0, t0 + ms(2500));
        assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Quote, t0 + ms(3549)), 0);
        assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Quote, t0 + ms(3550)), 10);
        // A request never settled (its caller stopped) is forgotten after the cap.
        g.try_admit(path::ORDER_AMEND, 10, Priority::Quote, t0).unwrap();
        assert_eq!(g.available(path::ORDER_AMEND, Priority::Quote, t0 + ms(4999)), 0);
        assert_eq!(g.available(path::ORDER_AMEND, Priority::Quote, t0 + ms(5000)), 10);
        // Settling twice changes nothing.
        g.settle(path::ORDER_CANCEL_BATCH, 10, t0, t0 + ms(3600));
        assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Quote, t0 + ms(3600)), 10);
        // Timed out without an answer: counted from its admission, no longer on its way.
        g.try_admit(path::ORDER_CREATE, 10, Priority::Quote, t0).unwrap();
        assert_eq!(g.available(path::ORDER_CREATE, Priority::Quote, t0 + ms(3000)), 0);
        g.unanswered(path::ORDER_CREATE, 10, t0);
        assert_eq!(g.available(path::ORDER_CREATE, Priority::Quote, t0 + ms(3000)), 10);
    }

    #[test]
    fn the_window_margin_is_configurable_and_zero_is_the_exchanges_window() {
        let mut g = RateGovernor::new(RateLimitSettings {
            window_margin_ms: 0,
            ..Default::default()
        });
        let t0 = Instant::now();
        g.try_admit(path::ORDER_CANCEL, 10, Priority::Cancel, t0).unwrap();
        g.settle(path::ORDER_CANCEL, 10, t0, t0);
        assert_eq!(g.available(path::ORDER_CANCEL, Priority::Cancel, t0 + ms(999)), 0);
        assert_eq!(g.available(path::ORDER_CANCEL, Priority::Cancel, t0 + ms(1000)), 10);
    }

    #[test]
    fn headers_correct_the_count_and_the_limit() {
        let mut g = gov();
        let t0 = Instant::now();
        g.try_admit(path::ORDER_AMEND_BATCH, 2, Priority::Quote, t0).unwrap();
        g.settle(path::ORDER_AMEND_BATCH, 2, t0, t0);
        // The exchange counts 7 used (someone else on the account): we count 7 too.
        let h = LimitHeaders {
            limit: Some(10),
            remaining: Some(3),
            reset_at: None,
        };
        g.observe(path::ORDER_AMEND_BATCH, h, t0);
        assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0), 3);
        // A lower limit than configured is taken; a higher one is not (the config is our share).
        let change = g.observe(
            path::ORDER_AMEND_BATCH,
            LimitHeaders {
                limit: Some(5),
                remaining: Some(5),
                reset_at: None,
            },
            t0 + ms(1050),
        );
        assert_eq!(
            change,
            Some(LimitChange {
                configured: 10,
                exchange_says: 5
            })
        );
        assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0 + ms(1050)), 5);
        g.observe(
            path::ORDER_AMEND_BATCH,
            LimitHeaders {
                limit: Some(100),
                remaining: Some(100),
                reset_at: None,
            },
            t0 + ms(2100),
        );
        assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0 + ms(2100)), 10);
        assert_eq!(g.learned(path::ORDER_AMEND_BATCH), Some(100));
    }

    #[test]
    fn rate_limited_waits_exactly_until_the_reset() {
        let mut g = gov();
        let t0 = Instant::now();
        g.rate_limited(path::ORDER_CANCEL_ALL, Some(t0 + ms(730)), t0);
        let d = g.try_admit(path::ORDER_CANCEL_ALL, 1, Priority::Cancel, t0 + ms(100)).unwrap_err();
        assert_eq!((d.reason, d.until), (DeferReason::RateLimited, t0 + ms(730)));
        assert!(g.try_admit(path::ORDER_CANCEL_ALL, 1, Priority::Cancel, t0 + ms(730)).is_ok());
        // Headers with nothing left and a reset ahead block the same way.
        g.observe(
            path::ORDER_CREATE,
            LimitHeaders {
                limit: Some(10),
                remaining: Some(0),
                reset_at: Some(t0 + ms(400)),
            },
            t0,
        );
        assert_eq!(g.available(path::ORDER_CREATE, Priority::Quote, t0 + ms(399)), 0);
    }

    #[test]
    fn the_ip_margin_is_never_used_not_even_by_cancels() {
        let settings = RateLimitSettings {
            ip_requests_per_5s: 100,
            cancel_reserve: 10,
            ip_margin: 5,
            ..Default::default()
        };
        let mut g = RateGovernor::new(settings);
        let t0 = Instant::now();
        // Public reads: no per-endpoint budget, only the IP window.
        for i in 0..85 {
            g.try_admit(path::TIME, 1, Priority::Read, t0 + ms(i)).unwrap();
        }
        let d = g.try_admit(path::TIME, 1, Priority::Read, t0 + ms(90)).unwrap_err();
        assert_eq!(d.reason, DeferReason::IpWindow);
        for i in 0..10 {
            g.try_admit(path::ORDER_CANCEL, 1, Priority::Cancel, t0 + ms(100 + i)).unwrap();
            g.settle(path::ORDER_CANCEL, 1, t0 + ms(100 + i), t0 + ms(100 + i));
        }
        // 95 of 100 sent: the last 5 stay unused; the window frees the first at t0 + 5 s.
        let d = g.try_admit(path::ORDER_CANCEL, 1, Priority::Cancel, t0 + ms(200)).unwrap_err();
        assert_eq!((d.reason, d.until), (DeferReason::IpWindow, t0 + ms(5000)));
        assert_eq!(g.snapshot(t0 + ms(200)).ip_remaining, 0);
        g.try_admit(path::ORDER_CANCEL, 1, Priority::Cancel, t0 + ms(5000)).unwrap();
    }

    #[test]
    fn ip_ban_stops_everything_and_cancels_keep_a_reserve() {
        let settings = RateLimitSettings {
            ip_requests_per_5s: 10,
            cancel_reserve: 2,
            ip_margin: 0,
            ..Default::default()
        };
        let mut g = RateGovernor::new(settings);
        let t0 = Instant::now();
        for i in 0..8 {
            g.try_admit(path::ORDER_REALTIME, 1, Priority::Read, t0 + ms(i)).unwrap();
        }
        // Quotes and reads stop at 8 of 10; cancels may use the last 2.
        let d = g.try_admit(path::ORDER_CREATE, 1, Priority::Quote, t0 + ms(10)).unwrap_err();
        assert_eq!((d.reason, d.until), (DeferReason::IpWindow, t0 + ms(5000)));
        assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Cancel, t0 + ms(10)), 10);
        g.try_admit(path::ORDER_CANCEL_BATCH, 3, Priority::Cancel, t0 + ms(10)).unwrap();
        let until = g.ip_banned(t0 + ms(20));
        assert_eq!(until, t0 + ms(20) + ms(600_000));
        let d = g.try_admit(path::ORDER_CANCEL_ALL, 1, Priority::Cancel, t0 + ms(30)).unwrap_err();
        assert_eq!(d.reason, DeferReason::IpBan);
        assert_eq!(g.snapshot(t0 + ms(30)).ip_banned_ms, 599_990);
    }

    #[test]
    fn configured_endpoint_overrides_for_a_vip_account() {
        let mut settings = RateLimitSettings::default();
        settings.endpoints.insert(path::ORDER_AMEND_BATCH.into(), 40);
        let mut g = RateGovernor::new(settings);
        assert_eq!(g.max_units(path::ORDER_AMEND_BATCH), 40);
        assert_eq!(g.max_units(path::ORDER_CREATE_BATCH), 10);
    }
}
