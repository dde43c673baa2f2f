//! OrderManager: turns desired quotes into batch creates / amends / cancels, tracks every order
//! from REST answers and the private stream, and on Stop makes the account flat: close the gate,
//! drain requests in flight, cancel everything per symbol in parallel, then verify on the
//! exchange that none of the bot's orders remains, repeating within the step's budget.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::join_all;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use bybit_v5::rest::{path, MAX_BATCH_ITEMS};
use bybit_v5::RetCode;

use crate::batch_body::{batch_body, BatchItem};
use crate::cancel_path::CancelPath;
use crate::events::Event;
use crate::flatten::{flatten, list_open_orders, DeadMan, FlattenJob, FlattenOutcome, Transports};
use crate::in_flight::InFlight;
use crate::link_id::LinkIds;
use crate::messages::private_stream::{Executions, OrderUpdates, Positions, PrivateStreamReady, ReconcileNow};
use crate::messages::quotes::DesiredQuotes;
use crate::messages::record::Record;
use crate::messages::shutdown::BelievedOpen;
use crate::metrics::{labels, Metrics};
use crate::order_diff::{diff, Action};
use crate::orders::{Change, OrderTable, Phase, TrackedOrder};
use crate::quoting::Quote;
use crate::rate_governor::{Governor, Priority};
use crate::requote_plan::{select, Held, Room, Wanted};
use crate::rest_client::{count_rejection, Answer, RestError};
use crate::rest_connector::{Call, OrderEntry, Rest};
use crate::status::StatusPatch;
use crate::stop::{OrdersOutcome, StepStatus, Stop, StopAck};

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
    /// A cancel path with no answer within this is passed over for the next (left to finish:
    /// cancels are idempotent).
    pub escalate_after_ms: u64,
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
        }
    }
}

/// How often `/status` gets the order table.
const STATUS_EVERY: Duration = Duration::from_millis(100);

pub struct OrderManager {
    settings: OrderManagerSettings,
    symbols: Vec<String>,
    dry_run: bool,
    ids: LinkIds,
    table: OrderTable,
    gate_open: bool,
    stream_ready: bool,
    status_dirty: bool,
    in_flight: Rc<Cell<usize>>,
    /// Longest time after sending that a create can still land: the exchange refuses requests
    /// older than the receive window, plus a margin for clock error.
    create_window: Duration,
    last_create_sent: Rc<Cell<Option<Instant>>>,
    /// Until when a create whose outcome we never learned could still land on the exchange.
    doubt_until: Rc<Cell<Option<Instant>>>,
    /// When the next plan is due because the budget held changes back.
    replan_at: Option<Instant>,
    /// Orders the exchange refused to amend: the next change replaces them instead.
    replace: HashSet<String>,
    /// When the book update behind each symbol's latest desired quotes arrived.
    ticks: HashMap<String, Option<Instant>>,
    desired: HashMap<String, Vec<Quote>>,
    positions: BTreeMap<String, Decimal>,
    rest: Rest,
    /// The account's request budget, shared with every sender.
    governor: Governor,
    recorder: Recipient<Record>,
    /// `/status`.
    web: Recipient<StatusPatch>,
    metrics: Arc<Metrics>,
    /// Whether a trade WebSocket is configured, and whether orders go by it.
    trade_socket: bool,
    order_entry: OrderEntry,
    /// The exchange's dead-man switch, when armed: the last resort.
    dead_man: Option<DeadMan>,
    /// The last plan held changes back for budget: the next plans cover every symbol.
    held_back: bool,
    /// While `act` sends: the events to record once the requests are on their way.
    held_records: Option<Vec<Event>>,
    /// What the exchange listed last during the shutdown, per symbol.
    believed_open: Rc<RefCell<BTreeMap<String, Vec<String>>>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BatchKind {
    Create,
    Amend,
    Cancel,
}

/// What a batch answer says of one of its orders.
struct ItemAnswer {
    code: i64,
    msg: String,
    order_id: String,
}

fn extend_doubt(doubt: &Cell<Option<Instant>>, until: Instant) {
    doubt.set(Some(doubt.get().map_or(until, |d| d.max(until))));
}

impl OrderManager {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: OrderManagerSettings,
        symbols: Vec<String>,
        dry_run: bool,
        run_id: &str,
        create_window: Duration,
        rest: Rest,
        governor: Governor,
        recorder: Recipient<Record>,
        web: Recipient<StatusPatch>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let ids = LinkIds::new(&settings.link_prefix, run_id);
        Self {
            settings,
            symbols,
            dry_run,
            ids,
            table: OrderTable::default(),
            gate_open: true,
            stream_ready: false,
            status_dirty: false,
            in_flight: Rc::new(Cell::new(0)),
            create_window,
            last_create_sent: Rc::new(Cell::new(None)),
            doubt_until: Rc::new(Cell::new(None)),
            replan_at: None,
            ticks: HashMap::new(),
            replace: HashSet::new(),
            desired: HashMap::new(),
            positions: BTreeMap::new(),
            rest,
            governor,
            recorder,
            web,
            metrics,
            trade_socket: false,
            order_entry: OrderEntry::Rest,
            dead_man: None,
            held_back: false,
            held_records: None,
            believed_open: Rc::default(),
        }
    }

    /// Note that the orders changed; `/status` gets a copy at most every STATUS_EVERY, so a burst
    /// of updates (a thousand cancels at shutdown) does not copy the table a thousand times.
    fn publish(&mut self) {
        self.metrics.orders_open.set(self.table.len() as i64);
        self.status_dirty = true;
    }

    fn flush_status(&mut self) {
        if std::mem::take(&mut self.status_dirty) {
            self.web.do_send(StatusPatch::Orders(self.table.all().cloned().collect()));
        }
        // The budget rolls on by itself: its view goes with every status tick.
        self.web.do_send(StatusPatch::Budget(self.governor.snapshot()));
    }

    fn record(&mut self, e: Event) {
        match &mut self.held_records {
            Some(held) => held.push(e),
            None => self.recorder.do_send(Record(e)),
        }
    }

    /// Bring every symbol's orders toward its desired quotes, within the account's budget: what
    /// fits goes now, most urgent first; what does not is planned again when the budget has room
    /// (from the latest desired quotes then, never from a queue).
    fn act(&mut self, ctx: &mut Context<Self>) {
        self.act_on(None, ctx);
    }

    /// Plan one symbol — what changed for it — or, with `None` or while changes wait for
    /// budget, every symbol (so that the most urgent change anywhere gets the room first). One
    /// symbol's plan costs its own orders, not all of them: at 20 symbols × 50 orders a full
    /// plan per book update was the tick-to-request path's largest cost.
    fn act_on(&mut self, symbol: Option<&str>, ctx: &mut Context<Self>) {
        if !self.gate_open || !self.stream_ready || self.dry_run {
            return;
        }
        let only = symbol.filter(|_| !self.held_back).map(String::from);
        // The events of the orders sent here go to the recorder once the connector (on this
        // thread) has written the requests: a message to the recorder's thread wakes it (a
        // syscall), which does not belong between a book update and its order request. They
        // still reach it before any answer can (an answer needs a round trip).
        self.held_records = Some(Vec::new());
        self.plan_and_send(only.as_deref(), ctx);
        let held = self.held_records.take().unwrap_or_default();
        if !held.is_empty() {
            let recorder = self.recorder.clone();
            ctx.spawn(
                async move {
                    tokio::task::yield_now().await;
                    for e in held {
                        recorder.do_send(Record(e));
                    }
                }
                .into_actor(self),
            );
        }
    }

    fn plan_and_send(&mut self, only: Option<&str>, ctx: &mut Context<Self>) {
        let wanted = self.wanted_changes(only);
        self.held_back = false;
        if !wanted.is_empty() {
            let room = Room {
                create: self.governor.available(path::ORDER_CREATE_BATCH, Priority::Quote),
                amend: self.governor.available(path::ORDER_AMEND_BATCH, Priority::Quote),
                cancel: self.governor.available(path::ORDER_CANCEL_BATCH, Priority::Cancel),
            };
            let (chosen, held) = select(wanted, room);
            self.count_held(held);
            let mut held_at = held_endpoints(held);
            for e in self.send_changes(chosen, ctx) {
                if !held_at.contains(&e) {
                    held_at.push(e);
                }
            }
            if !held_at.is_empty() {
                self.held_back = true;
                self.replan_when_room(ctx, &held_at);
            }
        }
        // Tick-to-request counts only quotes that could go out at once.
        for t in self.ticks.values_mut() {
            *t = None;
        }
    }

    /// Changes the budget held back show as deferred, per endpoint, in `/metrics` and `/status`.
    fn count_held(&self, held: Held) {
        for (endpoint, n) in [
            (path::ORDER_CREATE_BATCH, held.create),
            (path::ORDER_AMEND_BATCH, held.amend),
            (path::ORDER_CANCEL_BATCH, held.cancel),
        ] {
            if n > 0 {
                self.governor.with(|g| g.note_deferred(endpoint, n as u64));
                self.metrics
                    .requests_deferred
                    .get_or_create(&labels(&[("endpoint", endpoint), ("reason", "budget")]))
                    .inc_by(n as u64);
            }
        }
    }

    /// Every symbol's diff, each change with its ladder level and how far off its order is.
    fn wanted_changes(&self, only: Option<&str>) -> Vec<Wanted> {
        let mut out = Vec::new();
        for symbol in self.symbols.iter().filter(|s| only.is_none_or(|o| o == s.as_str())) {
            let Some(desired) = self.desired.get(symbol) else {
                continue;
            };
            let live: Vec<&TrackedOrder> = self.table.for_symbol(symbol).collect();
            for action in diff(desired, &live, self.settings.requote_tolerance_bps) {
                let (action, level, off_bps) = match action {
                    Action::Create(q) => (Action::Create(q), q.level, Decimal::MAX),
                    Action::Amend { link_id, price, qty } => {
                        let Some(o) = self.table.get(&link_id) else { continue };
                        if self.replace.contains(&link_id) {
                            // The exchange refused to amend it: cancel now, create on the next plan.
                            (Action::Cancel { link_id }, o.level, Decimal::ZERO)
                        } else {
                            let off = price
                                .filter(|p| !p.is_zero())
                                .map_or(Decimal::ZERO, |p| (o.price - p).abs() / p * Decimal::from(10_000));
                            (Action::Amend { link_id, price, qty }, o.level, off)
                        }
                    }
                    Action::Cancel { link_id } => {
                        let level = self.table.get(&link_id).map_or(0, |o| o.level);
                        (Action::Cancel { link_id }, level, Decimal::ZERO)
                    }
                };
                out.push(Wanted {
                    symbol: symbol.clone(),
                    action,
                    level,
                    off_bps,
                });
            }
        }
        out
    }

    /// Plan again as soon as any order endpoint has room.
    /// Plan again when one of the endpoints that held changes back has room. Only those: an
    /// endpoint with room but nothing waiting would wake the plan every millisecond.
    fn replan_when_room(&mut self, ctx: &mut Context<Self>, held_at: &[(&'static str, Priority)]) {
        let now = Instant::now();
        let at = held_at
            .iter()
            .map(|&(e, p)| self.governor.with(|g| g.room_at(e, 1, p, now)))
            .min()
            .unwrap_or(now)
            .max(now + Duration::from_millis(1));
        if self.replan_at.is_some_and(|t| t > now && t <= at) {
            return;
        }
        self.replan_at = Some(at);
        ctx.run_later(at - now, |act, ctx| {
            act.replan_at = None;
            act.act(ctx)
        });
    }

    /// Send the chosen changes as batches per symbol and kind, each batch's budget spent before
    /// it leaves (so two plans never count the same room). Returns true if a batch found no
    /// room after all (the IP window) and was held back.
    /// Send the chosen changes in batches; returns the endpoints whose budget held a batch back.
    fn send_changes(&mut self, chosen: Vec<Wanted>, ctx: &mut Context<Self>) -> Vec<(&'static str, Priority)> {
        let mut groups: BTreeMap<(String, u8), Vec<Action>> = BTreeMap::new();
        for w in chosen {
            let kind = match w.action {
                Action::Cancel { .. } => 0,
                Action::Amend { .. } => 1,
                Action::Create(_) => 2,
            };
            groups.entry((w.symbol, kind)).or_default().push(w.action);
        }
        let mut held = Vec::new();
        for ((symbol, kind), actions) in groups {
            let (kind, endpoint, priority) = match kind {
                0 => (BatchKind::Cancel, path::ORDER_CANCEL_BATCH, Priority::Cancel),
                1 => (BatchKind::Amend, path::ORDER_AMEND_BATCH, Priority::Quote),
                _ => (BatchKind::Create, path::ORDER_CREATE_BATCH, Priority::Quote),
            };
            let size = (self.governor.max_units(endpoint) as usize).clamp(1, MAX_BATCH_ITEMS);
            for chunk in actions.chunks(size) {
                let now = Instant::now();
                if self
                    .governor
                    .with(|g| g.try_admit(endpoint, chunk.len() as u32, priority, now))
                    .is_err()
                {
                    if !held.contains(&(endpoint, priority)) {
                        held.push((endpoint, priority));
                    }
                    continue;
                }
                let items: Vec<(String, BatchItem)> = chunk.iter().map(|a| self.materialize(&symbol, a)).collect();
                // Counted per batch: a labelled counter's lookup per order adds up on this path.
                let counter = match kind {
                    BatchKind::Create => Some(&self.metrics.orders_placed),
                    BatchKind::Amend => Some(&self.metrics.orders_amended),
                    BatchKind::Cancel => None,
                };
                if let Some(c) = counter {
                    c.get_or_create(&labels(&[("symbol", &symbol)])).inc_by(items.len() as u64);
                }
                self.send_batch(&symbol, kind, endpoint, items, now, ctx);
            }
        }
        self.publish();
        held
    }

    /// Record a change as sent, update the table, and give its batch item.
    fn materialize(&mut self, symbol: &str, action: &Action) -> (String, BatchItem) {
        match action {
            Action::Create(q) => {
                let link_id = self.ids.next_id();
                self.record(Event::OrderSent {
                    action: "create".into(),
                    link_id: link_id.clone(),
                    symbol: symbol.into(),
                    side: Some(q.side),
                    price: Some(q.price),
                    qty: Some(q.qty),
                });
                self.table.insert(TrackedOrder {
                    link_id: link_id.clone(),
                    order_id: None,
                    symbol: symbol.into(),
                    side: q.side,
                    level: q.level,
                    price: q.price,
                    qty: q.qty,
                    filled: Decimal::ZERO,
                    phase: Phase::Creating,
                    amend_from: None,
                });
                let item = BatchItem::post_only(symbol, q.side, q.price, q.qty, &link_id);
                (link_id, item)
            }
            Action::Amend { link_id, price, qty } => {
                self.record(Event::OrderSent {
                    action: "amend".into(),
                    link_id: link_id.clone(),
                    symbol: symbol.into(),
                    side: None,
                    price: *price,
                    qty: *qty,
                });
                let item = BatchItem::amend(symbol, link_id, *price, *qty);
                if let Some(o) = self.table.get_mut(link_id) {
                    o.amend_sent(*price, *qty);
                }
                (link_id.clone(), item)
            }
            Action::Cancel { link_id } => {
                self.record(Event::OrderSent {
                    action: "cancel".into(),
                    link_id: link_id.clone(),
                    symbol: symbol.into(),
                    side: None,
                    price: None,
                    qty: None,
                });
                if let Some(o) = self.table.get_mut(link_id) {
                    o.phase = Phase::Cancelling;
                }
                (link_id.clone(), BatchItem::cancel(symbol, link_id))
            }
        }
    }

    /// One batch request, its budget already spent; its answer settles its orders and starts the
    /// next plan.
    fn send_batch(
        &mut self,
        symbol: &str,
        kind: BatchKind,
        endpoint: &'static str,
        items: Vec<(String, BatchItem)>,
        admitted_at: Instant,
        ctx: &mut Context<Self>,
    ) {
        let links: Vec<String> = items.iter().map(|(l, _)| l.clone()).collect();
        let symbol = symbol.to_string();
        let body = batch_body(items.into_iter().map(|(_, item)| item).collect());
        let guard = InFlight::new(&self.in_flight);
        let sent = Instant::now();
        if kind == BatchKind::Create {
            self.last_create_sent.set(Some(sent));
        }
        // Tick to request ends here, as the request leaves this actor (the first of its symbol's
        // batches after a book update); tick to wire, when the connector starts on it.
        let tick = self.ticks.get_mut(&symbol).and_then(Option::take);
        if let Some(tick) = tick {
            self.metrics.tick_to_request.observe(tick.elapsed().as_secs_f64());
        }
        let call = Call::batch(endpoint, body, links.len()).admitted(admitted_at).tick(tick);
        // In the connector's mailbox from here, not when this actor next polls the future: its
        // thread starts on the request while this one finishes the plan.
        let answer = self.rest.send(call);
        let fut = async move {
            let r = answer.await.unwrap_or_else(|e| Err(RestError::Transport(e.to_string())));
            drop(guard);
            r
        };
        ctx.spawn(fut.into_actor(self).map(move |r, act, ctx| {
            if kind == BatchKind::Create && r.as_ref().is_err_and(RestError::outcome_unknown) {
                extend_doubt(&act.doubt_until, sent + act.create_window);
            }
            act.on_batch(kind, endpoint, &links, r);
            act.publish();
            act.act_on(Some(&symbol), ctx);
        }));
    }

    /// Apply a batch answer to the orders it named.
    fn on_batch(&mut self, kind: BatchKind, endpoint: &str, links: &[String], r: Result<Answer, RestError>) {
        let action = match kind {
            BatchKind::Create => "create",
            BatchKind::Amend => "amend",
            BatchKind::Cancel => "cancel",
        };
        let answer = match r {
            Ok(a) => a,
            Err(e) => return self.on_batch_failed(kind, action, links, e),
        };
        let codes = answer.ext["list"].as_array().cloned().unwrap_or_default();
        let results = answer.result["list"].as_array().cloned().unwrap_or_default();
        for (i, link) in links.iter().enumerate() {
            let item = ItemAnswer {
                code: codes.get(i).and_then(|c| c["code"].as_i64()).unwrap_or(0),
                msg: codes.get(i).and_then(|c| c["msg"].as_str()).unwrap_or("").to_string(),
                order_id: results.get(i).and_then(|r| r["orderId"].as_str()).unwrap_or("").to_string(),
            };
            self.on_batch_item(kind, action, endpoint, link, item);
        }
    }

    /// The whole batch failed: an order whose fate is unknown is learned from the exchange, one
    /// the exchange never took is dropped (create) or back to what it was (amend, cancel).
    fn on_batch_failed(&mut self, kind: BatchKind, action: &str, links: &[String], e: RestError) {
        log::warn!(action = action, orders = links.len(); "{action} batch of {} failed: {e}", links.len());
        for l in links {
            if e.outcome_unknown() {
                // Never retried blindly: the order's fate is learned from the exchange.
                if let Some(o) = self.table.get_mut(l) {
                    o.phase = Phase::Unknown;
                }
            } else if kind == BatchKind::Create {
                self.table.remove(l);
            } else if let Some(o) = self.table.get_mut(l) {
                match kind {
                    BatchKind::Amend => o.amend_refused(),
                    _ => o.cancel_refused(),
                }
            }
        }
        if !e.outcome_unknown() {
            self.record(Event::Error {
                source: format!("{action}-batch"),
                message: e.to_string(),
            });
        }
    }

    /// One order's answer within a batch.
    fn on_batch_item(&mut self, kind: BatchKind, action: &str, endpoint: &str, link: &String, item: ItemAnswer) {
        let ItemAnswer { code, msg, order_id } = item;
        let symbol = self.table.get(link).map(|o| o.symbol.clone()).unwrap_or_default();
        let rc = RetCode::from_code(code);
        if rc != RetCode::Ok {
            count_rejection(&self.governor, Some(&self.metrics), endpoint, code);
        }
        if rc == RetCode::RateLimited {
            log::warn!(action = action, link_id = link.as_str(), retCode = 10006; "{action} {link}: refused with 10006 although the rate governor admitted it");
        }
        match (kind, rc) {
            (BatchKind::Create, RetCode::Ok) => {
                if let Some(o) = self.table.get_mut(link) {
                    o.order_id = Some(order_id);
                    if o.phase == Phase::Creating {
                        o.phase = Phase::Live;
                    }
                }
            }
            (BatchKind::Amend, RetCode::Ok) => {
                if let Some(o) = self.table.get_mut(link) {
                    o.amend_done();
                }
            }
            (BatchKind::Cancel, RetCode::Ok) => {
                self.table.remove(link);
                self.replace.remove(link);
                self.metrics.orders_cancelled.get_or_create(&labels(&[("symbol", &symbol)])).inc();
            }
            (_, rc) if rc.means_order_gone() => {
                self.table.remove(link);
            }
            (BatchKind::Create, _) => {
                self.table.remove(link);
                self.reject(action, link, code, msg, &symbol);
            }
            (kind, rc) => {
                if let Some(o) = self.table.get_mut(link) {
                    match kind {
                        BatchKind::Amend => o.amend_refused(),
                        _ => o.cancel_refused(),
                    }
                }
                if kind == BatchKind::Amend && !rc.is_transient() {
                    // The exchange will not amend this one: replace it (cancel, then create).
                    self.replace.insert(link.clone());
                }
                self.reject(action, link, code, msg, &symbol);
            }
        }
    }

    fn reject(&mut self, action: &str, link: &str, code: i64, msg: String, symbol: &str) {
        log::debug!(action = action, link_id = link, symbol = symbol, retCode = code; "{action} {link} refused: {code} {msg}");
        self.metrics.orders_rejected.get_or_create(&labels(&[("symbol", symbol)])).inc();
        self.record(Event::OrderRejected {
            action: action.into(),
            link_id: link.into(),
            code,
            message: msg,
        });
    }

    /// Orders of this run nobody tracks go by the same escalation as at shutdown (no cancel-all:
    /// it would take the tracked orders too), within one reconcile interval.
    fn cancel_strays(&mut self, symbol: &str, strays: Vec<String>) {
        let guard = InFlight::new(&self.in_flight);
        let targets: HashSet<String> = strays.iter().cloned().collect();
        let job = FlattenJob {
            symbols: vec![symbol.to_string()],
            paths: self.cancel_paths(CancelScope::Own),
            target: Rc::new(move |l: &str| targets.contains(l)),
            known: HashMap::from([(symbol.to_string(), strays)]),
            deadline: Instant::now() + Duration::from_millis(self.settings.reconcile_interval_ms.max(1000)),
            escalate_after: Duration::from_millis(self.settings.escalate_after_ms),
            settled: Rc::new(|| true),
            doubt_until: Rc::new(|| None),
            account_wide: false,
            believed_open: Rc::default(),
        };
        let transports = Transports {
            dead_man: None,
            ..self.transports()
        };
        actix_rt::spawn(async move {
            let out = flatten(job, transports).await;
            for s in out.symbols.iter().filter(|s| !s.flat) {
                log::warn!("untracked orders not cancelled yet: {}", s.line());
            }
            drop(guard);
        });
    }

    /// Learn the fate of orders in doubt, and cancel orders of this run nobody tracks.
    fn reconcile(&mut self, ctx: &mut Context<Self>) {
        if !self.gate_open || self.dry_run {
            return;
        }
        let rest = self.rest.clone();
        let symbols = self.symbols.clone();
        ctx.spawn(
            async move { join_all(symbols.iter().map(|s| list_open_orders(&rest, s))).await }
                .into_actor(self)
                .map(|lists, act, ctx| {
                    if !act.gate_open {
                        return;
                    }
                    for (symbol, list) in act.symbols.clone().iter().zip(lists) {
                        let Ok(list) = list else { continue };
                        let listed: HashSet<&str> = list.iter().map(|o| o.order_link_id.as_str()).collect();
                        let doubtful: Vec<String> = act
                            .table
                            .for_symbol(symbol)
                            .filter(|o| o.phase == Phase::Unknown && !listed.contains(o.link_id.as_str()))
                            .map(|o| o.link_id.clone())
                            .collect();
                        for l in doubtful {
                            act.table.remove(&l);
                        }
                        let mut strays = Vec::new();
                        for info in &list {
                            if act.table.apply(info) == Change::Unknown && act.ids.is_this_run(&info.order_link_id) {
                                strays.push(info.order_link_id.clone());
                            }
                        }
                        if !strays.is_empty() {
                            log::warn!(symbol = symbol.as_str(), orders = strays.len(); "{symbol}: cancelling {} untracked orders of this run", strays.len());
                            act.cancel_strays(symbol, strays);
                        }
                    }
                    act.publish();
                    act.act(ctx);
                }),
        );
    }
}

impl Actor for OrderManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_millis(self.settings.reconcile_interval_ms.max(100)), |act, ctx| {
            act.reconcile(ctx)
        });
        ctx.run_interval(STATUS_EVERY, |act, _| act.flush_status());
    }
}

crate::answers_ping!(OrderManager);

impl Handler<DesiredQuotes> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: DesiredQuotes, ctx: &mut Self::Context) {
        if !self.gate_open {
            return;
        }
        self.desired.insert(msg.symbol.clone(), msg.quotes);
        self.ticks.insert(msg.symbol.clone(), msg.tick);
        self.act_on(Some(&msg.symbol), ctx);
    }
}

impl Handler<OrderUpdates> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: OrderUpdates, _: &mut Self::Context) {
        for info in &msg.0 {
            if let Change::Closed { status, reason } = self.table.apply(info) {
                self.replace.remove(&info.order_link_id);
                self.record(Event::OrderClosed {
                    link_id: info.order_link_id.clone(),
                    symbol: info.symbol.clone(),
                    status: format!("{status:?}"),
                    reason,
                });
            }
        }
        self.publish();
    }
}

impl Handler<Executions> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: Executions, _: &mut Self::Context) {
        for e in msg.0.into_iter().filter(|e| e.exec_type == "Trade") {
            self.metrics
                .fills
                .get_or_create(&labels(&[
                    ("symbol", &e.symbol),
                    ("side", if e.side == bybit_v5::Side::Buy { "buy" } else { "sell" }),
                ]))
                .inc();
            self.record(Event::Fill {
                link_id: e.order_link_id,
                symbol: e.symbol,
                side: e.side,
                price: e.exec_price,
                qty: e.exec_qty,
                fee: e.exec_fee,
                is_maker: e.is_maker,
            });
        }
    }
}

impl Handler<PrivateStreamReady> for OrderManager {
    type Result = ();

    fn handle(&mut self, _: PrivateStreamReady, ctx: &mut Self::Context) {
        if !self.stream_ready {
            log::info!("private stream ready: quoting starts");
            self.stream_ready = true;
            self.act(ctx);
        }
    }
}

impl Handler<ReconcileNow> for OrderManager {
    type Result = ();

    fn handle(&mut self, _: ReconcileNow, ctx: &mut Self::Context) {
        log::info!("reconciling orders with the exchange after a reconnect");
        self.reconcile(ctx);
    }
}

impl Handler<Positions> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: Positions, _: &mut Self::Context) {
        for (symbol, size) in msg.0 {
            self.metrics
                .position
                .get_or_create(&labels(&[("symbol", &symbol)]))
                .set(size.try_into().unwrap_or(0.0));
            self.positions.insert(symbol, size);
        }
    }
}

/// The ways out besides REST, known once the other actors run (wired in the application).
#[derive(Clone, Message)]
#[rtype(result = "()")]
pub struct UseExitPaths {
    pub trade_socket: bool,
    pub order_entry: OrderEntry,
    pub dead_man: Option<DeadMan>,
}

impl Handler<UseExitPaths> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: UseExitPaths, _: &mut Self::Context) {
        self.trade_socket = msg.trade_socket;
        self.order_entry = msg.order_entry;
        self.dead_man = msg.dead_man;
    }
}

impl Handler<BelievedOpen> for OrderManager {
    type Result = MessageResult<BelievedOpen>;

    fn handle(&mut self, _: BelievedOpen, _: &mut Self::Context) -> Self::Result {
        let listed = self.believed_open.borrow();
        let mut out = BTreeMap::new();
        for symbol in &self.symbols {
            let ids = match listed.get(symbol) {
                Some(ids) => ids.clone(),
                None => self.table.for_symbol(symbol).map(|o| o.link_id.clone()).collect(),
            };
            if !ids.is_empty() {
                out.insert(symbol.clone(), ids);
            }
        }
        MessageResult(out)
    }
}

impl OrderManager {
    fn transports(&self) -> Transports {
        Transports {
            rest: self.rest.clone(),
            governor: self.governor.clone(),
            trade_socket: self.trade_socket,
            order_entry: self.order_entry,
            dead_man: self.dead_man.clone(),
        }
    }

    /// Cancel paths in order of preference for the configured scope.
    fn cancel_paths(&self, scope: CancelScope) -> Vec<CancelPath> {
        crate::cancel_path::preference(
            matches!(scope, CancelScope::Symbol | CancelScope::Account),
            self.trade_socket,
            self.order_entry == OrderEntry::Websocket,
        )
    }

    /// Shutdown step 1: what the flattening targets and until when. The first cancel goes out
    /// at once, while requests in flight settle; reads prove flat only after they have.
    fn shutdown_job(&self, end: Instant) -> FlattenJob {
        let ids = self.ids.clone();
        let in_flight = self.in_flight.clone();
        let doubt = self.doubt_until.clone();
        let mut known: HashMap<String, Vec<String>> = HashMap::new();
        for o in self.table.all() {
            known.entry(o.symbol.clone()).or_default().push(o.link_id.clone());
        }
        FlattenJob {
            symbols: self.symbols.clone(),
            paths: self.cancel_paths(self.settings.cancel_scope),
            target: Rc::new(move |l: &str| ids.is_ours(l)),
            known,
            deadline: end,
            escalate_after: Duration::from_millis(self.settings.escalate_after_ms),
            settled: Rc::new(move || in_flight.get() == 0),
            doubt_until: Rc::new(move || doubt.get()),
            believed_open: self.believed_open.clone(),
            account_wide: self.settings.cancel_scope == CancelScope::Account,
        }
    }

    /// The shutdown cancels every order: `/status` says so from its first moment, rather than
    /// "Live" while a cancel-all hangs.
    fn show_all_cancelling(&mut self) {
        let links: Vec<String> = self.table.all().map(|o| o.link_id.clone()).collect();
        for link in links {
            if let Some(o) = self.table.get_mut(&link).filter(|o| !matches!(o.phase, Phase::Unknown)) {
                o.phase = Phase::Cancelling;
            }
        }
        self.publish();
        self.flush_status();
    }

    /// After the flattening: orders of a symbol verified flat are gone; the others are in doubt.
    fn show_after_flatten(&mut self, flat: &FlattenOutcome) {
        let flat_symbols: HashSet<&str> = flat.symbols.iter().filter(|s| s.flat).map(|s| s.symbol.as_str()).collect();
        let links: Vec<(String, bool)> = self
            .table
            .all()
            .map(|o| (o.link_id.clone(), flat_symbols.contains(o.symbol.as_str())))
            .collect();
        for (link, gone) in links {
            if gone {
                self.table.remove(&link);
            } else if let Some(o) = self.table.get_mut(&link) {
                o.phase = Phase::Unknown;
            }
        }
        self.publish();
        self.flush_status();
    }

    /// Shutdown step 2 (after the flattening): what became of the orders, on the record and in
    /// the step's answer.
    fn conclude_shutdown(&mut self, flat: FlattenOutcome, started: Instant) -> StopAck {
        self.show_after_flatten(&flat);
        let drained = self.in_flight.get() == 0;
        if !drained {
            // A create still in flight may land any time until the exchange would refuse it as stale.
            if let Some(sent) = self.last_create_sent.get() {
                extend_doubt(&self.doubt_until, sent + self.create_window);
            }
        }
        let unsettled = self.doubt_until.get().filter(|d| Instant::now() < *d);
        let outcome = orders_outcome(&flat);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        self.metrics.shutdown_cancel_orders.inc_by(outcome.cancelled as u64);
        self.record(Event::ShutdownCancelOrders {
            cancelled: outcome.cancelled,
            remaining: outcome.remaining,
            verified_flat: outcome.verified_flat,
            attempts: outcome.attempts,
            elapsed_ms,
            skipped_dry_run: false,
            symbols: flat.symbols.clone(),
            dead_man_after_ms: flat.dead_man_after_ms,
        });
        self.record_final_state();
        let (status, detail) = stop_verdict(&outcome, unsettled, drained);
        let mut outcome = outcome;
        if unsettled.is_some() {
            // Verified flat, but not for long enough to rule out a late create.
            outcome.verified_flat = false;
        }
        StopAck {
            status,
            detail,
            orders: Some(outcome),
            positions: None,
        }
    }

    fn record_final_state(&mut self) {
        self.record(Event::FinalState {
            open_orders: self.table.all().cloned().collect(),
            positions: self.positions.iter().map(|(s, p)| (s.clone(), *p)).collect(),
        });
    }
}

/// The endpoints (with the priority their changes ask at) whose budget held changes back.
fn held_endpoints(held: Held) -> Vec<(&'static str, Priority)> {
    [
        (held.create, path::ORDER_CREATE_BATCH, Priority::Quote),
        (held.amend, path::ORDER_AMEND_BATCH, Priority::Quote),
        (held.cancel, path::ORDER_CANCEL_BATCH, Priority::Cancel),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(_, e, p)| (e, p))
    .collect()
}

/// The orders' outcome from the flattening's per-symbol results.
fn orders_outcome(flat: &FlattenOutcome) -> OrdersOutcome {
    let verified_flat = flat.flat();
    let may_remain: Vec<String> = flat.symbols.iter().flat_map(|s| s.remaining.iter().cloned()).collect();
    OrdersOutcome {
        cancelled: flat.symbols.iter().map(|s| s.cancelled).sum(),
        remaining: flat
            .symbols
            .iter()
            .all(|s| s.flat || s.remaining_listed)
            .then_some(may_remain.len()),
        verified_flat,
        skipped_dry_run: false,
        attempts: flat.symbols.iter().flat_map(|s| s.requests.values()).sum(),
        may_remain,
        symbols: flat.symbols.clone(),
    }
}

/// The order step's status and its line in the report.
fn stop_verdict(o: &OrdersOutcome, unsettled: Option<Instant>, drained: bool) -> (StepStatus, String) {
    let drain_note = if drained { "" } else { "; some requests were still in flight" };
    let paths = o
        .symbols
        .iter()
        .filter_map(|s| s.path.map(|p| format!("{} {p}", s.symbol)))
        .collect::<Vec<_>>()
        .join(", ");
    let paths = if paths.is_empty() { String::new() } else { format!("; by {paths}") };
    if let Some(until) = unsettled.filter(|_| o.verified_flat) {
        return (
            StepStatus::TimedOut,
            format!(
                "cancelled {} orders and saw 0 open, but a create in doubt could still land for {} ms more: orders may remain",
                o.cancelled,
                until.saturating_duration_since(Instant::now()).as_millis()
            ),
        );
    }
    if o.verified_flat {
        return (
            StepStatus::Ok,
            format!(
                "cancelled {} orders, verified 0 open on the exchange ({} request(s){paths}){drain_note}",
                o.cancelled, o.attempts
            ),
        );
    }
    let remaining = o.remaining.map(|n| n.to_string()).unwrap_or_else(|| "an unknown number of".into());
    (
        StepStatus::TimedOut,
        format!(
            "cancelled {} orders; {remaining} orders may remain (could not verify flat with {} request(s)){drain_note}",
            o.cancelled, o.attempts
        ),
    )
}

impl Handler<Stop> for OrderManager {
    type Result = ResponseActFuture<Self, StopAck>;

    fn handle(&mut self, stop: Stop, _: &mut Self::Context) -> Self::Result {
        self.gate_open = false;
        let started = Instant::now();
        if self.dry_run {
            self.record_final_state();
            let outcome = OrdersOutcome {
                skipped_dry_run: true,
                remaining: Some(0),
                ..Default::default()
            };
            return Box::pin(fut::ready(()).into_actor(self).map(|(), _, ctx| {
                ctx.stop();
                StopAck {
                    status: StepStatus::Ok,
                    detail: "dry-run: nothing was sent, so nothing to cancel".into(),
                    orders: Some(outcome),
                    positions: None,
                }
            }));
        }
        self.show_all_cancelling();
        // Answer a little before the supervisor's own timeout, with what we know.
        let end = stop.deadline.checked_sub(Duration::from_millis(100)).unwrap_or(stop.deadline);
        let job = self.shutdown_job(end);
        Box::pin(flatten(job, self.transports()).into_actor(self).map(move |flat, act, ctx| {
            let ack = act.conclude_shutdown(flat, started);
            ctx.stop();
            ack
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_endpoints_that_held_changes_back_wake_the_plan() {
        let held = Held {
            create: 0,
            amend: 3,
            cancel: 0,
        };
        // An endpoint with room and nothing waiting must not be a wake-up: it would fire at once.
        assert_eq!(held_endpoints(held), vec![(path::ORDER_AMEND_BATCH, Priority::Quote)]);
        assert!(held_endpoints(Held::default()).is_empty());
    }
}
