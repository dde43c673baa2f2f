//! One connection of the recorder: subscribe the topics, write every topic frame as it arrives
//! (stamped with the local receive time), judge each book delta's continuity, ping, flush the
//! files every second, and end on a stop, a lost connection, a silence or a gap in a book (the
//! reconnect's snapshot starts the book over; the gap is marked in the file).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

use market_data::{BookContinuity, Continuity};
use mmbot_actors::exchange::ws_connector::WsSettings;

use market_data::DailyFiles;

/// Bybit's public streams take at most 10 topics per subscribe request.
const TOPICS_PER_SUBSCRIBE: usize = 10;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

pub enum Ended {
    Stopped,
    Lost(String),
}

/// What the recording saw, for its summary.
#[derive(Debug, Default)]
pub struct Tally {
    pub frames: u64,
    pub gaps: u64,
    pub stale: u64,
    pub reconnects: u64,
}

pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The line that marks a hole in a symbol's recording: readers drop its book until the next
/// snapshot (hftbacktest skips it: it has no book or trade topic).
pub fn gap_marker(symbol: &str, why: &str) -> String {
    serde_json::json!({"topic": "mmbot.gap", "symbol": symbol, "reason": why}).to_string()
}

pub struct Session<'a> {
    pub url: &'a str,
    pub topics: &'a [String],
    pub settings: &'a WsSettings,
    pub stop: &'a AtomicBool,
}

impl Session<'_> {
    pub async fn run(&self, files: &mut DailyFiles, books: &mut HashMap<String, BookContinuity>, tally: &mut Tally) -> Ended {
        let connect = mmbot_actors::exchange::http_client::client(Duration::from_millis(self.settings.connect_timeout_ms))
            .ws(self.url)
            .max_frame_size(bybit_v5::ws::MAX_FRAME_BYTES)
            .connect();
        let mut conn = match connect.await {
            Ok((_, c)) => c,
            Err(e) => return Ended::Lost(format!("cannot connect to {}: {e}", self.url)),
        };
        for (i, chunk) in self.topics.chunks(TOPICS_PER_SUBSCRIBE).enumerate() {
            let req = serde_json::json!({"req_id": format!("record-{i}"), "op": "subscribe", "args": chunk});
            if let Err(e) = conn.send(ws::Message::Text(req.to_string().into())).await {
                return Ended::Lost(format!("subscribe: {e}"));
            }
        }
        books.values_mut().for_each(BookContinuity::reset);
        let ping_every = Duration::from_millis(self.settings.ping_interval_ms.max(100));
        let silence = self.settings.stale_after(ping_every);
        let mut ping = tokio::time::interval(ping_every);
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        let mut poll_stop = tokio::time::interval(Duration::from_millis(50));
        loop {
            tokio::select! {
                frame = tokio::time::timeout(silence, conn.next()) => {
                    let text = match frame {
                        Err(_) => return Ended::Lost(format!("nothing heard for {} ms", silence.as_millis())),
                        Ok(None) => return Ended::Lost("closed by the exchange".into()),
                        Ok(Some(Err(e))) => return Ended::Lost(e.to_string()),
                        Ok(Some(Ok(ws::Frame::Text(t)))) => t,
                        Ok(Some(Ok(ws::Frame::Ping(p)))) => { let _ = conn.send(ws::Message::Pong(p)).await; continue; }
                        Ok(Some(Ok(ws::Frame::Close(_)))) => return Ended::Lost("close frame".into()),
                        Ok(Some(Ok(_))) => continue,
                    };
                    let local_ns = now_ns();
                    let Ok(text) = std::str::from_utf8(&text) else { continue };
                    if let Err(why) = self.record(text, local_ns, files, books, tally) {
                        return Ended::Lost(why);
                    }
                }
                _ = ping.tick() => {
                    if conn.send(ws::Message::Text(r#"{"op":"ping"}"#.into())).await.is_err() {
                        return Ended::Lost("ping failed".into());
                    }
                }
                _ = flush.tick() => {
                    if let Err(e) = files.flush() {
                        log::error!("record: flushing the files: {e}");
                    }
                }
                _ = poll_stop.tick() => {
                    if self.stop.load(Ordering::SeqCst) {
                        let _ = tokio::time::timeout(Duration::from_millis(500), conn.send(ws::Message::Close(Some(ws::CloseCode::Normal.into())))).await;
                        return Ended::Stopped;
                    }
                }
            }
        }
    }

    /// Write one frame; a gap in a book ends the connection (its reconnect brings a snapshot).
    fn record(
        &self,
        text: &str,
        local_ns: u64,
        files: &mut DailyFiles,
        books: &mut HashMap<String, BookContinuity>,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            log::warn!(
                "record: a frame that is not JSON was not recorded: {}",
                text.chars().take(120).collect::<String>()
            );
            return Ok(());
        };
        // Replies to subscribe and ping carry no topic: not market data.
        let Some(topic) = v["topic"].as_str() else { return Ok(()) };
        let Some(symbol) = topic.rsplit('.').next().filter(|s| !s.is_empty()) else {
            return Ok(());
        };
        files.write(symbol, local_ns, text).map_err(|e| format!("writing {symbol}: {e}"))?;
        tally.frames += 1;
        if !topic.starts_with("orderbook.") {
            return Ok(());
        }
        let u = v["data"]["u"].as_u64().unwrap_or(0);
        let seq = v["data"]["seq"].as_u64().unwrap_or(0);
        let snapshot = v["type"] == "snapshot";
        match books.entry(topic.to_string()).or_default().check(snapshot, u, seq) {
            Continuity::Follows | Continuity::Snapshot => Ok(()),
            Continuity::Stale { last, got } => {
                tally.stale += 1;
                log::warn!("record: {topic}: update {got} after {last} (out of order)");
                Ok(())
            }
            c @ (Continuity::Gap { .. } | Continuity::Unanchored) => {
                tally.gaps += 1;
                let why = format!("{topic}: {c:?}");
                let _ = files.write(symbol, local_ns, &gap_marker(symbol, &why));
                Err(format!("book gap ({why}): reconnecting for a snapshot"))
            }
        }
    }
}
