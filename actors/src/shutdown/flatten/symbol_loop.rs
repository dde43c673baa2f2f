//! One symbol's loop: read the open orders when due, send cancels by the escalation while any
//! are listed, stop once a read after settling lists none; in between, wait for an event or the
//! next timer. Each turn is a named step on the loop's state.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::orders::cancel_path::{CancelPath, Escalation, SymbolFlatten};

use super::{
    next_with_room, requests_for, silence_of, spawn_attempt, spawn_read, Ev, FlattenJob, Reporter, Shared, CANCEL_SETTLE, DEAD_MAN_MARGIN,
    SETTLE_POLL, WATCH_POLL,
};

/// How long a symbol found flat waits for answers still on their way, to name the path that did it.
const ATTRIBUTION_GRACE: Duration = Duration::from_millis(200);

/// Flatten one symbol: see the module's comment.
pub(super) async fn flatten_symbol(symbol: String, job: Rc<FlattenJob>, shared: Rc<Shared>) -> SymbolFlatten {
    let (tx, mut rx) = mpsc::unbounded_channel::<Ev>();
    let mut state = SymbolLoop::new(symbol, job, shared, tx);
    loop {
        let now = Instant::now();
        if now >= state.job.deadline {
            break;
        }
        let settled = (state.job.settled)();
        if state.turn(now, settled).is_break() {
            break;
        }
        let wake = state.next_wake(now, settled);
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = tokio::time::sleep_until(wake.into()) => None,
        };
        if let Some(ev) = ev {
            state.on_event(ev, Instant::now());
        }
    }
    state.finish()
}

/// The path that emptied a symbol: the one whose accepted cancels covered the orders listed last
/// (the latest, if several), else the dead-man switch when it was started. Second: whether every
/// order listed last is accounted for.
fn attribute(last_listed: &[String], accepted: &HashMap<String, (Instant, CancelPath)>, dead_man: bool) -> (Option<CancelPath>, bool) {
    let latest = |ids: &mut dyn Iterator<Item = &(Instant, CancelPath)>| ids.max_by_key(|(t, _)| *t).map(|(_, p)| *p);
    if last_listed.is_empty() {
        // Never saw an order: the path that answered last; none yet means an answer may be on its
        // way (a read can overtake the cancel's answer).
        return (latest(&mut accepted.values()), !accepted.is_empty());
    }
    let covered: Vec<&(Instant, CancelPath)> = last_listed.iter().filter_map(|l| accepted.get(l)).collect();
    if covered.len() == last_listed.len() {
        return (latest(&mut covered.into_iter()), true);
    }
    if dead_man {
        return (Some(CancelPath::DeadManSwitch), false);
    }
    (latest(&mut covered.into_iter()), false)
}

struct SymbolLoop {
    symbol: String,
    job: Rc<FlattenJob>,
    shared: Rc<Shared>,
    /// Where attempts and reads report.
    tx: mpsc::UnboundedSender<Ev>,
    started: Instant,
    esc: Escalation,
    /// The orders believed open before any read.
    known: Vec<String>,
    out: SymbolFlatten,
    /// The targets at the last successful read; None before the first.
    listed: Option<Vec<String>>,
    /// When the read behind `listed` was sent.
    listed_sent: Option<Instant>,
    /// The last read that listed any.
    last_listed: Vec<String>,
    /// Orders whose cancel the exchange took: when, and by which path.
    accepted: HashMap<String, (Instant, CancelPath)>,
    reading: bool,
    read_due: Instant,
    /// When a read after settling first listed none (reset if a later one lists some).
    flat_seen: Option<Instant>,
}

impl SymbolLoop {
    fn new(symbol: String, job: Rc<FlattenJob>, shared: Rc<Shared>, tx: mpsc::UnboundedSender<Ev>) -> Self {
        let started = Instant::now();
        let known = job.known.get(&symbol).cloned().unwrap_or_default();
        Self {
            esc: Escalation::new(&job.paths, job.silence.cap).with_pass_over(|p| silence_of(p, &job, &shared.transports.governor)),
            out: SymbolFlatten {
                symbol: symbol.clone(),
                remaining: known.clone(),
                ..Default::default()
            },
            symbol,
            job,
            shared,
            tx,
            started,
            known,
            listed: None,
            listed_sent: None,
            last_listed: Vec::new(),
            accepted: HashMap::new(),
            reading: false,
            read_due: started,
            flat_seen: None,
        }
    }

    /// One pass: start a read when due; then either conclude (flat, nothing left to learn) or
    /// act on what is still listed.
    fn turn(&mut self, now: Instant, settled: bool) -> ControlFlow<()> {
        if settled && !self.reading && now >= self.read_due {
            self.reading = true;
            spawn_read(&self.shared, &self.job, &self.symbol, self.tx.clone());
        }
        if settled && self.listed.as_ref().is_some_and(Vec::is_empty) {
            if self.flat_and_done(now) {
                return ControlFlow::Break(());
            }
        } else {
            self.flat_seen = None;
            self.out.flat = false;
            self.out.time_to_flat_ms = None;
            self.cancel_what_is_listed(now);
            self.watch_the_dead_man_window(now);
        }
        if self.shared.dead_man_at.get().is_some() {
            self.out.requests.insert(CancelPath::DeadManSwitch.as_str().into(), 1);
        }
        ControlFlow::Continue(())
    }

    /// Flat: record when and by which path; done unless answers that would name the path are
    /// still due, or a create in doubt could still land.
    fn flat_and_done(&mut self, now: Instant) -> bool {
        let seen = *self.flat_seen.get_or_insert(now);
        self.out.flat = true;
        self.out.time_to_flat_ms = Some(seen.saturating_duration_since(self.started).as_millis() as u64);
        let (path, resolved) = attribute(&self.last_listed, &self.accepted, self.shared.dead_man_at.get().is_some());
        self.out.path = path;
        let answers_due = !resolved && self.esc.any_in_flight() && now < seen + ATTRIBUTION_GRACE;
        !answers_due && (self.job.doubt_until)().is_none_or(|d| now >= d)
    }

    /// The orders still to cancel. One whose cancel was accepted is cancelled again only when a
    /// read sent CANCEL_SETTLE after the acceptance still lists it: not on a listing older than
    /// the cancel, nor when no read got through (reads starved by the IP window).
    fn targets(&self) -> Vec<String> {
        let base = self.listed.clone().unwrap_or_else(|| self.known.clone());
        base.into_iter()
            .filter(|l| {
                self.accepted
                    .get(l)
                    .is_none_or(|(t, _)| self.listed_sent.is_some_and(|s| s >= *t + CANCEL_SETTLE))
            })
            .collect()
    }

    /// Start the next attempt the escalation allows and the budget has room for.
    fn cancel_what_is_listed(&mut self, now: Instant) {
        let mut targets = self.targets();
        // Before the first read, cancel-all needs no list: it goes at once.
        let unknown = self.listed.is_none() && self.accepted.is_empty();
        if targets.is_empty() && !unknown {
            return;
        }
        // Failed paths are still retried, but the last resort starts alongside them.
        if self.esc.all_failing(now) {
            self.shared.trigger_dead_man(&format!("{}: no cancel path works", self.symbol));
        }
        let governor = &self.shared.transports.governor;
        let Some((p, room)) = next_with_room(&mut self.esc, governor, targets.len(), now) else {
            return;
        };
        targets.truncate(room);
        // A symbol that joins the account-wide cancel-all on its way sends nothing.
        let joins = p == CancelPath::CancelAll && self.job.account_wide && self.shared.account_cancel_on_its_way();
        let requests = if joins { 0 } else { requests_for(p, targets.len(), governor) };
        self.out.joined_account_cancel_all |= joins;
        self.esc.started(p, requests, now);
        let reporter = Reporter {
            path: p,
            tx: self.tx.clone(),
        };
        spawn_attempt(&self.symbol, targets, &self.shared, &self.job, reporter);
    }

    /// Start the dead-man switch while its window still ends before the deadline.
    fn watch_the_dead_man_window(&self, now: Instant) {
        if let Some(dm) = &self.shared.transports.dead_man {
            if now + dm.window + DEAD_MAN_MARGIN >= self.job.deadline {
                self.shared.trigger_dead_man(&format!(
                    "{}: not flat with the dead-man window left before the deadline",
                    self.symbol
                ));
            }
        }
    }

    /// The earliest moment something changes without an event.
    fn next_wake(&self, now: Instant, settled: bool) -> Instant {
        let dead_man_last_call = self
            .shared
            .transports
            .dead_man
            .as_ref()
            .map(|dm| self.job.deadline.checked_sub(dm.window + DEAD_MAN_MARGIN).unwrap_or(now));
        [
            Some(self.job.deadline),
            (settled && !self.reading).then_some(self.read_due),
            self.esc.next_change(now),
            dead_man_last_call,
            self.flat_seen.map(|t| t + ATTRIBUTION_GRACE),
            // Until requests in flight settle, look again soon.
            (!settled).then(|| now + SETTLE_POLL),
        ]
        .into_iter()
        .flatten()
        .filter(|t| *t > now)
        .min()
        .unwrap_or(now + SETTLE_POLL)
    }

    fn on_event(&mut self, ev: Ev, now: Instant) {
        match ev {
            Ev::Unsent { path } => self.esc.unsent(path),
            Ev::Taken { path, ids } => self.accept(ids, path, now),
            Ev::MoreRequests { path, n } => self.esc.add_requests(path, n),
            Ev::TakenAmong { path, ids } => {
                let mine: Vec<String> = ids.iter().filter(|l| self.is_mine(l)).cloned().collect();
                self.accept(mine, path, now);
            }
            Ev::Ended { path, end } => {
                self.esc.ended(path, end, now);
                self.read_due = self.read_due.min(now + self.shared.settle_poll());
            }
            Ev::Read { list, sent } => self.on_read(list, sent, now),
        }
    }

    /// Whether an order the account-wide cancel-all took is this symbol's.
    fn is_mine(&self, link: &str) -> bool {
        let has = |v: &[String]| v.iter().any(|l| l == link);
        has(&self.known) || has(&self.last_listed) || self.listed.as_deref().is_some_and(has)
    }

    /// Cancels the exchange took: count each order once, and read at once to learn the effect.
    fn accept(&mut self, ids: Vec<String>, path: CancelPath, now: Instant) {
        for l in ids {
            if self.accepted.insert(l, (now, path)).is_none() {
                self.out.cancelled += 1;
            }
        }
        self.read_due = now;
    }

    /// A read's answer: the new listing (kept for a forced exit too), and when to read next —
    /// soon while accepted cancels settle, slower while waiting on something else.
    fn on_read(&mut self, list: Option<Vec<String>>, sent: Instant, now: Instant) {
        self.reading = false;
        let settling = match list {
            Some(list) => {
                let settling = !list.is_empty() && list.iter().all(|l| self.accepted.contains_key(l));
                if !list.is_empty() {
                    self.last_listed = list.clone();
                }
                self.job.believed_open.borrow_mut().insert(self.symbol.clone(), list.clone());
                self.listed = Some(list);
                self.listed_sent = Some(sent);
                settling
            }
            None => false,
        };
        self.read_due = now + if settling { self.shared.settle_poll() } else { WATCH_POLL };
    }

    /// The outcome: what was sent, and what is left (nothing once flat).
    fn finish(mut self) -> SymbolFlatten {
        self.out.requests.extend(self.esc.requests());
        self.out.remaining_listed = self.listed.is_some();
        self.out.remaining = if self.out.flat {
            Vec::new()
        } else {
            self.listed.unwrap_or(self.known)
        };
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_the_one_whose_cancels_covered_the_orders_listed_last() {
        let t = Instant::now();
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut acc = HashMap::new();
        acc.insert("a".to_string(), (t, CancelPath::CancelBatch));
        acc.insert("b".to_string(), (t + Duration::from_millis(5), CancelPath::CancelSingle));
        assert_eq!(attribute(&ids(&["a", "b"]), &acc, true), (Some(CancelPath::CancelSingle), true));
        // An order no path took went while the dead-man switch ran.
        assert_eq!(attribute(&ids(&["a", "c"]), &acc, true), (Some(CancelPath::DeadManSwitch), false));
        assert_eq!(attribute(&ids(&["a", "c"]), &acc, false), (Some(CancelPath::CancelBatch), false));
        // Never saw an order: the path that answered last (cancel-all at once, say).
        assert_eq!(attribute(&[], &acc, false), (Some(CancelPath::CancelSingle), true));
        // Nothing answered yet: not resolved, so answers in flight get their grace.
        assert_eq!(attribute(&[], &HashMap::new(), false), (None, false));
    }
}
