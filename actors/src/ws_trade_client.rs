//! A client of Bybit's order-entry WebSocket (`/v5/trade`, shared/bybit-v5-reference.md §5.7):
//! connect, authenticate, send signed-header requests with a `reqId`, match answers by it. A
//! second transport to the matching engine, used when the REST order endpoints fail. Budgets are
//! the REST twins' (Bybit shares them), so every request is admitted by the same governor.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use bybit_v5::rest::path;
use bybit_v5::{sign, RetCode};

use crate::rate_governor::{Governor, Priority};
use crate::rest_client::Secret;

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
    #[error("the trade socket closed")]
    Closed,
    #[error("the trade socket answered retCode {code}: {msg}")]
    Exchange { code: i64, msg: String },
    #[error("not sent: no room in the budget for {retry_in:?}")]
    Deferred { retry_in: Duration },
}

type Waiters = Rc<RefCell<HashMap<String, oneshot::Sender<Value>>>>;

pub struct WsTradeClient {
    settings: WsTradeSettings,
    governor: Governor,
    out: mpsc::UnboundedSender<ws::Message>,
    waiting: Waiters,
    closed: Rc<Cell<bool>>,
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

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl WsTradeClient {
    /// Connect and authenticate.
    pub async fn connect(settings: WsTradeSettings, governor: Governor) -> Result<Self, WsTradeError> {
        let timeout = settings.timeout;
        let connect = awc::Client::builder()
            .timeout(timeout)
            .max_http_version(awc::http::Version::HTTP_11)
            .finish()
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
        let writer = actix_rt::spawn(async move {
            while let Some(m) = to_send.recv().await {
                let close = matches!(m, ws::Message::Close(_));
                if sink.send(m).await.is_err() || close {
                    break;
                }
            }
        });
        let reader = {
            let (waiting, closed, out) = (waiting.clone(), closed.clone(), out.clone());
            actix_rt::spawn(async move {
                while let Some(Ok(frame)) = stream.next().await {
                    match frame {
                        ws::Frame::Text(t) => {
                            let Ok(v) = serde_json::from_slice::<Value>(&t) else { continue };
                            // Answers carry our reqId; an auth answer may come without one.
                            let key = v["reqId"]
                                .as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v["op"].as_str().unwrap_or("").to_string());
                            if let Some(tx) = waiting.borrow_mut().remove(&key) {
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
                // Whoever waits learns at once that no answer will come.
                waiting.borrow_mut().clear();
            })
        };
        let client = Self {
            settings,
            governor,
            out,
            waiting,
            closed,
            next_id: Cell::new(0),
            tasks: vec![writer, reader],
        };
        client.authenticate().await?;
        Ok(client)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    async fn authenticate(&self) -> Result<(), WsTradeError> {
        let expires = unix_ms() + 10_000;
        let signature = sign::sign_ws_auth(self.settings.api_secret.expose(), expires);
        let a = self
            .exchange(
                "auth",
                json!({"reqId": "auth", "op": "auth", "args": [self.settings.api_key, expires, signature]}),
            )
            .await?;
        match a["retCode"].as_i64() {
            Some(0) => Ok(()),
            code => Err(WsTradeError::Auth {
                code: code.unwrap_or(-1),
                msg: a["retMsg"].as_str().unwrap_or("").to_string(),
            }),
        }
    }

    /// Send one frame and wait for the answer keyed `key`.
    async fn exchange(&self, key: &str, frame: Value) -> Result<Value, WsTradeError> {
        if self.closed.get() {
            return Err(WsTradeError::Closed);
        }
        let (tx, rx) = oneshot::channel();
        self.waiting.borrow_mut().insert(key.to_string(), tx);
        if self.out.send(ws::Message::Text(frame.to_string().into())).is_err() {
            self.waiting.borrow_mut().remove(key);
            return Err(WsTradeError::Closed);
        }
        let timeout = self.settings.timeout;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(WsTradeError::Closed),
            Err(_) => {
                self.waiting.borrow_mut().remove(key);
                Err(WsTradeError::Timeout(timeout))
            }
        }
    }

    /// Cancel orders of one symbol by order-link id (`order.cancel-batch`, at most 20); the
    /// answer's per-item codes, in the order asked. Spends the REST cancel-batch budget.
    pub async fn cancel_batch(&self, symbol: &str, link_ids: &[String]) -> Result<Vec<i64>, WsTradeError> {
        let endpoint = path::ORDER_CANCEL_BATCH;
        let units = link_ids.len() as u32;
        // No waiting for room: the caller escalates instead.
        let now = Instant::now();
        self.governor
            .with(|g| g.try_admit(endpoint, units, Priority::Cancel, now))
            .map_err(|d| WsTradeError::Deferred {
                retry_in: d.until.saturating_duration_since(now),
            })?;
        let admitted = now;
        let n = self.next_id.get() + 1;
        self.next_id.set(n);
        let req_id = format!("cx-{n}-{}", unix_ms());
        let items: Vec<Value> = link_ids.iter().map(|l| json!({"symbol": symbol, "orderLinkId": l})).collect();
        let frame = json!({
            "reqId": req_id,
            "header": {"X-BAPI-TIMESTAMP": unix_ms().to_string(), "X-BAPI-RECV-WINDOW": self.settings.recv_window_ms.to_string()},
            "op": "order.cancel-batch",
            "args": [{"category": "linear", "request": items}],
        });
        let a = self.exchange(&req_id, frame).await;
        self.governor.with(|g| g.settle(endpoint, units, admitted, Instant::now()));
        let a = a?;
        let code = a["retCode"].as_i64().unwrap_or(-1);
        if code != 0 {
            if RetCode::from_code(code) == RetCode::RateLimited {
                self.governor.with(|g| g.rate_limited(endpoint, None, Instant::now()));
            }
            return Err(WsTradeError::Exchange {
                code,
                msg: a["retMsg"].as_str().unwrap_or("").to_string(),
            });
        }
        let codes = a["retExtInfo"]["list"].as_array().cloned().unwrap_or_default();
        Ok((0..link_ids.len())
            .map(|i| codes.get(i).and_then(|c| c["code"].as_i64()).unwrap_or(-1))
            .collect())
    }
}
