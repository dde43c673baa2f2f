//! The bot on the virtual clock: what the Strategy and the OrderManager actors do, through the
//! same plain code — the `Quoter` (quotes, pacing, risk, kill switch), `wanted_for` and the
//! requote plan's `select` (the diff, the tolerance, urgency under a tight budget), and the
//! `RateGovernor` (admission, deferral, settling on answers) — with their timers as scheduled
//! events instead of actor timers. Symbols are the venue's indices (its names, in name order);
//! the Quoter hears them by name.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bybit_v5::rest::{path, MAX_BATCH_ITEMS};
use bybit_v5::Side;
use mmbot_actors::budget::rate_governor::{Priority, RateGovernor};
use mmbot_actors::market::book::Top;
use mmbot_actors::market::quoting::Quote;
use mmbot_actors::orders::order_diff::Action;
use mmbot_actors::orders::order_table::{Phase, TrackedOrder};
use mmbot_actors::orders::requote_plan::{select, Room, Wanted};
use mmbot_actors::orders::wanted::wanted_for;
use mmbot_actors::strategy::{Pace, Quoter};
use rust_decimal::Decimal;

use crate::budget_use::BudgetUse;
use crate::schedule::{Outcome, Schedule, SeenFill, Timed};
use crate::settings::Settings;

pub struct Bot {
    pub quoter: Quoter,
    /// Every instrument's name, by the venue's index.
    names: Vec<String>,
    tolerance_bps: Decimal,
    governor: RateGovernor,
    /// The virtual clock: exchange time `t0` is `base`.
    base: Instant,
    t0: u64,
    order_latency_ms: u64,
    /// The bot's view of its orders, by link id.
    pub table: BTreeMap<String, TrackedOrder>,
    /// By symbol index: the quotes last wanted (None: never asked).
    desired: Vec<Option<Vec<Quote>>>,
    next_id: u64,
    requote_scheduled: Vec<bool>,
    replan_at: Option<u64>,
    held_back: bool,
    /// The kill switch's reason, once tripped: no quote from then on.
    pub killed: Option<String>,
    /// Order changes the budget held back.
    pub deferred: u64,
    /// Requests sent per endpoint; the busiest second per endpoint and the busiest 5 s, against
    /// the budget.
    pub budget_use: BudgetUse,
    positions: Vec<Decimal>,
    /// Bumped by every change to `table`: a plan's inputs are the desired quotes and the table.
    table_version: u64,
    /// Per symbol, the table's version when a plan last found nothing to change for it (with
    /// the desired quotes it has now).
    calm: Vec<Option<u64>>,
}

/// A symbol's index among the venue's names (rare: names are looked up only where an actor's
/// code hands one back).
fn index_of(names: &[String], symbol: &str) -> usize {
    names
        .iter()
        .position(|n| n == symbol)
        .expect("the bot quotes only symbols the venue lists")
}

fn kind_of(a: &Action) -> u8 {
    match a {
        Action::Cancel { .. } => 0,
        Action::Amend { .. } => 1,
        Action::Create(_) => 2,
    }
}

impl Bot {
    pub fn new(settings: &Settings, t0: u64) -> Self {
        let filters = settings
            .symbols
            .iter()
            .map(|s| (s.clone(), settings.instruments[s].filters.clone()))
            .collect();
        let names: Vec<String> = settings.instruments.keys().cloned().collect();
        let n = names.len();
        Self {
            quoter: Quoter::new(settings.strategy.clone(), settings.risk.clone(), filters),
            names,
            tolerance_bps: settings.requote_tolerance_bps,
            governor: RateGovernor::new(settings.rate_limits.clone()),
            base: Instant::now(),
            t0,
            order_latency_ms: settings.order_latency_ms,
            table: BTreeMap::new(),
            desired: vec![None; n],
            next_id: 0,
            requote_scheduled: vec![false; n],
            replan_at: None,
            held_back: false,
            killed: None,
            deferred: 0,
            budget_use: BudgetUse::new(Some(settings.rate_limits.clone())),
            positions: vec![Decimal::ZERO; n],
            table_version: 0,
            calm: vec![None; n],
        }
    }

    fn instant(&self, ms: u64) -> Instant {
        self.base + Duration::from_millis(ms.saturating_sub(self.t0))
    }

    fn ms(&self, t: Instant) -> u64 {
        self.t0 + t.saturating_duration_since(self.base).as_millis() as u64
    }

    pub fn book_seen(&mut self, sym: usize, top: Option<Top>, now: u64, s: &mut Schedule) {
        let at = self.instant(now);
        let lost = self.quoter.book(&self.names[sym], top, at);
        self.check(now, s);
        match top {
            Some(_) => self.requote_after(sym, now, s),
            None if lost => self.emit(sym, now, s),
            None => {}
        }
    }

    fn sym(&self, symbol: &str) -> usize {
        index_of(&self.names, symbol)
    }

    /// Stale books and the kill switch, as the Strategy's timers check them.
    fn check(&mut self, now: u64, s: &mut Schedule) {
        for symbol in self.quoter.newly_stale(self.instant(now)) {
            self.emit(self.sym(&symbol), now, s);
        }
        if self.killed.is_none() {
            if let Some(reason) = self.quoter.kill_reason() {
                self.killed = Some(reason);
                let syms: Vec<usize> = self.quoter.symbols.keys().map(|s| self.sym(s)).collect();
                for sym in syms {
                    self.desired[sym] = Some(Vec::new());
                }
                self.calm.fill(None);
                self.plan(None, now, s);
            }
        }
    }

    pub fn requote_due(&mut self, sym: usize, now: u64, s: &mut Schedule) {
        self.requote_scheduled[sym] = false;
        self.requote_after(sym, now, s);
    }

    fn requote_after(&mut self, sym: usize, now: u64, s: &mut Schedule) {
        match self.quoter.pace(&self.names[sym], self.instant(now)) {
            Pace::Now => self.emit(sym, now, s),
            Pace::After(wait) => {
                if !self.requote_scheduled[sym] {
                    self.requote_scheduled[sym] = true;
                    s.at(now + wait.as_millis().max(1) as u64, Timed::Requote { sym });
                }
            }
        }
    }

    fn emit(&mut self, sym: usize, now: u64, s: &mut Schedule) {
        let quotes = match self.killed {
            Some(_) => Vec::new(),
            None => {
                let at = self.instant(now);
                self.quoter.quotes(&self.names[sym], at)
            }
        };
        let same = match &mut self.desired[sym] {
            Some(d) => {
                let same = *d == quotes;
                *d = quotes;
                same
            }
            d => {
                *d = Some(quotes);
                false
            }
        };
        if !same {
            self.calm[sym] = None;
        }
        // The same quotes over the same table: the plan would find again that nothing changes.
        if same && !self.held_back && self.calm[sym] == Some(self.table_version) {
            return;
        }
        let only = (!self.held_back).then_some(sym);
        self.plan(only, now, s);
    }

    pub fn replan(&mut self, now: u64, s: &mut Schedule) {
        if self.replan_at.is_some_and(|t| t <= now) {
            self.replan_at = None;
        }
        self.plan(None, now, s);
    }

    /// Desired quotes → the changes the budget admits now, sent in batches; the rest wait for room.
    fn plan(&mut self, only: Option<usize>, now: u64, s: &mut Schedule) {
        let at = self.instant(now);
        let mut wanted: Vec<Wanted> = Vec::new();
        for (sym, desired) in self.desired.iter().enumerate().filter(|(i, _)| only.is_none_or(|o| o == *i)) {
            let Some(desired) = desired else { continue };
            let symbol = &self.names[sym];
            let live: Vec<&TrackedOrder> = self.table.values().filter(|o| &o.symbol == symbol).collect();
            let changes = wanted_for(symbol, desired, &live, self.tolerance_bps, |_| false);
            if changes.is_empty() {
                self.calm[sym] = Some(self.table_version);
            }
            wanted.extend(changes);
        }
        self.held_back = false;
        if wanted.is_empty() {
            return;
        }
        // Room only where a change wants it: asking the budget is most of a small plan's cost.
        let wants = |k: u8| wanted.iter().any(|w| kind_of(&w.action) == k);
        let (cancels, amends, creates) = (wants(0), wants(1), wants(2));
        let mut available = |needed: bool, endpoint: &str, priority: Priority| match needed {
            true => self.governor.available(endpoint, priority, at),
            false => 0,
        };
        let room = Room {
            create: available(creates, path::ORDER_CREATE_BATCH, Priority::Quote),
            amend: available(amends, path::ORDER_AMEND_BATCH, Priority::Quote),
            cancel: available(cancels, path::ORDER_CANCEL_BATCH, Priority::Cancel),
        };
        let (mut chosen, held) = select(wanted, room);
        let mut held_at: Vec<(&'static str, Priority)> = Vec::new();
        for (endpoint, n, p) in [
            (path::ORDER_CREATE_BATCH, held.create, Priority::Quote),
            (path::ORDER_AMEND_BATCH, held.amend, Priority::Quote),
            (path::ORDER_CANCEL_BATCH, held.cancel, Priority::Cancel),
        ] {
            if n > 0 {
                self.deferred += n as u64;
                self.governor.note_deferred(endpoint, n as u64);
                held_at.push((endpoint, p));
            }
        }
        // One batch per symbol and kind, symbols in order, each kept in the order chosen.
        chosen.sort_by(|a, b| (a.symbol.as_str(), kind_of(&a.action)).cmp(&(b.symbol.as_str(), kind_of(&b.action))));
        for group in chosen.chunk_by(|a, b| a.symbol == b.symbol && kind_of(&a.action) == kind_of(&b.action)) {
            let symbol = &group[0].symbol;
            let sym = self.sym(symbol);
            let (endpoint, priority) = match kind_of(&group[0].action) {
                0 => (path::ORDER_CANCEL_BATCH, Priority::Cancel),
                1 => (path::ORDER_AMEND_BATCH, Priority::Quote),
                _ => (path::ORDER_CREATE_BATCH, Priority::Quote),
            };
            let size = (self.governor.max_units(endpoint) as usize).clamp(1, MAX_BATCH_ITEMS);
            for chunk in group.chunks(size) {
                if self.governor.try_admit(endpoint, chunk.len() as u32, priority, at).is_err() {
                    if !held_at.contains(&(endpoint, priority)) {
                        held_at.push((endpoint, priority));
                    }
                    continue;
                }
                let sent: Vec<(String, Action)> = chunk.iter().map(|w| self.materialize(symbol, &w.action)).collect();
                self.budget_use.sent(endpoint, chunk.len() as u64, now);
                s.at(
                    now + self.order_latency_ms,
                    Timed::Arrive {
                        sym,
                        endpoint,
                        actions: sent,
                        sent_ms: now,
                    },
                );
            }
        }
        if !held_at.is_empty() {
            self.held_back = true;
            let room_at = held_at.iter().map(|&(e, p)| self.governor.room_at(e, 1, p, at)).min().unwrap_or(at);
            let when = self.ms(room_at).max(now + 1);
            if !self.replan_at.is_some_and(|t| t > now && t <= when) {
                self.replan_at = Some(when);
                s.at(when, Timed::Replan);
            }
        }
    }

    /// The table's side of sending an action; the link id it goes with.
    fn materialize(&mut self, symbol: &str, action: &Action) -> (String, Action) {
        self.table_version += 1;
        match action {
            Action::Create(q) => {
                self.next_id += 1;
                let link_id = format!("bt-{}", self.next_id);
                self.table.insert(link_id.clone(), TrackedOrder::creating(&link_id, symbol, q));
                (link_id, action.clone())
            }
            Action::Amend { link_id, price, qty } => {
                if let Some(o) = self.table.get_mut(link_id) {
                    o.amend_sent(*price, *qty);
                }
                (link_id.clone(), action.clone())
            }
            Action::Cancel { link_id } => {
                if let Some(o) = self.table.get_mut(link_id) {
                    o.phase = Phase::Cancelling;
                }
                (link_id.clone(), action.clone())
            }
        }
    }

    /// A batch's answer: the budget settles, each order's phase follows its outcome.
    pub fn answer(&mut self, endpoint: &str, units: u32, sent_ms: u64, outcomes: &[(String, Outcome)], now: u64, s: &mut Schedule) {
        self.governor.settle(endpoint, units, self.instant(sent_ms), self.instant(now));
        self.table_version += 1;
        let mut replan: BTreeSet<usize> = BTreeSet::new();
        for (id, outcome) in outcomes {
            let Some(o) = self.table.get_mut(id) else { continue };
            match (o.phase, outcome) {
                (Phase::Cancelling, _) | (_, Outcome::NotFound) | (_, Outcome::PostOnlyCancelled) => {
                    if o.phase != Phase::Cancelling {
                        replan.insert(index_of(&self.names, &o.symbol));
                    }
                    self.table.remove(id);
                }
                (_, Outcome::Done) => {
                    o.phase = Phase::Live;
                    o.amend_from = None;
                }
            }
        }
        for sym in replan {
            self.plan(Some(sym), now, s);
        }
    }

    pub fn fill_seen(&mut self, f: &SeenFill, now: u64, s: &mut Schedule) {
        let (sym, link_id, side, price, qty, fee) = (f.sym, f.link_id.as_str(), f.side, f.price, f.qty, f.fee);
        if let Some(o) = self.table.get_mut(link_id) {
            self.table_version += 1;
            o.filled += qty;
            if o.filled >= o.qty {
                self.table.remove(link_id);
            }
        }
        self.quoter.fill(&self.names[sym], side, qty, price, fee);
        let p = &mut self.positions[sym];
        *p += if side == Side::Buy { qty } else { -qty };
        let size = *p;
        self.check(now, s);
        if self.quoter.set_position(&self.names[sym], size) {
            self.requote_after(sym, now, s);
        }
    }

    pub fn funding_seen(&mut self, sym: usize, fee: Decimal, now: u64, s: &mut Schedule) {
        self.quoter.funding(&self.names[sym], fee);
        self.check(now, s);
    }
}
