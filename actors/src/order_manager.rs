//! OrderManager: turns desired quotes into batch creates / amends / cancels, tracks every order
//! from REST answers and the private stream, and on Stop makes the account flat: close the gate,
//! drain requests in flight, cancel everything per symbol in parallel, then verify on the
//! exchange that none of the bot's orders remains, repeating within the step's budget.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::join_all;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use bybit_v5::rest::{path, Execution, OrderInfo, MAX_BATCH_ITEMS};
use bybit_v5::RetCode;

use crate::events::Event;
use crate::in_flight::InFlight;
use crate::link_id::LinkIds;
use crate::metrics::{labels, Metrics};
use crate::order_diff::{diff, Action};
use crate::orders::{Change, OrderTable, Phase, TrackedOrder};
use crate::quoting::Quote;
use crate::rate_governor::{Governor, Priority};
use crate::recorder::{Record, Recorder};
use crate::requote_plan::{select, Held, Room, Wanted};
use crate::rest_client::{count_rejection, Answer, RestError};
use crate::rest_connector::{Call, RestConnector};
use crate::status::StatusPatch;
use crate::stop::{OrdersOutcome, StepStatus, Stop, StopAck};
use crate::web_server::WebServer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CancelScope {
    /// cancel-all per symbol: fastest, and catches orders the bot lost track of — but it also
    /// removes manual orders and other bots' orders on a shared account.
    Symbol,
    /// Batch-cancel only orders carrying the bot's order-link prefix.
    Own,
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
        }
    }
}

/// How long orders whose cancel the exchange accepted may stay listed before they are cancelled
/// again (Bybit's cancel-all is asynchronous).
const CANCEL_SETTLE: Duration = Duration::from_secs(1);

/// How often `/status` gets the order table.
const STATUS_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct DesiredQuotes {
    pub symbol: String,
    pub quotes: Vec<Quote>,
    /// When the book update behind these quotes was received (for tick-to-request latency).
    pub tick: Option<Instant>,
}

/// Order states from the private stream.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct OrderUpdates(pub Vec<OrderInfo>);

#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Executions(pub Vec<Execution>);

#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Positions(pub Vec<(String, Decimal)>);

/// The private stream is authenticated and subscribed: fills and cancels (and, with DCP, the
/// exchange's dead-man switch) cover what we place from now on. No quote goes out before this.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct PrivateStreamReady;

/// Check every open order against the exchange now (e.g. after the private stream reconnected,
/// when updates may have been missed).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct ReconcileNow;

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
    rest: Addr<RestConnector>,
    /// The account's request budget, shared with every sender.
    governor: Governor,
    recorder: Addr<Recorder>,
    web: Addr<WebServer>,
    metrics: Arc<Metrics>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BatchKind {
    Create,
    Amend,
    Cancel,
}

fn extend_doubt(doubt: &Cell<Option<Instant>>, until: Instant) {
    doubt.set(Some(doubt.get().map_or(until, |d| d.max(until))));
}

/// Every open order of a symbol, following the cursor.
pub async fn list_open_orders(rest: &Addr<RestConnector>, symbol: &str) -> Result<Vec<OrderInfo>, RestError> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    for _ in 0..100 {
        let q = if cursor.is_empty() {
            format!("category=linear&symbol={symbol}&limit=50")
        } else {
            format!("category=linear&symbol={symbol}&limit=50&cursor={cursor}")
        };
        let a = rest
            .send(Call::get(path::ORDER_REALTIME, q))
            .await
            .map_err(|e| RestError::Transport(e.to_string()))??;
        let list: Vec<OrderInfo> = serde_json::from_value(a.result["list"].clone()).map_err(|e| RestError::Decode(e.to_string()))?;
        out.extend(list);
        cursor = a.result["nextPageCursor"].as_str().unwrap_or("").to_string();
        if cursor.is_empty() {
            return Ok(out);
        }
    }
    Err(RestError::Decode("open-order pagination did not end".into()))
}

impl OrderManager {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: OrderManagerSettings,
        symbols: Vec<String>,
        dry_run: bool,
        run_id: &str,
        create_window: Duration,
        rest: Addr<RestConnector>,
        governor: Governor,
        recorder: Addr<Recorder>,
        web: Addr<WebServer>,
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

    fn record(&self, e: Event) {
        self.recorder.do_send(Record(e));
    }

    /// Bring every symbol's orders toward its desired quotes, within the account's budget: what
    /// fits goes now, most urgent first; what does not is planned again when the budget has room
    /// (from the latest desired quotes then, never from a queue).
    fn act(&mut self, ctx: &mut Context<Self>) {
        if !self.gate_open || !self.stream_ready || self.dry_run {
            return;
        }
        let wanted = self.wanted_changes();
        if !wanted.is_empty() {
            let room = Room {
                create: self.governor.available(path::ORDER_CREATE_BATCH, Priority::Quote),
                amend: self.governor.available(path::ORDER_AMEND_BATCH, Priority::Quote),
                cancel: self.governor.available(path::ORDER_CANCEL_BATCH, Priority::Cancel),
            };
            let (chosen, held) = select(wanted, room);
            self.count_held(held);
            let mut held_any = held.any();
            held_any |= self.send_changes(chosen, ctx);
            if held_any {
                self.replan_when_room(ctx);
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
    fn wanted_changes(&self) -> Vec<Wanted> {
        let mut out = Vec::new();
        for symbol in &self.symbols {
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
    fn replan_when_room(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let at = [
            (path::ORDER_CREATE_BATCH, Priority::Quote),
            (path::ORDER_AMEND_BATCH, Priority::Quote),
            (path::ORDER_CANCEL_BATCH, Priority::Cancel),
        ]
        .into_iter()
        .map(|(e, p)| self.governor.with(|g| g.room_at(e, 1, p, now)))
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
    fn send_changes(&mut self, chosen: Vec<Wanted>, ctx: &mut Context<Self>) -> bool {
        let mut groups: BTreeMap<(String, u8), Vec<Action>> = BTreeMap::new();
        for w in chosen {
            let kind = match w.action {
                Action::Cancel { .. } => 0,
                Action::Amend { .. } => 1,
                Action::Create(_) => 2,
            };
            groups.entry((w.symbol, kind)).or_default().push(w.action);
        }
        let mut held = false;
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
                    held = true;
                    continue;
                }
                let items: Vec<(String, Value)> = chunk.iter().map(|a| self.materialize(&symbol, a)).collect();
                self.send_batch(kind, endpoint, items, now, ctx);
            }
            if let Some(tick) = self.ticks.get_mut(&symbol).and_then(Option::take) {
                self.metrics.tick_to_request.observe(tick.elapsed().as_secs_f64());
            }
        }
        self.publish();
        held
    }

    /// Record a change as sent, update the table, and give its batch item.
    fn materialize(&mut self, symbol: &str, action: &Action) -> (String, Value) {
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
                self.metrics.orders_placed.get_or_create(&labels(&[("symbol", symbol)])).inc();
                let item = json!({"symbol": symbol, "side": q.side, "orderType": "Limit", "qty": q.qty.to_string(),
                                  "price": q.price.to_string(), "timeInForce": "PostOnly", "orderLinkId": link_id});
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
                let mut item = json!({"symbol": symbol, "orderLinkId": link_id});
                if let Some(p) = price {
                    item["price"] = Value::from(p.to_string());
                }
                if let Some(q) = qty {
                    item["qty"] = Value::from(q.to_string());
                }
                if let Some(o) = self.table.get_mut(link_id) {
                    o.amend_sent(*price, *qty);
                }
                self.metrics.orders_amended.get_or_create(&labels(&[("symbol", symbol)])).inc();
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
                (link_id.clone(), json!({"symbol": symbol, "orderLinkId": link_id}))
            }
        }
    }

    /// One batch request, its budget already spent; its answer settles its orders and starts the
    /// next plan.
    fn send_batch(
        &mut self,
        kind: BatchKind,
        endpoint: &'static str,
        items: Vec<(String, Value)>,
        admitted_at: Instant,
        ctx: &mut Context<Self>,
    ) {
        let links: Vec<String> = items.iter().map(|(l, _)| l.clone()).collect();
        let body = json!({"category": "linear", "request": items.into_iter().map(|(_, v)| v).collect::<Vec<_>>()}).to_string();
        let guard = InFlight::new(&self.in_flight);
        let rest = self.rest.clone();
        let sent = Instant::now();
        if kind == BatchKind::Create {
            self.last_create_sent.set(Some(sent));
        }
        let call = Call::batch(endpoint, body, links.len()).admitted(admitted_at);
        let fut = async move {
            let r = rest.send(call).await.unwrap_or_else(|e| Err(RestError::Transport(e.to_string())));
            drop(guard);
            r
        };
        ctx.spawn(fut.into_actor(self).map(move |r, act, ctx| {
            if kind == BatchKind::Create && r.as_ref().is_err_and(RestError::outcome_unknown) {
                extend_doubt(&act.doubt_until, sent + act.create_window);
            }
            act.on_batch(kind, endpoint, &links, r);
            act.publish();
            act.act(ctx);
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
            Err(e) => {
                log::warn!("{action} batch of {} failed: {e}", links.len());
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
                return;
            }
        };
        let codes = answer.ext["list"].as_array().cloned().unwrap_or_default();
        let results = answer.result["list"].as_array().cloned().unwrap_or_default();
        for (i, link) in links.iter().enumerate() {
            let code = codes.get(i).and_then(|c| c["code"].as_i64()).unwrap_or(0);
            let msg = codes.get(i).and_then(|c| c["msg"].as_str()).unwrap_or("").to_string();
            let order_id = results.get(i).and_then(|r| r["orderId"].as_str()).unwrap_or("").to_string();
            let symbol = self.table.get(link).map(|o| o.symbol.clone()).unwrap_or_default();
            let rc = RetCode::from_code(code);
            if rc != RetCode::Ok {
                count_rejection(&self.governor, Some(&self.metrics), endpoint, code);
            }
            if rc == RetCode::RateLimited {
                log::warn!("{action} {link}: refused with 10006 although the rate governor admitted it");
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
    }

    fn reject(&self, action: &str, link: &str, code: i64, msg: String, symbol: &str) {
        log::debug!("{action} {link} refused: {code} {msg}");
        self.metrics
            .orders_rejected
            .get_or_create(&labels(&[("symbol", symbol), ("code", &code.to_string())]))
            .inc();
        self.record(Event::OrderRejected {
            action: action.into(),
            link_id: link.into(),
            code,
            message: msg,
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
                            log::warn!("{symbol}: cancelling {} untracked orders of this run", strays.len());
                            let rest = act.rest.clone();
                            let guard = InFlight::new(&act.in_flight);
                            let batch = cancel_batch_size(&act.governor);
                            let symbol = symbol.clone();
                            actix_rt::spawn(async move {
                                cancel_by_link_ids(&rest, &symbol, &strays, batch).await;
                                drop(guard);
                            });
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

impl Handler<DesiredQuotes> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: DesiredQuotes, ctx: &mut Self::Context) {
        if !self.gate_open {
            return;
        }
        self.desired.insert(msg.symbol.clone(), msg.quotes);
        self.ticks.insert(msg.symbol, msg.tick);
        self.act(ctx);
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

/// The largest cancel-batch the budget can ever take at once (at most Bybit's 20 items).
pub fn cancel_batch_size(governor: &Governor) -> usize {
    (governor.max_units(path::ORDER_CANCEL_BATCH) as usize).clamp(1, MAX_BATCH_ITEMS)
}

/// Cancel these orders of one symbol by order-link id, `batch` per request; returns the ones
/// the exchange accepted.
pub async fn cancel_by_link_ids(rest: &Addr<RestConnector>, symbol: &str, link_ids: &[String], batch: usize) -> Vec<String> {
    let mut accepted = Vec::new();
    for chunk in link_ids.chunks(batch.max(1)) {
        let items: Vec<Value> = chunk.iter().map(|l| json!({"symbol": symbol, "orderLinkId": l})).collect();
        let body = json!({"category": "linear", "request": items}).to_string();
        match rest.send(Call::batch(path::ORDER_CANCEL_BATCH, body, chunk.len())).await {
            Ok(Ok(a)) => {
                let codes = a.ext["list"].as_array().cloned().unwrap_or_default();
                accepted.extend(
                    chunk
                        .iter()
                        .zip(codes)
                        .filter(|(_, c)| c["code"].as_i64() == Some(0))
                        .map(|(l, _)| l.clone()),
                );
            }
            Ok(Err(e)) => log::warn!("cancel-batch {symbol}: {e}"),
            Err(e) => log::warn!("cancel-batch {symbol}: {e}"),
        }
    }
    accepted
}

/// Cancel the bot's orders once, the configured way; returns the bot's orders whose cancel the
/// exchange accepted.
async fn cancel_once(
    rest: &Addr<RestConnector>,
    symbols: &[String],
    ids: &LinkIds,
    scope: CancelScope,
    batch: usize,
    budget: Duration,
) -> Vec<String> {
    let per_symbol = symbols.iter().map(|s| async move {
        let work = async {
            match scope {
                CancelScope::Symbol => {
                    let body = json!({"category": "linear", "symbol": s}).to_string();
                    match rest.send(Call::post(path::ORDER_CANCEL_ALL, body)).await {
                        Ok(Ok(a)) => a.result["list"]
                            .as_array()
                            .map(|l| {
                                l.iter()
                                    .filter_map(|o| o["orderLinkId"].as_str())
                                    .filter(|l| ids.is_ours(l))
                                    .map(String::from)
                                    .collect()
                            })
                            .unwrap_or_default(),
                        Ok(Err(e)) => {
                            log::warn!("cancel-all {s}: {e}");
                            Vec::new()
                        }
                        Err(e) => {
                            log::warn!("cancel-all {s}: {e}");
                            Vec::new()
                        }
                    }
                }
                CancelScope::Own => {
                    let Ok(open) = list_open_orders(rest, s).await else {
                        return Vec::new();
                    };
                    let ours: Vec<String> = open
                        .into_iter()
                        .filter(|o| ids.is_ours(&o.order_link_id))
                        .map(|o| o.order_link_id)
                        .collect();
                    cancel_by_link_ids(rest, s, &ours, batch).await
                }
            }
        };
        tokio::time::timeout(budget, work).await.unwrap_or_default()
    });
    join_all(per_symbol).await.into_iter().flatten().collect()
}

/// The bot's open orders on the exchange, per the open-orders query; None if any query failed.
async fn verify(rest: &Addr<RestConnector>, symbols: &[String], ids: &LinkIds, budget: Duration) -> Option<Vec<String>> {
    let lists = join_all(symbols.iter().map(|s| tokio::time::timeout(budget, list_open_orders(rest, s)))).await;
    let mut ours = Vec::new();
    for l in lists {
        match l {
            Ok(Ok(list)) => ours.extend(list.into_iter().filter(|o| ids.is_ours(&o.order_link_id)).map(|o| o.order_link_id)),
            Ok(Err(e)) => {
                log::warn!("verification query failed: {e}");
                return None;
            }
            Err(_) => {
                log::warn!("verification query timed out");
                return None;
            }
        }
    }
    Some(ours)
}

impl Handler<Stop> for OrderManager {
    type Result = ResponseActFuture<Self, StopAck>;

    fn handle(&mut self, stop: Stop, _: &mut Self::Context) -> Self::Result {
        self.gate_open = false;
        let started = Instant::now();
        // Answer a little before the supervisor's own timeout, with what we know.
        let end = stop.deadline.checked_sub(Duration::from_millis(100)).unwrap_or(stop.deadline);
        let in_flight = self.in_flight.clone();
        let rest = self.rest.clone();
        let symbols = self.symbols.clone();
        let ids = self.ids.clone();
        let scope = self.settings.cancel_scope;
        let batch = cancel_batch_size(&self.governor);
        let dry_run = self.dry_run;
        let known: Vec<String> = self.table.all().map(|o| o.link_id.clone()).collect();
        let doubt_until = self.doubt_until.clone();
        let last_create_sent = self.last_create_sent.get();
        let create_window = self.create_window;
        let fut = async move {
            let mut outcome = OrdersOutcome::default();
            // The first cancel goes out at once, while requests in flight settle: flat after one
            // round trip. Whatever those requests create is found by the verification below,
            // which only starts once they have settled, and cancelled in the next round.
            let first_cancel = async {
                if dry_run {
                    return None;
                }
                let left = end.saturating_duration_since(Instant::now());
                Some(cancel_once(&rest, &symbols, &ids, scope, batch, left / 2).await)
            };
            let drain = async {
                while in_flight.get() > 0 && Instant::now() < end {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            };
            let (first, ()) = futures_util::future::join(first_cancel, drain).await;
            // Orders whose cancel the exchange accepted, and when: they may stay listed a moment.
            let mut accepted: HashSet<String> = HashSet::new();
            let mut last_cancel = Instant::now();
            if let Some(done) = first {
                outcome.attempts = 1;
                outcome.cancelled = done.len();
                accepted.extend(done);
            }
            let drained = in_flight.get() == 0;
            if !drained {
                // A create still in flight may land any time until the exchange would refuse it as stale.
                if let Some(sent) = last_create_sent {
                    extend_doubt(&doubt_until, sent + create_window);
                }
            }
            if dry_run {
                outcome.skipped_dry_run = true;
                outcome.remaining = Some(0);
                return (outcome, drained, None);
            }
            let mut need_cancel = false;
            loop {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                if need_cancel {
                    outcome.attempts += 1;
                    // Half the time left at most, so a hanging cancel still leaves time to learn what remains.
                    let done = cancel_once(&rest, &symbols, &ids, scope, batch, left / 2).await;
                    outcome.cancelled += done.iter().filter(|l| !accepted.contains(*l)).count();
                    accepted.extend(done);
                    last_cancel = Instant::now();
                }
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match verify(&rest, &symbols, &ids, left).await {
                    Some(ours) if ours.is_empty() => {
                        outcome.remaining = Some(0);
                        outcome.may_remain.clear();
                        outcome.verified_flat = true;
                        let settled = doubt_until.get().is_none_or(|d| Instant::now() >= d);
                        if settled {
                            break;
                        }
                        // Flat now, but a create in doubt could still land: keep watching.
                        need_cancel = false;
                        tokio::time::sleep(Duration::from_millis(100).min(end.saturating_duration_since(Instant::now()))).await;
                        continue;
                    }
                    Some(ours) => {
                        outcome.verified_flat = false;
                        outcome.remaining = Some(ours.len());
                        // Cancel-all is asynchronous: orders whose cancel was accepted stay listed a
                        // moment. Asking again is not cancelling again — that would re-send what is
                        // on its way — unless they linger past CANCEL_SETTLE or others appeared.
                        let settling = ours.iter().all(|l| accepted.contains(l)) && last_cancel.elapsed() < CANCEL_SETTLE;
                        outcome.may_remain = ours;
                        if settling {
                            need_cancel = false;
                            tokio::time::sleep(Duration::from_millis(5).min(end.saturating_duration_since(Instant::now()))).await;
                            continue;
                        }
                    }
                    None => outcome.verified_flat = false,
                }
                need_cancel = true;
                tokio::time::sleep(Duration::from_millis(20).min(end.saturating_duration_since(Instant::now()))).await;
            }
            let unsettled = doubt_until.get().filter(|d| Instant::now() < *d);
            if !outcome.verified_flat && outcome.may_remain.is_empty() {
                outcome.may_remain = known;
            }
            if unsettled.is_some() {
                // Verified flat, but not for long enough to rule out a late create.
                outcome.verified_flat = false;
            }
            (outcome, drained, unsettled)
        };
        Box::pin(fut.into_actor(self).map(move |(outcome, drained, unsettled), act, ctx| {
            let elapsed_ms = started.elapsed().as_millis() as u64;
            act.metrics.shutdown_cancel_orders.inc_by(outcome.cancelled as u64);
            act.record(Event::ShutdownCancelOrders {
                cancelled: outcome.cancelled,
                remaining: outcome.remaining,
                verified_flat: outcome.verified_flat,
                attempts: outcome.attempts,
                elapsed_ms,
                skipped_dry_run: outcome.skipped_dry_run,
            });
            act.record(Event::FinalState {
                open_orders: act.table.all().cloned().collect(),
                positions: act.positions.iter().map(|(s, p)| (s.clone(), *p)).collect(),
            });
            let drain_note = if drained { "" } else { "; some requests were still in flight" };
            let (status, detail) = if outcome.skipped_dry_run {
                (StepStatus::Ok, "dry-run: nothing was sent, so nothing to cancel".to_string())
            } else if let Some(until) = unsettled {
                (
                    StepStatus::TimedOut,
                    format!(
                        "cancelled {} orders and saw 0 open, but a create in doubt could still land for {} ms more: orders may remain",
                        outcome.cancelled,
                        until.saturating_duration_since(Instant::now()).as_millis()
                    ),
                )
            } else if outcome.verified_flat {
                (
                    StepStatus::Ok,
                    format!(
                        "cancelled {} orders, verified 0 open on the exchange ({} attempt(s)){drain_note}",
                        outcome.cancelled, outcome.attempts
                    ),
                )
            } else {
                let remaining = outcome
                    .remaining
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "an unknown number of".into());
                (
                    StepStatus::TimedOut,
                    format!(
                        "cancelled {} orders; {remaining} orders may remain (could not verify flat in {} attempt(s)){drain_note}",
                        outcome.cancelled, outcome.attempts
                    ),
                )
            };
            ctx.stop();
            StopAck {
                status,
                detail,
                orders: Some(outcome),
            }
        }))
    }
}
