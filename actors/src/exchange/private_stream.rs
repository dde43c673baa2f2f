//! The private stream: authenticate, subscribe the category topics (`dcp.future` on its own), pass
//! order updates to the OrderManager and executions and positions to the AccountWatch; a
//! re-auth after a gap asks both to reconcile. While DCP is armed it pings every third of the
//! window.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;

use bybit_v5::sign;
use bybit_v5::ws::{decode, Frame, WsRequest};

use crate::exchange::secret::Secret;
use crate::market::net_position::net_positions;
use crate::messages::events::Event;
use crate::messages::private_stream::{Executions, OrderUpdates, Positions, PrivateStreamReady, ReconcileNow};
use crate::messages::record::Record;
use crate::messages::shutdown::{RequestShutdown, ShutdownSource};

use super::liveness::Liveness;
use super::ws_connector::*;

/// The req_id of the `dcp.future` subscribe, to tell its answer from the order topics'.
const DCP_REQ_ID: &str = "dcp";

#[derive(Clone)]
pub(super) struct PrivateStream {
    /// Set once an auth succeeded: a later refusal is a fatal error, a first one a failed start.
    pub(super) authenticated_once: Arc<AtomicBool>,
    pub(super) dcp: watch::Receiver<bool>,
    pub(super) dcp_window: Duration,
    pub(super) settings: WsSettings,
    pub(super) key: String,
    pub(super) secret: Secret,
    pub(super) targets: WsTargets,
}

impl PrivateStream {
    /// Pings at the configured interval, and while DCP is armed every third of its window.
    async fn ping_timer(&self, dcp_on: bool) -> tokio::time::Interval {
        let mut every = Duration::from_millis(self.settings.ping_interval_ms.max(100));
        if dcp_on {
            every = every.min(self.dcp_window / 3).max(Duration::from_millis(100));
        }
        let mut ping = tokio::time::interval(every);
        ping.tick().await;
        ping
    }

    pub(super) async fn run(&self, mut conn: Conn, mut stop: watch::Receiver<bool>) -> Ended {
        let expires = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
            + 10_000;
        let auth = WsRequest::auth(&self.key, expires, &sign::sign_ws_auth(self.secret.expose(), expires));
        // The category topics: a unified account's spot and option items never arrive.
        let topics = vec![
            "order.linear".to_string(),
            "execution.linear".to_string(),
            "position.linear".to_string(),
        ];
        if let Err(e) = send(&mut conn, &auth).await {
            return Ended::Lost(e);
        }
        if let Err(e) = send(&mut conn, &WsRequest::subscribe("private", &topics)).await {
            return Ended::Lost(e);
        }
        // `dcp.future` on a subscribe of its own: Bybit answers a subscribe as a whole, so an
        // account without DCP enabled would otherwise refuse the order topics with it.
        let mut dcp = self.dcp.clone();
        let mut dcp_on = *dcp.borrow_and_update();
        // A sender gone means DCP is never armed later: stop asking.
        let mut dcp_may_come = !dcp_on;
        if dcp_on {
            if let Err(e) = send(&mut conn, &WsRequest::subscribe(DCP_REQ_ID, &["dcp.future".to_string()])).await {
                return Ended::Lost(e);
            }
        }
        let mut ping = self.ping_timer(dcp_on).await;
        let ping_every = ping.period();
        let bound = self.settings.stale_after(ping_every);
        let mut alive = Liveness::new("private", bound);
        // Pongs prove the socket, not the session: an auth or subscribe left unanswered (a
        // request lost by the peer) must not leave a stream that never delivers anything.
        let (mut answered, answer_by) = (false, tokio::time::Instant::now() + bound);
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
                        Ok(Frame::Op(op)) if op.op == "subscribe" && op.req_id.as_ref().and_then(|v| v.as_str()) == Some(DCP_REQ_ID) => {
                            if op.success {
                                log::info!("private stream: dcp.future subscribed (the dead-man switch watches this connection)");
                            } else {
                                log::warn!("DEAD-MAN SWITCH: dcp.future refused ({}): quoting goes on without it; a crash leaves orders until the next start reconciles them", op.ret_msg);
                            }
                        }
                        Ok(Frame::Op(op)) if op.op == "subscribe" && op.success => {
                            answered = true;
                            self.targets.orders.ready.do_send(PrivateStreamReady);
                        }
                        Ok(Frame::Op(op)) if !op.success => {
                            // Refused is an answer: no reconnect loop on a refusal that will not heal.
                            answered |= op.op == "subscribe";
                            log::error!("private stream: {} refused: {}", op.op, op.ret_msg)
                        }
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
                            if !m.skipped.is_empty() {
                                // A row that could not be decoded is not a flat one: ask the REST read.
                                self.targets.account.gap.do_send(ReconcileNow);
                            }
                            let sizes = net_positions(&m.data).into_iter().map(|(s, p)| (s, p.size)).collect();
                            self.targets.account.positions.do_send(Positions(sizes));
                        }
                        Ok(_) => {}
                        Err(e) => malformed(&self.targets.metrics, "private", &e, text),
                    }
                }
                armed = dcp.changed(), if dcp_may_come => {
                    dcp_may_come = armed.is_ok() && !*dcp.borrow_and_update();
                    if armed.is_ok() && !dcp_may_come && !dcp_on {
                        dcp_on = true;
                        if let Err(e) = send(&mut conn, &WsRequest::subscribe(DCP_REQ_ID, &["dcp.future".to_string()])).await {
                            return Ended::Lost(e);
                        }
                        ping = self.ping_timer(true).await;
                    }
                }
                _ = ping.tick() => if send(&mut conn, &WsRequest::ping("ping")).await.is_err() { return Ended::Lost("ping failed".into()) },
                Some(dead) = alive.dead(&self.targets.metrics) => { close(&mut conn).await; return dead; }
                _ = tokio::time::sleep_until(answer_by), if !answered => {
                    log::warn!("private stream: no answer to auth/subscribe within {} ms: reconnecting", bound.as_millis());
                    close(&mut conn).await;
                    return Ended::Lost("auth/subscribe unanswered".into());
                }
                _ = stop.changed() => { close(&mut conn).await; return Ended::Stopped; }
            }
        }
    }
}
