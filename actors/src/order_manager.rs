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
use crate::recorder::{Record, Recorder};
use crate::rest_client::{Answer, RestError};
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
    /// Order-units (one per order created, amended or cancelled) per second and symbol, kept
    /// under the exchange's per-account limits.
    pub order_budget_per_sec: u32,
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
            order_budget_per_sec: 20,
        }
    }
}

/// How often `/status` gets the order table.
const STATUS_EVERY: Duration = Duration::from_millis(100);

/// Pause after a rate-limit answer: Bybit's window is one second.
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(1);

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
    busy: HashSet<String>,
    /// Symbols whose requests were rate-limited, and until when to hold off.
    cooldown: HashMap<String, Instant>,
    /// Orders the exchange refused to amend: the next change replaces them instead.
    replace: HashSet<String>,
    /// When the book update behind each symbol's latest desired quotes arrived.
    ticks: HashMap<String, Option<Instant>>,
    /// Order-units sent per symbol in the last second, for the request budget.
    spent: HashMap<String, std::collections::VecDeque<Instant>>,
    desired: HashMap<String, Vec<Quote>>,
    positions: BTreeMap<String, Decimal>,
    rest: Addr<RestConnector>,
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
            busy: HashSet::new(),
            cooldown: HashMap::new(),
            spent: HashMap::new(),
            ticks: HashMap::new(),
            replace: HashSet::new(),
            desired: HashMap::new(),
            positions: BTreeMap::new(),
            rest,
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
    }

    fn record(&self, e: Event) {
        self.recorder.do_send(Record(e));
    }

    /// Bring one symbol's orders toward its desired quotes, one wave of requests at a time.
    fn act(&mut self, symbol: &str, ctx: &mut Context<Self>) {
        if !self.gate_open || !self.stream_ready || self.dry_run || self.busy.contains(symbol) {
            return;
        }
        let Some(desired) = self.desired.get(symbol) else {
            return;
        };
        if self.cooldown.get(symbol).is_some_and(|until| Instant::now() < *until) {
            return;
        }
        let live: Vec<&TrackedOrder> = self.table.for_symbol(symbol).collect();
        let mut actions = diff(desired, &live, self.settings.requote_tolerance_bps);
        if actions.is_empty() {
            return;
        }
        // Amend in place when the exchange allows it; cancel/replace the orders it refused to amend.
        for a in actions.iter_mut() {
            if let Action::Amend { link_id, .. } = a {
                if self.replace.contains(link_id) {
                    *a = Action::Cancel { link_id: link_id.clone() };
                }
            }
        }
        // The symbol's request budget: cancels first (they reduce risk), then amends, then creates.
        let now = Instant::now();
        let spent = self.spent.entry(symbol.to_string()).or_default();
        while spent.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1)) {
            spent.pop_front();
        }
        let left = (self.settings.order_budget_per_sec as usize).saturating_sub(spent.len());
        if left < actions.len() {
            actions.sort_by_key(|a| match a {
                Action::Cancel { .. } => 0,
                Action::Amend { .. } => 1,
                Action::Create(_) => 2,
            });
            actions.truncate(left);
            let retry = spent
                .front()
                .map(|t| Duration::from_secs(1).saturating_sub(now.duration_since(*t)))
                .unwrap_or(Duration::from_millis(50));
            let symbol = symbol.to_string();
            ctx.run_later(retry, move |act, ctx| act.act(&symbol, ctx));
            if actions.is_empty() {
                return;
            }
        }
        spent.extend(std::iter::repeat_n(now, actions.len()));
        let mut creates = Vec::new();
        let mut amends = Vec::new();
        let mut cancels = Vec::new();
        for a in actions {
            match a {
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
                    creates.push((link_id.clone(), json!({"symbol": symbol, "side": q.side, "orderType": "Limit", "qty": q.qty.to_string(), "price": q.price.to_string(), "timeInForce": "PostOnly", "orderLinkId": link_id})));
                    self.table.insert(TrackedOrder {
                        link_id,
                        order_id: None,
                        symbol: symbol.into(),
                        side: q.side,
                        level: q.level,
                        price: q.price,
                        qty: q.qty,
                        filled: Decimal::ZERO,
                        phase: Phase::Creating,
                    });
                    self.metrics.orders_placed.get_or_create(&labels(&[("symbol", symbol)])).inc();
                }
                Action::Amend { link_id, price, qty } => {
                    self.record(Event::OrderSent {
                        action: "amend".into(),
                        link_id: link_id.clone(),
                        symbol: symbol.into(),
                        side: None,
                        price,
                        qty,
                    });
                    let mut item = json!({"symbol": symbol, "orderLinkId": link_id});
                    if let Some(p) = price {
                        item["price"] = Value::from(p.to_string());
                    }
                    if let Some(q) = qty {
                        item["qty"] = Value::from(q.to_string());
                    }
                    if let Some(o) = self.table.get_mut(&link_id) {
                        o.phase = Phase::Amending;
                    }
                    amends.push((link_id, item));
                    self.metrics.orders_amended.get_or_create(&labels(&[("symbol", symbol)])).inc();
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
                    if let Some(o) = self.table.get_mut(&link_id) {
                        o.phase = Phase::Cancelling;
                    }
                    cancels.push((link_id.clone(), json!({"symbol": symbol, "orderLinkId": link_id})));
                }
            }
        }
        let mut calls = Vec::new();
        for (kind, endpoint, items) in [
            (BatchKind::Create, path::ORDER_CREATE_BATCH, creates),
            (BatchKind::Amend, path::ORDER_AMEND_BATCH, amends),
            (BatchKind::Cancel, path::ORDER_CANCEL_BATCH, cancels),
        ] {
            for chunk in items.chunks(MAX_BATCH_ITEMS) {
                let links: Vec<String> = chunk.iter().map(|(l, _)| l.clone()).collect();
                let body = json!({"category": "linear", "request": chunk.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>()}).to_string();
                let guard = InFlight::new(&self.in_flight);
                let rest = self.rest.clone();
                let sent = Instant::now();
                if kind == BatchKind::Create {
                    self.last_create_sent.set(Some(sent));
                }
                calls.push(async move {
                    let r = rest
                        .send(Call::post(endpoint, body))
                        .await
                        .unwrap_or_else(|e| Err(RestError::Transport(e.to_string())));
                    drop(guard);
                    (kind, links, sent, r)
                });
            }
        }
        if let Some(tick) = self.ticks.get_mut(symbol).and_then(Option::take) {
            self.metrics.tick_to_request.observe(tick.elapsed().as_secs_f64());
        }
        self.busy.insert(symbol.to_string());
        self.publish();
        let symbol = symbol.to_string();
        ctx.spawn(join_all(calls).into_actor(self).map(move |results, act, ctx| {
            let mut limited = false;
            for (kind, links, sent, r) in results {
                if kind == BatchKind::Create && r.as_ref().is_err_and(RestError::outcome_unknown) {
                    extend_doubt(&act.doubt_until, sent + act.create_window);
                }
                limited |= act.on_batch(kind, &links, r);
            }
            act.busy.remove(&symbol);
            act.publish();
            if limited {
                // Honour the exchange's budget: one window's pause, then try again.
                log::warn!(
                    "{symbol}: rate-limited by the exchange (10006); holding requests for {} ms",
                    RATE_LIMIT_PAUSE.as_millis()
                );
                act.cooldown.insert(symbol.clone(), Instant::now() + RATE_LIMIT_PAUSE);
                ctx.run_later(RATE_LIMIT_PAUSE, move |act, ctx| act.act(&symbol, ctx));
            } else {
                act.act(&symbol, ctx);
            }
        }));
    }

    /// Apply a batch answer; returns true if the exchange rate-limited any of it.
    fn on_batch(&mut self, kind: BatchKind, links: &[String], r: Result<Answer, RestError>) -> bool {
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
                        o.phase = Phase::Live;
                    }
                }
                let limited = matches!(
                    e,
                    RestError::Exchange {
                        code: RetCode::RateLimited,
                        ..
                    }
                );
                if !e.outcome_unknown() && !limited {
                    self.record(Event::Error {
                        source: format!("{action}-batch"),
                        message: e.to_string(),
                    });
                }
                return limited;
            }
        };
        let mut limited = false;
        let codes = answer.ext["list"].as_array().cloned().unwrap_or_default();
        let results = answer.result["list"].as_array().cloned().unwrap_or_default();
        for (i, link) in links.iter().enumerate() {
            let code = codes.get(i).and_then(|c| c["code"].as_i64()).unwrap_or(0);
            let msg = codes.get(i).and_then(|c| c["msg"].as_str()).unwrap_or("").to_string();
            let order_id = results.get(i).and_then(|r| r["orderId"].as_str()).unwrap_or("").to_string();
            let symbol = self.table.get(link).map(|o| o.symbol.clone()).unwrap_or_default();
            let rc = RetCode::from_code(code);
            limited |= rc == RetCode::RateLimited;
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
                        o.phase = Phase::Live;
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
                        o.phase = Phase::Live;
                    }
                    if kind == BatchKind::Amend && !rc.is_transient() {
                        // The exchange will not amend this one: replace it (cancel, then create).
                        self.replace.insert(link.clone());
                    }
                    self.reject(action, link, code, msg, &symbol);
                }
            }
        }
        limited
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
                                strays.push(json!({"symbol": symbol, "orderLinkId": info.order_link_id}));
                            }
                        }
                        if !strays.is_empty() {
                            log::warn!("{symbol}: cancelling {} untracked orders of this run", strays.len());
                            let rest = act.rest.clone();
                            let guard = InFlight::new(&act.in_flight);
                            for chunk in strays.chunks(MAX_BATCH_ITEMS) {
                                let body = json!({"category": "linear", "request": chunk}).to_string();
                                let rest = rest.clone();
                                actix_rt::spawn(async move {
                                    let _ = rest.send(Call::post(path::ORDER_CANCEL_BATCH, body)).await;
                                });
                            }
                            drop(guard);
                        }
                    }
                    act.publish();
                    for s in act.symbols.clone() {
                        act.act(&s, ctx);
                    }
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
        // Latency is measured only when the quotes can go out at once (no wave in flight).
        let tick = msg.tick.filter(|_| !self.busy.contains(&msg.symbol));
        self.ticks.insert(msg.symbol.clone(), tick);
        self.act(&msg.symbol, ctx);
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
            for s in self.symbols.clone() {
                self.act(&s, ctx);
            }
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

/// Cancel these orders of one symbol by order-link id (batches of 20); returns how many the
/// exchange accepted.
pub async fn cancel_by_link_ids(rest: &Addr<RestConnector>, symbol: &str, link_ids: &[String]) -> usize {
    let mut n = 0;
    for chunk in link_ids.chunks(MAX_BATCH_ITEMS) {
        let items: Vec<Value> = chunk.iter().map(|l| json!({"symbol": symbol, "orderLinkId": l})).collect();
        let body = json!({"category": "linear", "request": items}).to_string();
        match rest.send(Call::post(path::ORDER_CANCEL_BATCH, body)).await {
            Ok(Ok(a)) => {
                n += a.ext["list"]
                    .as_array()
                    .map(|l| l.iter().filter(|c| c["code"].as_i64() == Some(0)).count())
                    .unwrap_or(0)
            }
            Ok(Err(e)) => log::warn!("cancel-batch {symbol}: {e}"),
            Err(e) => log::warn!("cancel-batch {symbol}: {e}"),
        }
    }
    n
}

/// Cancel the bot's orders once, the configured way; returns how many of the bot's were cancelled.
async fn cancel_once(rest: &Addr<RestConnector>, symbols: &[String], ids: &LinkIds, scope: CancelScope, budget: Duration) -> usize {
    let per_symbol = symbols.iter().map(|s| async move {
        let work = async {
            match scope {
                CancelScope::Symbol => {
                    let body = json!({"category": "linear", "symbol": s}).to_string();
                    match rest.send(Call::post(path::ORDER_CANCEL_ALL, body)).await {
                        Ok(Ok(a)) => a.result["list"]
                            .as_array()
                            .map(|l| l.iter().filter(|o| ids.is_ours(o["orderLinkId"].as_str().unwrap_or(""))).count())
                            .unwrap_or(0),
                        Ok(Err(e)) => {
                            log::warn!("cancel-all {s}: {e}");
                            0
                        }
                        Err(e) => {
                            log::warn!("cancel-all {s}: {e}");
                            0
                        }
                    }
                }
                CancelScope::Own => {
                    let Ok(open) = list_open_orders(rest, s).await else { return 0 };
                    let ours: Vec<String> = open
                        .into_iter()
                        .filter(|o| ids.is_ours(&o.order_link_id))
                        .map(|o| o.order_link_id)
                        .collect();
                    cancel_by_link_ids(rest, s, &ours).await
                }
            }
        };
        tokio::time::timeout(budget, work).await.unwrap_or(0)
    });
    join_all(per_symbol).await.into_iter().sum()
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
                Some(cancel_once(&rest, &symbols, &ids, scope, left / 2).await)
            };
            let drain = async {
                while in_flight.get() > 0 && Instant::now() < end {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            };
            let (first, ()) = futures_util::future::join(first_cancel, drain).await;
            if let Some(n) = first {
                outcome.attempts = 1;
                outcome.cancelled = n;
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
                    outcome.cancelled += cancel_once(&rest, &symbols, &ids, scope, left / 2).await;
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
                        outcome.may_remain = ours;
                    }
                    None => outcome.verified_flat = false,
                }
                need_cancel = true;
                // Cancel-all is asynchronous on the exchange: give it a moment before asking again.
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
