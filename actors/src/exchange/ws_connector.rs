//! WsConnector: the public order book stream (one local book per symbol, a gap in update ids
//! forces a resubscribe) and the private order / execution / position stream (authenticated).
//! Each connection is a task that reconnects with capped exponential backoff and full jitter
//! until Stop, which sends close frames and ends them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use awc::ws;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use bybit_v5::sign;
use bybit_v5::ws::{decode, Frame, WsRequest};

use crate::exchange::secret::Secret;
use crate::market::book::{BookError, LocalBook, Top};
use crate::market::net_position::net_positions;
use crate::messages::events::Event;
use crate::messages::market::BookUpdate;
use crate::messages::private_stream::{ClosePrivateStream, Executions, OrderUpdates, Positions, PrivateStreamReady, ReconcileNow};
use crate::messages::record::Record;
use crate::messages::shutdown::{RequestShutdown, ShutdownSource};
use crate::messages::status::StatusPatch;
use crate::messages::stop::{StepStatus, Stop, StopAck};
use crate::telemetry::metrics::{labels, Metrics};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WsSettings {
    /// Order book depth subscribed (1, 50, 200 or 1000).
    pub depth: u32,
    pub ping_interval_ms: u64,
    /// A stream with nothing heard (no data, no pong) for this long is dead: closed, reconnected
    /// and reconciled. 0: twice the ping interval.
    pub stale_after_ms: u64,
    pub connect_timeout_ms: u64,
    /// Longest wait between reconnect attempts.
    pub reconnect_max_ms: u64,
}

impl Default for WsSettings {
    fn default() -> Self {
        Self {
            depth: 50,
            ping_interval_ms: 20_000,
            stale_after_ms: 0,
            connect_timeout_ms: 10_000,
            reconnect_max_ms: 5_000,
        }
    }
}

#[derive(Clone)]
pub struct WsEndpoints {
    pub public_url: String,
    pub private_url: String,
    /// None: no private stream (dry-run).
    pub credentials: Option<(String, Secret)>,
    /// Subscribe `dcp.future`, which keeps the exchange's disconnect-cancel-all armed.
    pub dcp: bool,
    /// The DCP window: while armed the private stream pings at least every third of it, so the
    /// exchange never takes a live connection for a dead one.
    pub dcp_window: Duration,
}

impl WsSettings {
    fn stale_after(&self, ping_every: Duration) -> Duration {
        match self.stale_after_ms {
            0 => ping_every * 2,
            ms => Duration::from_millis(ms),
        }
    }
}

/// Declares a stream dead when nothing has been heard on it for the bound.
struct Liveness {
    stream: &'static str,
    last_heard: Instant,
    bound: Duration,
    check: tokio::time::Interval,
}

impl Liveness {
    fn new(stream: &'static str, bound: Duration) -> Self {
        let mut check = tokio::time::interval((bound / 4).max(Duration::from_millis(25)));
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            stream,
            last_heard: Instant::now(),
            bound,
            check,
        }
    }

    fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    /// Ticks every quarter of the bound; `Some` once the stream is dead.
    async fn dead(&mut self, metrics: &Metrics) -> Option<Ended> {
        self.check.tick().await;
        let silent = self.last_heard.elapsed();
        if silent <= self.bound {
            return None;
        }
        metrics.ws_stale.get_or_create(&labels(&[("stream", self.stream)])).inc();
        log::warn!(stream = self.stream; "{} stream: nothing heard for {} ms (no data, no pong): declared dead", self.stream, silent.as_millis());
        Some(Ended::Lost(format!("stale: nothing heard for {} ms", silent.as_millis())))
    }
}

/// Where the streams' data goes, by message: the connector knows no other actor.
#[derive(Clone)]
pub struct WsTargets {
    pub book: Recipient<BookUpdate>,
    pub account: AccountInbox,
    pub orders: OrderInbox,
    pub status: Recipient<StatusPatch>,
    pub recorder: Recipient<Record>,
    pub shutdown: Recipient<RequestShutdown>,
    pub metrics: Arc<Metrics>,
}

/// What the private stream tells the OrderManager.
#[derive(Clone)]
pub struct OrderInbox {
    pub updates: Recipient<OrderUpdates>,
    pub ready: Recipient<PrivateStreamReady>,
    pub reconcile: Recipient<ReconcileNow>,
}

/// What the private stream tells the AccountWatch: executions, positions, and that it had a gap.
#[derive(Clone)]
pub struct AccountInbox {
    pub executions: Recipient<Executions>,
    pub positions: Recipient<Positions>,
    pub gap: Recipient<ReconcileNow>,
}

pub struct WsConnector {
    settings: WsSettings,
    endpoints: WsEndpoints,
    symbols: Vec<String>,
    targets: WsTargets,
    stop_tx: watch::Sender<bool>,
    /// Ends the private stream alone.
    private_stop_tx: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl WsConnector {
    pub fn new(settings: WsSettings, endpoints: WsEndpoints, symbols: Vec<String>, targets: WsTargets) -> Self {
        Self {
            settings,
            endpoints,
            symbols,
            targets,
            stop_tx: watch::channel(false).0,
            private_stop_tx: watch::channel(false).0,
            tasks: Vec::new(),
        }
    }
}

impl Actor for WsConnector {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Self::Context) {
        let public = PublicStream {
            settings: self.settings.clone(),
            symbols: self.symbols.clone(),
            targets: self.targets.clone(),
        };
        self.tasks.push(actix_rt::spawn(run_with_reconnect(
            "public",
            self.endpoints.public_url.clone(),
            self.settings.clone(),
            self.targets.clone(),
            self.stop_tx.subscribe(),
            move |conn, stop| {
                let p = public.clone();
                Box::pin(async move { p.run(conn, stop).await })
            },
        )));
        if let Some((key, secret)) = self.endpoints.credentials.clone() {
            let private = PrivateStream {
                authenticated_once: Default::default(),
                dcp: self.endpoints.dcp,
                dcp_window: self.endpoints.dcp_window,
                settings: self.settings.clone(),
                key,
                secret,
                targets: self.targets.clone(),
            };
            let (url, settings, targets, stop) = (
                self.endpoints.private_url.clone(),
                self.settings.clone(),
                self.targets.clone(),
                self.private_stop_tx.subscribe(),
            );
            // A thread of its own: order updates (kilobytes of JSON after each batch) decoded on
            // the market thread sat between a book update and its quotes (tick→quote p99 60 µs →
            // 10 µs for that hop). The thread ends with its stream.
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            Arbiter::new().spawn_fn(move || {
                actix_rt::spawn(async move {
                    run_with_reconnect("private", url, settings, targets, stop, move |conn, stop| {
                        let p = private.clone();
                        Box::pin(async move { p.run(conn, stop).await })
                    })
                    .await;
                    let _ = done_tx.send(());
                    Arbiter::current().stop();
                });
            });
            self.tasks.push(actix_rt::spawn(async move {
                let _ = done_rx.await;
            }));
        }
    }
}

crate::answers_ping!(WsConnector);

impl Handler<Stop> for WsConnector {
    type Result = ResponseActFuture<Self, StopAck>;

    fn handle(&mut self, stop: Stop, _: &mut Self::Context) -> Self::Result {
        let _ = self.stop_tx.send(true);
        let _ = self.private_stop_tx.send(true);
        let tasks = std::mem::take(&mut self.tasks);
        let n = tasks.len();
        Box::pin(
            async move {
                let budget = stop.deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(budget, futures_util::future::join_all(tasks)).await {
                    Ok(_) => StopAck::ok(format!("{n} streams closed; no reconnects")),
                    Err(_) => StopAck::with_status(StepStatus::TimedOut, "streams did not close in time"),
                }
            }
            .into_actor(self)
            .map(|ack, _, ctx| {
                ctx.stop();
                ack
            }),
        )
    }
}

impl Handler<ClosePrivateStream> for WsConnector {
    type Result = ();

    fn handle(&mut self, _: ClosePrivateStream, _: &mut Self::Context) {
        if !*self.private_stop_tx.borrow() {
            log::warn!("closing the private stream for good (no reconnect)");
            let _ = self.private_stop_tx.send(true);
        }
    }
}

type Conn = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

/// Mailbox hops from a book update to its order request on the socket: Strategy, OrderManager,
/// connector.
const HOPS_TO_THE_WIRE: usize = 3;

/// How a connection ended.
enum Ended {
    Stopped,
    Lost(String),
    /// Do not reconnect (e.g. credentials refused).
    Fatal,
}

/// Connect, run, and reconnect with capped exponential backoff and full jitter until stopped.
async fn run_with_reconnect<F>(
    name: &'static str,
    url: String,
    settings: WsSettings,
    targets: WsTargets,
    mut stop: watch::Receiver<bool>,
    mut session: F,
) where
    F: FnMut(Conn, watch::Receiver<bool>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Ended>>>,
{
    let set_state = |state: &str| {
        targets.status.do_send(StatusPatch::Connection {
            stream: name.into(),
            state: state.into(),
        });
        targets.recorder.do_send(Record(Event::Connection {
            stream: name.into(),
            state: state.into(),
        }));
    };
    let mut failures: u32 = 0;
    let mut connected_once = false;
    loop {
        if *stop.borrow() {
            break;
        }
        set_state("connecting");
        let connect = crate::exchange::http_client::client(Duration::from_millis(settings.connect_timeout_ms))
            .ws(url.as_str())
            .max_frame_size(bybit_v5::ws::MAX_FRAME_BYTES)
            .connect();
        let result = tokio::select! {
            r = connect => r.map(|(_, c)| c).map_err(|e| e.to_string()),
            _ = stop.changed() => break,
        };
        match result {
            Ok(conn) => {
                if connected_once {
                    targets.metrics.ws_reconnects.get_or_create(&labels(&[("stream", name)])).inc();
                }
                connected_once = true;
                failures = 0;
                set_state("connected");
                match session(conn, stop.clone()).await {
                    Ended::Stopped => break,
                    Ended::Fatal => {
                        set_state("refused");
                        return;
                    }
                    Ended::Lost(why) => log::warn!(stream = name; "{name} stream lost: {why}"),
                }
            }
            Err(e) => log::warn!(stream = name; "{name} stream: cannot connect to {url}: {e}"),
        }
        set_state("disconnected");
        failures = failures.saturating_add(1);
        let cap = settings.reconnect_max_ms.min(100u64.saturating_mul(1 << failures.min(16)));
        let wait = Duration::from_millis(rand::thread_rng().gen_range(0..=cap));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
    }
    set_state("closed");
}

async fn send(conn: &mut Conn, req: &WsRequest) -> Result<(), String> {
    let text = serde_json::to_string(req).map_err(|e| e.to_string())?;
    conn.send(ws::Message::Text(text.into())).await.map_err(|e| e.to_string())
}

async fn close(conn: &mut Conn) {
    let _ = tokio::time::timeout(
        Duration::from_millis(500),
        conn.send(ws::Message::Close(Some(ws::CloseCode::Normal.into()))),
    )
    .await;
}

/// Count the items of a frame that did not decode (the others were kept); log the first ones.
fn skipped_items(metrics: &Metrics, topic: &str, skipped: &[bybit_v5::lenient::SkippedItem]) {
    for s in skipped {
        metrics.ws_skipped_items.inc();
        if metrics.ws_skipped_items.get() <= 5 {
            log::warn!(
                "private stream: skipped an undecodable {topic} item ({}), kept the rest of the frame: {}",
                s.error,
                s.sample
            );
        }
    }
}

/// Count a malformed frame; log the first ones with a sample.
fn malformed(metrics: &Metrics, stream: &str, err: &dyn std::fmt::Display, text: &str) {
    metrics.ws_malformed_frames.inc();
    if metrics.ws_malformed_frames.get() <= 5 {
        let sample: String = text.chars().take(200).collect();
        log::warn!("{stream} stream: skipped a malformed frame ({err}): {sample}");
    }
}

#[derive(Clone)]
struct PublicStream {
    settings: WsSettings,
    symbols: Vec<String>,
    targets: WsTargets,
}

impl PublicStream {
    fn topic(&self, symbol: &str) -> String {
        format!("orderbook.{}.{symbol}", self.settings.depth)
    }

    async fn run(&self, mut conn: Conn, mut stop: watch::Receiver<bool>) -> Ended {
        let topics: Vec<String> = self.symbols.iter().map(|s| self.topic(s)).collect();
        if let Err(e) = send(&mut conn, &WsRequest::subscribe("books", &topics)).await {
            return Ended::Lost(e);
        }
        let mut books: HashMap<String, LocalBook> = HashMap::new();
        let mut tops: HashMap<String, Top> = HashMap::new();
        let ping_every = Duration::from_millis(self.settings.ping_interval_ms.max(100));
        let mut ping = tokio::time::interval(ping_every);
        ping.tick().await;
        let mut alive = Liveness::new("public", self.settings.stale_after(ping_every));
        let ended = loop {
            tokio::select! {
                frame = conn.next() => {
                    alive.heard();
                    let received_at = Instant::now();
                    let text = match frame {
                        None => break Ended::Lost("closed by peer".into()),
                        Some(Err(e)) => break Ended::Lost(e.to_string()),
                        Some(Ok(ws::Frame::Text(t))) => t,
                        Some(Ok(ws::Frame::Ping(p))) => { let _ = conn.send(ws::Message::Pong(p)).await; continue; }
                        Some(Ok(ws::Frame::Close(_))) => break Ended::Lost("close frame".into()),
                        Some(Ok(_)) => continue,
                    };
                    let Ok(text) = std::str::from_utf8(&text) else { malformed(&self.targets.metrics, "public", &"not UTF-8", ""); continue };
                    match decode(text) {
                        Ok(Frame::Book(m)) => {
                            let lag_ms = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)).saturating_sub(m.ts);
                            self.targets.metrics.book_update_lag.observe(lag_ms as f64 / 1000.0);
                            let symbol = m.data.s.clone();
                            let book = books.entry(symbol.clone()).or_default();
                            match book.apply(&m) {
                                Ok(()) => {
                                    let top = book.top();
                                    if top != tops.get(&symbol).copied() {
                                        match top {
                                            Some(t) => { tops.insert(symbol.clone(), t); }
                                            None => { tops.remove(&symbol); }
                                        }
                                        self.targets.book.do_send(BookUpdate { symbol, top, received_at });
                                        // One update to the wire before the next frame is read (a frame that
                                        // arrived with it would otherwise be decoded in between): the Strategy,
                                        // the OrderManager and the connector share this thread, and each hop
                                        // runs on a turn of its scheduler.
                                        for _ in 0..HOPS_TO_THE_WIRE {
                                            tokio::task::yield_now().await;
                                        }
                                    }
                                }
                                Err(e @ BookError::Gap { .. }) | Err(e @ BookError::NoSnapshot) => {
                                    self.targets.metrics.book_gaps.inc();
                                    log::warn!(symbol = symbol.as_str(); "{symbol}: {e}; resubscribing");
                                    tops.remove(&symbol);
                                    self.targets.book.do_send(BookUpdate { symbol: symbol.clone(), top: None, received_at });
                                    let topic = vec![self.topic(&symbol)];
                                    let unsub = WsRequest { op: "unsubscribe".into(), req_id: None, args: topic.iter().map(|t| t.as_str().into()).collect() };
                                    if send(&mut conn, &unsub).await.is_err() || send(&mut conn, &WsRequest::subscribe("resub", &topic)).await.is_err() {
                                        break Ended::Lost("resubscribe failed".into());
                                    }
                                }
                            }
                        }
                        Ok(Frame::Op(op)) if !op.success => log::error!("public stream: {} refused: {}", op.op, op.ret_msg),
                        Ok(_) => {}
                        Err(e) => malformed(&self.targets.metrics, "public", &e, text),
                    }
                }
                _ = ping.tick() => if send(&mut conn, &WsRequest::ping("ping")).await.is_err() { break Ended::Lost("ping failed".into()) },
                Some(dead) = alive.dead(&self.targets.metrics) => { close(&mut conn).await; break dead; }
                _ = stop.changed() => { close(&mut conn).await; break Ended::Stopped; }
            }
        };
        for s in tops.keys() {
            self.targets.book.do_send(BookUpdate {
                symbol: s.clone(),
                top: None,
                received_at: Instant::now(),
            });
        }
        ended
    }
}

#[derive(Clone)]
struct PrivateStream {
    /// Set once an auth succeeded: a later refusal is a fatal error, a first one a failed start.
    authenticated_once: Arc<AtomicBool>,
    dcp: bool,
    dcp_window: Duration,
    settings: WsSettings,
    key: String,
    secret: Secret,
    targets: WsTargets,
}

impl PrivateStream {
    async fn run(&self, mut conn: Conn, mut stop: watch::Receiver<bool>) -> Ended {
        let expires = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
            + 10_000;
        let auth = WsRequest::auth(&self.key, expires, &sign::sign_ws_auth(self.secret.expose(), expires));
        // The category topics: a unified account's spot and option items never arrive.
        let mut topics = vec![
            "order.linear".to_string(),
            "execution.linear".to_string(),
            "position.linear".to_string(),
        ];
        if self.dcp {
            topics.push("dcp.future".to_string());
        }
        if let Err(e) = send(&mut conn, &auth).await {
            return Ended::Lost(e);
        }
        if let Err(e) = send(&mut conn, &WsRequest::subscribe("private", &topics)).await {
            return Ended::Lost(e);
        }
        let mut ping_every = Duration::from_millis(self.settings.ping_interval_ms.max(100));
        if self.dcp {
            ping_every = ping_every.min(self.dcp_window / 3).max(Duration::from_millis(100));
        }
        let mut ping = tokio::time::interval(ping_every);
        ping.tick().await;
        let mut alive = Liveness::new("private", self.settings.stale_after(ping_every));
        loop {
            tokio::select! {
                frame = conn.next() => {
                    alive.heard();
                    let text = match frame {
                        None => return Ended::Lost("closed by peer".into()),
                        Some(Err(e)) => return Ended::Lost(e.to_string()),
                        Some(Ok(ws::Frame::Text(t))) => t,
                        Some(Ok(ws::Frame::Ping(p))) => { let _ = conn.send(ws::Message::Pong(p)).await; continue; }
                        Some(Ok(ws::Frame::Close(_))) => return Ended::Lost("close frame".into()),
                        Some(Ok(_)) => continue,
                    };
                    let Ok(text) = std::str::from_utf8(&text) else { malformed(&self.targets.metrics, "private", &"not UTF-8", ""); continue };
                    match decode(text) {
                        Ok(Frame::Op(op)) if op.op == "auth" && !op.success => {
                            let reason = format!("private stream authentication rejected: {}", op.ret_msg);
                            self.targets.recorder.do_send(Record(Event::Error { source: "ws-private".into(), message: reason.clone() }));
                            let source = if self.authenticated_once.load(Ordering::Relaxed) { ShutdownSource::Fatal(reason) } else { ShutdownSource::StartupFailure(reason) };
                            self.targets.shutdown.do_send(RequestShutdown { source });
                            close(&mut conn).await;
                            return Ended::Fatal;
                        }
                        Ok(Frame::Op(op)) if op.op == "auth" => {
                            if self.authenticated_once.swap(true, Ordering::Relaxed) {
                                // Back after a disconnect: updates may have been missed.
                                self.targets.orders.reconcile.do_send(ReconcileNow);
                                self.targets.account.gap.do_send(ReconcileNow);
                            }
                        }
                        Ok(Frame::Op(op)) if op.op == "subscribe" && op.success => self.targets.orders.ready.do_send(PrivateStreamReady),
                        Ok(Frame::Op(op)) if !op.success => log::error!("private stream: {} refused: {}", op.op, op.ret_msg),
                        Ok(Frame::Orders(m)) => {
                            skipped_items(&self.targets.metrics, "order", &m.skipped);
                            self.targets.orders.updates.do_send(OrderUpdates(m.data));
                        }
                        Ok(Frame::Executions(m)) => {
                            skipped_items(&self.targets.metrics, "execution", &m.skipped);
                            self.targets.account.executions.do_send(Executions(m.data));
                        }
                        Ok(Frame::Positions(m)) => {
                            skipped_items(&self.targets.metrics, "position", &m.skipped);
                            let sizes = net_positions(&m.data).into_iter().map(|(s, p)| (s, p.size)).collect();
                            self.targets.account.positions.do_send(Positions(sizes));
                        }
                        Ok(_) => {}
                        Err(e) => malformed(&self.targets.metrics, "private", &e, text),
                    }
                }
                _ = ping.tick() => if send(&mut conn, &WsRequest::ping("ping")).await.is_err() { return Ended::Lost("ping failed".into()) },
                Some(dead) = alive.dead(&self.targets.metrics) => { close(&mut conn).await; return dead; }
                _ = stop.changed() => { close(&mut conn).await; return Ended::Stopped; }
            }
        }
    }
}
