//! A client of Bybit's order-entry WebSocket (`/v5/trade`, shared/bybit-v5-reference.md §5.7):
//! connect, authenticate, keep alive, send requests with a `reqId` and match answers by it. A
//! transport only: budgets, retCodes and metrics are the RestClient's (`post_ws`), shared with
//! REST as Bybit shares the budgets.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use bybit_v5::sign;

use crate::exchange::secret::Secret;

#[derive(Debug, Clone)]
pub struct WsTradeSettings {
    pub url: String,
    pub api_key: String,
    pub api_secret: Secret,
    pub recv_window_ms: u64,
    /// Connect, authenticate and each request: no answer within this is a timeout.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WsTradeError {
    #[error("cannot connect to the trade socket: {0}")]
    Connect(String),
    #[error("the trade socket refused the credentials: {code} {msg}")]
    Auth { code: i64, msg: String },
    #[error("no answer on the trade socket within {0:?}")]
    Timeout(Duration),
    /// Nothing was sent: the socket was closed already.
    #[error("the trade socket is closed")]
    Closed,
    /// Sent, then the socket closed before the answer: the outcome is unknown.
    #[error("the trade socket closed before the answer")]
    Lost,
}

/// Bybit drops a trade socket that stays silent; it asks for a ping every 20 s.
const PING_EVERY: Duration = Duration::from_secs(20);

type Waiters = Rc<RefCell<HashMap<String, oneshot::Sender<Value>>>>;

pub struct WsTradeClient {
    settings: WsTradeSettings,
    out: mpsc::UnboundedSender<ws::Message>,
    waiting: Waiters,
    closed: Rc<Cell<bool>>,
    closing: Rc<tokio::sync::Notify>,
    /// reqIds are unique per connection: a prefix from the connect time and a counter.
    id_prefix: String,
    next_id: Cell<u64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for WsTradeClient {
    fn drop(&mut self) {
        let _ = self.out.send(ws::Message::Close(Some(ws::CloseCode::Normal.into())));
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The key an answer is matched by: our reqId, else its op (an auth answer may come without one).
fn answer_key(v: &Value) -> String {
    v["reqId"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| v["op"].as_str().unwrap_or("").to_string())
}

/// One request frame. `args` is the REST body of the same request, embedded as is (no re-parse
/// on the hot path).
pub fn request_frame(req_id: &str, op: &str, timestamp_ms: u64, recv_window_ms: u64, args: &str) -> String {
    format!(
        r#"{{"reqId":"{req_id}","header":{{"X-BAPI-TIMESTAMP":"{timestamp_ms}","X-BAPI-RECV-WINDOW":"{recv_window_ms}"}},"op":"{op}","args":[{args}]}}"#
    )
}

impl WsTradeClient {
    /// Connect and authenticate.
    pub async fn connect(settings: WsTradeSettings) -> Result<Self, WsTradeError> {
        let timeout = settings.timeout;
        let connect = crate::exchange::http_client::client(timeout)
            .ws(settings.url.as_str())
            .max_frame_size(bybit_v5::ws::MAX_FRAME_BYTES)
            .connect();
        let (_, conn) = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| WsTradeError::Timeout(timeout))?
            .map_err(|e| WsTradeError::Connect(e.to_string()))?;
        let (mut sink, mut stream) = conn.split();
        let (out, mut to_send) = mpsc::unbounded_channel::<ws::Message>();
        let waiting: Waiters = Rc::default();
        let closed = Rc::new(Cell::new(false));
        let closing = Rc::new(tokio::sync::Notify::new());
        let writer = {
            let (closed, closing) = (closed.clone(), closing.clone());
            actix_rt::spawn(async move {
                while let Some(m) = to_send.recv().await {
                    let close = matches!(m, ws::Message::Close(_));
                    if sink.send(m).await.is_err() || close {
                        break;
                    }
                }
                closed.set(true);
                closing.notify_waiters();
            })
        };
        let reader = {
            let (waiting, closed, closing, out) = (waiting.clone(), closed.clone(), closing.clone(), out.clone());
            actix_rt::spawn(async move {
                while let Some(Ok(frame)) = stream.next().await {
                    match frame {
                        ws::Frame::Text(t) => {
                            let Ok(v) = serde_json::from_slice::<Value>(&t) else { continue };
                            if let Some(tx) = waiting.borrow_mut().remove(&answer_key(&v)) {
                                let _ = tx.send(v);
                            }
                        }
                        ws::Frame::Ping(p) => {
                            let _ = out.send(ws::Message::Pong(p));
                        }
                        ws::Frame::Close(_) => break,
                        _ => {}
                    }
                }
                closed.set(true);
                closing.notify_waiters();
                // Whoever waits learns at once that no answer will come.
                waiting.borrow_mut().clear();
            })
        };
        let pinger = {
            let out = out.clone();
            actix_rt::spawn(async move {
                let mut every = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
                loop {
                    every.tick().await;
                    if out.send(ws::Message::Text(r#"{"op":"ping"}"#.into())).is_err() {
                        break;
                    }
                }
            })
        };
        let client = Self {
            settings,
            out,
            waiting,
            closed,
            closing,
            id_prefix: format!("{:x}", unix_ms() % 0xffff_ffff),
            next_id: Cell::new(0),
            tasks: vec![writer, reader, pinger],
        };
        client.authenticate().await?;
        Ok(client)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Give up on this connection (it stopped answering): it counts as closed from now on, and
    /// whoever waits on it learns at once that no answer will come.
    pub fn abandon(&self) {
        self.closed.set(true);
        self.closing.notify_waiters();
        self.waiting.borrow_mut().clear();
        let _ = self.out.send(ws::Message::Close(Some(ws::CloseCode::Away.into())));
    }

    /// Resolves once the connection has closed.
    pub async fn closed(&self) {
        let notified = self.closing.notified();
        if !self.closed.get() {
            notified.await;
        }
    }

    pub fn recv_window_ms(&self) -> u64 {
        self.settings.recv_window_ms
    }

    async fn authenticate(&self) -> Result<(), WsTradeError> {
        let expires = unix_ms() + 10_000;
        let signature = sign::sign_ws_auth(self.settings.api_secret.expose(), expires);
        let frame = json!({"reqId": "auth", "op": "auth", "args": [self.settings.api_key, expires, signature]});
        let a = self.exchange("auth", frame.to_string()).await?;
        match a["retCode"].as_i64() {
            Some(0) => Ok(()),
            code => Err(WsTradeError::Auth {
                code: code.unwrap_or(-1),
                msg: a["retMsg"].as_str().unwrap_or("").to_string(),
            }),
        }
    }

    /// A fresh reqId (≤ 36 characters, as Bybit requires).
    pub fn next_req_id(&self) -> String {
        let n = self.next_id.get() + 1;
        self.next_id.set(n);
        format!("{}-{n}", self.id_prefix)
    }

    /// Send one frame and wait for the answer keyed `key`: the whole answer (retCode, data,
    /// retExtInfo, header).
    pub async fn exchange(&self, key: &str, frame: String) -> Result<Value, WsTradeError> {
        if self.closed.get() {
            return Err(WsTradeError::Closed);
        }
        let (tx, rx) = oneshot::channel();
        self.waiting.borrow_mut().insert(key.to_string(), tx);
        if self.out.send(ws::Message::Text(frame.into())).is_err() {
            self.waiting.borrow_mut().remove(key);
            return Err(WsTradeError::Closed);
        }
        let timeout = self.settings.timeout;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(WsTradeError::Lost),
            Err(_) => {
                self.waiting.borrow_mut().remove(key);
                Err(WsTradeError::Timeout(timeout))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_frame_embeds_the_rest_body_as_its_argument() {
        let body = r#"{"category":"linear","request":[{"symbol":"BTCUSDT","orderLinkId":"a"}]}"#;
        let f: Value = serde_json::from_str(&request_frame("ab-1", "order.cancel-batch", 1700000000000, 5000, body)).unwrap();
        assert_eq!(f["reqId"], "ab-1");
        assert_eq!(f["op"], "order.cancel-batch");
        assert_eq!(f["header"]["X-BAPI-TIMESTAMP"], "1700000000000");
        assert_eq!(f["header"]["X-BAPI-RECV-WINDOW"], "5000");
        assert_eq!(f["args"][0]["request"][0]["orderLinkId"], "a");
    }

    #[test]
    fn answers_are_matched_by_req_id_else_by_op() {
        assert_eq!(answer_key(&json!({"reqId": "x-3", "op": "order.create"})), "x-3");
        assert_eq!(answer_key(&json!({"op": "auth", "retCode": 0})), "auth");
    }
}
