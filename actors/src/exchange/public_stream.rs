//! The public order-book stream: one local book per symbol, a gap in update ids forces a
//! resubscribe, each changed top goes to the Strategy; declared dead after its bound of silence.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;

use bybit_v5::ws::{decode, Frame, WsRequest};

use crate::market::book::{BookError, LocalBook, Top};
use crate::messages::market::BookUpdate;
use crate::messages::record::TapeFrame;

use super::liveness::Liveness;
use super::ws_connector::*;

#[derive(Clone)]
pub(super) struct PublicStream {
    pub(super) settings: WsSettings,
    pub(super) symbols: Vec<String>,
    pub(super) targets: WsTargets,
    /// Connections so far: after the first, the market tape marks the hole between them.
    pub(super) sessions: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl PublicStream {
    fn topic(&self, symbol: &str) -> String {
        format!("orderbook.{}.{symbol}", self.settings.depth)
    }

    /// The topics subscribed: the books, and for the market tape the trades and tickers too.
    fn topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = self.symbols.iter().map(|s| self.topic(s)).collect();
        if self.targets.tape.is_some() {
            for s in &self.symbols {
                topics.push(format!("publicTrade.{s}"));
                topics.push(format!("tickers.{s}"));
            }
        }
        topics
    }

    /// A line on the tape that tells a replay its book is void until the next snapshot.
    fn tape_gap(&self, symbol: &str, why: &str) {
        if let Some(tape) = &self.targets.tape {
            tape.do_send(TapeFrame {
                local_ns: now_ns(),
                symbol: symbol.to_string(),
                text: serde_json::json!({"topic": "mmbot.gap", "symbol": symbol, "reason": why}).to_string(),
            });
        }
    }

    /// The frame as received, to the tape (a topic frame only: replies are not market data).
    fn tape(&self, text: &str) {
        let Some(tape) = &self.targets.tape else { return };
        let Some(topic) = text.find("\"topic\":\"").map(|i| &text[i + 9..]).and_then(|t| t.split('"').next()) else {
            return;
        };
        if let Some(symbol) = topic.rsplit('.').next() {
            tape.do_send(TapeFrame {
                local_ns: now_ns(),
                symbol: symbol.to_string(),
                text: text.to_string(),
            });
        }
    }

    pub(super) async fn run(&self, mut conn: Conn, mut stop: watch::Receiver<bool>) -> Ended {
        if self.sessions.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0 {
            for s in &self.symbols {
                self.tape_gap(s, "public stream reconnected");
            }
        }
        let topics = self.topics();
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
                    self.tape(text);
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
                                    self.tape_gap(&symbol, &e.to_string());
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
