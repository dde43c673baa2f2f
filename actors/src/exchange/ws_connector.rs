//! WsConnector: the public order book stream (one local book per symbol, a gap in update ids
//! forces a resubscribe) and the private order / execution / position stream (authenticated).
//! Each connection is a task that reconnects with capped exponential backoff and full jitter
//! until Stop, which sends close frames and ends them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use awc::ws;
use futures_util::SinkExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use bybit_v5::ws::WsRequest;

use crate::exchange::secret::Secret;
use crate::messages::events::Event;
use crate::messages::market::BookUpdate;
use crate::messages::private_stream::{ClosePrivateStream, Executions, OrderUpdates, Positions, PrivateStreamReady, ReconcileNow};
use crate::messages::record::Record;
use crate::messages::shutdown::RequestShutdown;
use crate::messages::status::StatusPatch;
use crate::messages::stop::{StepStatus, Stop, StopAck};
use crate::telemetry::metrics::{labels, Metrics};

use super::private_stream::PrivateStream;
use super::public_stream::PublicStream;

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
    /// Subscribe `dcp.future`, which keeps the exchange's disconnect-cancel-all armed: at
    /// connect when true, and on the running connection once it turns true (a standby arms it
    /// when it becomes active).
    pub dcp: watch::Receiver<bool>,
    /// The DCP window: while armed the private stream pings at least every third of it, so the
    /// exchange never takes a live connection for a dead one.
    pub dcp_window: Duration,
}

impl WsSettings {
    pub fn stale_after(&self, ping_every: Duration) -> Duration {
        match self.stale_after_ms {
            0 => ping_every * 2,
            ms => Duration::from_millis(ms),
        }
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
    /// With `[recorder] market = true`: every public frame as received (and the trade and
    /// ticker topics subscribed too, so a replay has them).
    pub tape: Option<Recipient<crate::messages::record::TapeFrame>>,
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
            sessions: Default::default(),
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
                dcp: self.endpoints.dcp.clone(),
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

pub(super) type Conn = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

/// Mailbox hops from a book update to its order request on the socket: Strategy, OrderManager,
/// connector.
pub(super) const HOPS_TO_THE_WIRE: usize = 3;

/// How a connection ended.
pub(super) enum Ended {
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
        let wait = crate::exchange::backoff::reconnect_wait(failures, settings.reconnect_max_ms);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
    }
    set_state("closed");
}

pub(super) async fn send(conn: &mut Conn, req: &WsRequest) -> Result<(), String> {
    let text = serde_json::to_string(req).map_err(|e| e.to_string())?;
    conn.send(ws::Message::Text(text.into())).await.map_err(|e| e.to_string())
}

pub(super) async fn close(conn: &mut Conn) {
    let _ = tokio::time::timeout(
        Duration::from_millis(500),
        conn.send(ws::Message::Close(Some(ws::CloseCode::Normal.into()))),
    )
    .await;
}

/// Count the items of a frame that did not decode (the others were kept); log the first ones.
pub(super) fn skipped_items(metrics: &Metrics, topic: &str, skipped: &[bybit_v5::lenient::SkippedItem]) {
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
pub(super) fn malformed(metrics: &Metrics, stream: &str, err: &dyn std::fmt::Display, text: &str) {
    metrics.ws_malformed_frames.inc();
    if metrics.ws_malformed_frames.get() <= 5 {
        let sample: String = text.chars().take(200).collect();
        log::warn!("{stream} stream: skipped a malformed frame ({err}): {sample}");
    }
}
