//! Which way to cancel a symbol's orders next, decided by what the exchange answered: the
//! preferred path first; a path that failed (5xx, transport, an error code) rests for a backoff,
//! a rate-limited one until its reset, and one that has not answered within its silence bound (a
//! few of the link's recent round trips, capped by `escalate_after`) is passed over (left to finish: cancels are idempotent) for the next. Pure: the flattener drives it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CancelPath {
    /// `/v5/order/cancel-all` for the symbol.
    CancelAll,
    /// `/v5/order/cancel-batch` by order-link id.
    CancelBatch,
    /// `/v5/order/cancel`, one request per order.
    CancelSingle,
    /// `order.cancel-batch` over the trade WebSocket: another transport to the same engine.
    WsTrade,
    /// Close the private connections so that the exchange's disconnect-cancel-all fires.
    DeadManSwitch,
}

impl CancelPath {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelPath::CancelAll => "cancel-all",
            CancelPath::CancelBatch => "cancel-batch",
            CancelPath::CancelSingle => "cancel-single",
            CancelPath::WsTrade => "ws-trade",
            CancelPath::DeadManSwitch => "dead-man-switch",
        }
    }
}

impl std::fmt::Display for CancelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one attempt on a path ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    /// The exchange answered and took (some of) the cancels: the path works.
    Accepted,
    /// Refused for the budget (10006, or no room in ours): usable again at this instant.
    RateLimited { until: Instant },
    /// No answer in time, a 5xx, a transport error or an error code.
    Failed,
    /// Not sent: our own budget had no room after all (another symbol took it). Not a failure.
    NotSent { until: Instant },
}

#[derive(Debug, Clone, Default)]
struct PathState {
    requests: u32,
    in_flight_since: Option<Instant>,
    resting_until: Option<Instant>,
    failures: u32,
    /// The last attempt that ended was accepted.
    last_accepted: bool,
}

#[derive(Debug, Clone)]
pub struct Escalation {
    order: Vec<CancelPath>,
    states: BTreeMap<CancelPath, PathState>,
    /// The base of a failed path's backoff (the configured `escalate_after`).
    escalate_after: Duration,
    /// How long each path may stay silent before the next one starts alongside.
    pass_over: BTreeMap<CancelPath, Duration>,
}

/// Longest rest after failures: a path that failed is tried again within this.
const MAX_BACKOFF: Duration = Duration::from_secs(4);

impl Escalation {
    /// `order`: the cancel paths by preference (the dead-man switch is not one of them: it acts
    /// for the whole account, see the flattener).
    pub fn new(order: &[CancelPath], escalate_after: Duration) -> Self {
        Self {
            order: order.to_vec(),
            states: order.iter().map(|p| (*p, PathState::default())).collect(),
            escalate_after,
            pass_over: order.iter().map(|p| (*p, escalate_after)).collect(),
        }
    }

    /// Pass each path over after its own silence (see `round_trips::SilenceBounds`) instead of
    /// the configured `escalate_after` (which stays the backoff's base).
    pub fn with_pass_over(mut self, bound: impl Fn(CancelPath) -> Duration) -> Self {
        for (p, d) in self.pass_over.iter_mut() {
            *d = bound(*p);
        }
        self
    }

    /// How long `path` may stay silent before the next path starts.
    pub fn pass_over_after(&self, path: CancelPath) -> Duration {
        self.pass_over.get(&path).copied().unwrap_or(self.escalate_after)
    }

    pub fn paths(&self) -> &[CancelPath] {
        &self.order
    }

    /// The path to try now: the first that is neither resting nor in flight, as long as every
    /// path before it is resting or has been in flight for its silence bound without an answer —
    /// and a path that failed is tried again only when no untried or working path is free:
    /// escalation goes forward, and stays with what works.
    pub fn next(&self, now: Instant) -> Option<CancelPath> {
        let mut failed_free = None;
        for p in &self.order {
            let s = &self.states[p];
            if let Some(since) = s.in_flight_since {
                if now < since + self.pass_over_after(*p) {
                    return None;
                }
                continue;
            }
            if s.resting_until.is_some_and(|u| now < u) {
                continue;
            }
            if s.failures > 0 {
                failed_free = failed_free.or(Some(*p));
                continue;
            }
            return Some(*p);
        }
        failed_free
    }

    pub fn started(&mut self, path: CancelPath, requests: u32, now: Instant) {
        if let Some(s) = self.states.get_mut(&path) {
            s.in_flight_since = Some(now);
            s.requests += requests;
        }
    }

    /// Requests an attempt sent beyond those counted at its start.
    pub fn add_requests(&mut self, path: CancelPath, n: u32) {
        if let Some(s) = self.states.get_mut(&path) {
            s.requests += n;
        }
    }

    /// A request counted when its attempt started never went out (no room in our budget).
    pub fn unsent(&mut self, path: CancelPath) {
        if let Some(s) = self.states.get_mut(&path) {
            s.requests = s.requests.saturating_sub(1);
        }
    }

    pub fn any_in_flight(&self) -> bool {
        self.states.values().any(|s| s.in_flight_since.is_some())
    }

    /// Our own budget has no room for this path until `until`: it waits, without counting as a failure.
    pub fn no_room(&mut self, path: CancelPath, until: Instant) {
        if let Some(s) = self.states.get_mut(&path) {
            s.resting_until = Some(until);
        }
    }

    pub fn ended(&mut self, path: CancelPath, end: AttemptEnd, now: Instant) {
        let escalate_after = self.escalate_after;
        let Some(s) = self.states.get_mut(&path) else { return };
        s.in_flight_since = None;
        if matches!(end, AttemptEnd::NotSent { .. }) {
            s.resting_until = None;
        } else {
            s.last_accepted = end == AttemptEnd::Accepted;
        }
        match end {
            AttemptEnd::Accepted => {
                s.failures = 0;
                s.resting_until = None;
            }
            AttemptEnd::RateLimited { until } => {
                s.failures += 1;
                s.resting_until = Some(until.max(now));
            }
            AttemptEnd::Failed => {
                s.failures += 1;
                let backoff = escalate_after.saturating_mul(1 << (s.failures - 1).min(8)).min(MAX_BACKOFF);
                s.resting_until = Some(now + backoff);
            }
            AttemptEnd::NotSent { until } => {
                s.resting_until = Some(until.max(now));
            }
        }
    }

    /// Every path has been tried and none works now: each failed last time or hangs past
    /// its silence bound. The moment for the last resort.
    pub fn all_failing(&self, now: Instant) -> bool {
        self.order.iter().all(|p| {
            let s = &self.states[p];
            match s.in_flight_since {
                Some(since) => now >= since + self.pass_over_after(*p),
                None => s.requests > 0 && !s.last_accepted,
            }
        })
    }

    /// When `next` may give a different answer without an attempt ending: a hang reaching
    /// its silence bound, or a rest ending.
    pub fn next_change(&self, now: Instant) -> Option<Instant> {
        self.states
            .iter()
            .filter_map(|(p, s)| match s.in_flight_since {
                Some(since) => Some(since + self.pass_over_after(*p)),
                None => s.resting_until,
            })
            .filter(|t| *t > now)
            .min()
    }

    /// Requests sent per path, by the path's name (paths never tried are left out).
    pub fn requests(&self) -> BTreeMap<String, u32> {
        self.states
            .iter()
            .filter(|(_, s)| s.requests > 0)
            .map(|(p, s)| (p.as_str().to_string(), s.requests))
            .collect()
    }
}

/// What the flattener did for one symbol.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SymbolFlatten {
    pub symbol: String,
    /// The exchange listed none of the targeted orders (and no create was still in doubt).
    pub flat: bool,
    /// The path whose cancels emptied the symbol; None when nothing needed cancelling or the
    /// orders went without an accepted cancel (fills, or an unanswered request that took effect).
    pub path: Option<CancelPath>,
    /// Requests sent per path.
    pub requests: BTreeMap<String, u32>,
    pub time_to_flat_ms: Option<u64>,
    /// Orders whose cancel the exchange accepted.
    pub cancelled: usize,
    /// Orders still listed (or believed open when listing failed) at the end.
    pub remaining: Vec<String>,
    /// `remaining` is what the exchange listed (not only what the bot believed).
    pub remaining_listed: bool,
    /// It waited for the account-wide cancel-all another symbol sent (`cancel_scope = "account"`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub joined_account_cancel_all: bool,
}

impl SymbolFlatten {
    /// One line for the report: "BTCUSDT flat by cancel-batch in 812 ms (cancel-all 1, cancel-batch 2)".
    pub fn line(&self) -> String {
        let requests = if self.requests.is_empty() && self.joined_account_cancel_all {
            "none of its own: the account-wide cancel-all".to_string()
        } else if self.requests.is_empty() {
            "no cancel sent".to_string()
        } else {
            self.requests.iter().map(|(p, n)| format!("{p} {n}")).collect::<Vec<_>>().join(", ")
        };
        let how = match (self.flat, self.path, self.time_to_flat_ms) {
            (true, Some(p), Some(ms)) => format!("flat by {p} in {ms} ms"),
            (true, None, Some(ms)) => format!("flat in {ms} ms (no cancel needed or orders went by themselves)"),
            (true, _, None) => "flat".to_string(),
            (false, _, _) => format!("NOT FLAT: {} order(s) may remain", self.remaining.len()),
        };
        format!("{} {how} (requests: {requests})", self.symbol)
    }
}

/// Cancel paths in order of preference: cancel-all when the scope allows it (one request per
/// symbol, REST only); then batch and single cancels by the transport orders go by, then by the
/// other one — a path that works for quoting is the likeliest to work for cancelling.
pub fn preference(cancel_all: bool, trade_socket: bool, orders_by_socket: bool) -> Vec<CancelPath> {
    let mut paths = Vec::new();
    if cancel_all {
        paths.push(CancelPath::CancelAll);
    }
    if trade_socket && orders_by_socket {
        paths.push(CancelPath::WsTrade);
    }
    paths.extend([CancelPath::CancelBatch, CancelPath::CancelSingle]);
    if trade_socket && !orders_by_socket {
        paths.push(CancelPath::WsTrade);
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_transport_comes_first_and_the_other_is_the_fallback() {
        use CancelPath::*;
        assert_eq!(preference(true, true, false), vec![CancelAll, CancelBatch, CancelSingle, WsTrade]);
        assert_eq!(preference(true, true, true), vec![CancelAll, WsTrade, CancelBatch, CancelSingle]);
        assert_eq!(preference(false, true, true), vec![WsTrade, CancelBatch, CancelSingle]);
        assert_eq!(preference(false, false, true), vec![CancelBatch, CancelSingle]);
    }

    const ALL: [CancelPath; 4] = [
        CancelPath::CancelAll,
        CancelPath::CancelBatch,
        CancelPath::CancelSingle,
        CancelPath::WsTrade,
    ];

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_failed_path_gives_way_to_the_next_at_once() {
        let t0 = Instant::now();
        let mut e = Escalation::new(&ALL, ms(1000));
        assert_eq!(e.next(t0), Some(CancelPath::CancelAll));
        e.started(CancelPath::CancelAll, 1, t0);
        assert_eq!(e.next(t0 + ms(10)), None, "waits for the answer");
        e.ended(CancelPath::CancelAll, AttemptEnd::Failed, t0 + ms(20));
        assert_eq!(e.next(t0 + ms(20)), Some(CancelPath::CancelBatch));
        assert!(!e.all_failing(t0 + ms(20)));
    }

    #[test]
    fn a_hanging_path_is_passed_over_after_escalate_after_and_kept_running() {
        let t0 = Instant::now();
        let mut e = Escalation::new(&ALL, ms(1000));
        e.started(CancelPath::CancelAll, 1, t0);
        assert_eq!(e.next_change(t0), Some(t0 + ms(1000)));
        assert_eq!(e.next(t0 + ms(999)), None);
        assert_eq!(e.next(t0 + ms(1000)), Some(CancelPath::CancelBatch));
        e.started(CancelPath::CancelBatch, 1, t0 + ms(1000));
        assert_eq!(e.next(t0 + ms(1500)), None, "one attempt per path at a time");
    }

    #[test]
    fn each_path_is_passed_over_after_its_own_silence() {
        let t0 = Instant::now();
        let mut e = Escalation::new(&ALL, ms(1000)).with_pass_over(|p| match p {
            CancelPath::CancelAll => ms(50),
            _ => ms(200),
        });
        e.started(CancelPath::CancelAll, 1, t0);
        assert_eq!(e.next_change(t0), Some(t0 + ms(50)));
        assert_eq!(e.next(t0 + ms(49)), None);
        assert_eq!(e.next(t0 + ms(50)), Some(CancelPath::CancelBatch));
        e.started(CancelPath::CancelBatch, 1, t0 + ms(50));
        assert_eq!(e.next(t0 + ms(249)), None);
        assert_eq!(e.next(t0 + ms(250)), Some(CancelPath::CancelSingle));
        // A failure still backs off from the configured base, not the short silence.
        e.ended(CancelPath::CancelBatch, AttemptEnd::Failed, t0 + ms(260));
        assert_eq!(e.pass_over_after(CancelPath::CancelBatch), ms(200));
        assert_eq!(e.next_change(t0 + ms(260)), Some(t0 + ms(1260)));
    }

    #[test]
    fn rate_limited_paths_rest_until_their_reset() {
        let t0 = Instant::now();
        let mut e = Escalation::new(&ALL[..2], ms(1000));
        e.started(CancelPath::CancelAll, 1, t0);
        e.ended(CancelPath::CancelAll, AttemptEnd::RateLimited { until: t0 + ms(300) }, t0 + ms(5));
        assert_eq!(e.next(t0 + ms(5)), Some(CancelPath::CancelBatch));
        e.started(CancelPath::CancelBatch, 1, t0 + ms(5));
        e.ended(CancelPath::CancelBatch, AttemptEnd::Failed, t0 + ms(10));
        assert_eq!(e.next(t0 + ms(10)), None, "both rest");
        assert_eq!(e.next_change(t0 + ms(10)), Some(t0 + ms(300)));
        assert_eq!(e.next(t0 + ms(300)), Some(CancelPath::CancelAll));
    }

    #[test]
    fn a_failed_path_is_retried_only_when_no_untried_or_working_path_is_free() {
        let t0 = Instant::now();
        let mut e = Escalation::new(&ALL, ms(100));
        e.started(CancelPath::CancelAll, 1, t0);
        e.ended(CancelPath::CancelAll, AttemptEnd::Failed, t0);
        e.started(CancelPath::CancelBatch, 1, t0);
        e.ended(CancelPath::CancelBatch, AttemptEnd::Accepted, t0);
        // cancel-all's rest is over, but cancel-batch works: stay with it.
        assert_eq!(e.next(t0 + ms(500)), Some(CancelPath::CancelBatch));
        e.started(CancelPath::CancelBatch, 1, t0 + ms(500));
        // While it runs, nothing else goes (it has not been slow yet).
        assert_eq!(e.next(t0 + ms(550)), None);
        // Slow past escalate_after: the next untried path, not the failed one.
        assert_eq!(e.next(t0 + ms(650)), Some(CancelPath::CancelSingle));
    }

    #[test]
    fn no_room_in_the_budget_rests_a_path_without_failing_it() {
        let t0 = Instant::now();
        let mut e = Escalation::new(&ALL[..2], ms(100));
        e.no_room(CancelPath::CancelAll, t0 + ms(400));
        assert_eq!(e.next(t0), Some(CancelPath::CancelBatch));
        e.started(CancelPath::CancelBatch, 1, t0);
        e.ended(CancelPath::CancelBatch, AttemptEnd::Failed, t0);
        assert!(!e.all_failing(t0 + ms(200)), "cancel-all was never tried");
        assert_eq!(e.next(t0 + ms(400)), Some(CancelPath::CancelAll));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_a_cap() {
        let t0 = Instant::now();
        let mut e = Escalation::new(&[CancelPath::CancelBatch], ms(500));
        let mut now = t0;
        let mut rests = Vec::new();
        for _ in 0..5 {
            e.started(CancelPath::CancelBatch, 1, now);
            e.ended(CancelPath::CancelBatch, AttemptEnd::Failed, now);
            let back = e.next_change(now).unwrap() - now;
            rests.push(back.as_millis());
            now += back;
        }
        assert_eq!(rests, vec![500, 1000, 2000, 4000, 4000]);
        assert_eq!(e.requests()["cancel-batch"], 5);
    }

    #[test]
    fn all_failing_only_once_every_path_was_tried_and_none_works() {
        let t0 = Instant::now();
        let mut e = Escalation::new(&ALL[..2], ms(100));
        e.started(CancelPath::CancelAll, 1, t0);
        assert!(!e.all_failing(t0 + ms(150)), "cancel-batch not tried yet");
        e.started(CancelPath::CancelBatch, 1, t0 + ms(150));
        e.ended(CancelPath::CancelBatch, AttemptEnd::Failed, t0 + ms(160));
        assert!(e.all_failing(t0 + ms(160)), "one hangs, the other failed");
        e.ended(CancelPath::CancelAll, AttemptEnd::Accepted, t0 + ms(170));
        assert!(!e.all_failing(t0 + ms(170)));
    }

    #[test]
    fn the_report_line_names_the_path_and_the_requests() {
        let s = SymbolFlatten {
            symbol: "BTCUSDT".into(),
            flat: true,
            path: Some(CancelPath::CancelBatch),
            requests: [("cancel-all".to_string(), 1), ("cancel-batch".to_string(), 2)].into(),
            time_to_flat_ms: Some(812),
            ..Default::default()
        };
        assert_eq!(
            s.line(),
            "BTCUSDT flat by cancel-batch in 812 ms (requests: cancel-all 1, cancel-batch 2)"
        );
    }
}
