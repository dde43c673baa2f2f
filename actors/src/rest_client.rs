//! Signed Bybit V5 REST over awc: per-request timeout, receive window, server-time offset,
//! envelope decoding and retCode mapping. One plain type; the RestConnector actor wraps it.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::Value;

use bybit_v5::envelope::Envelope;
use bybit_v5::rest::path;
use bybit_v5::{sign, RetCode};

use crate::metrics::{labels, Metrics};

/// An API secret that never prints.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestError {
    #[error("the REST connector is stopped")]
    Stopped,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("transport: {0}")]
    Transport(String),
    #[error("HTTP status {0}")]
    Http(u16),
    #[error("undecodable answer: {0}")]
    Decode(String),
    #[error("exchange answered retCode {} ({code:?}): {msg}", code.code())]
    Exchange { code: RetCode, msg: String },
}

impl RestError {
    /// The request may have reached the exchange and had an effect we did not learn.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            RestError::Timeout(_) | RestError::Transport(_) | RestError::Http(_) | RestError::Decode(_)
        )
    }
}

#[derive(Debug, Clone)]
pub struct RestSettings {
    pub base_url: String,
    pub api_key: String,
    pub api_secret: Secret,
    pub recv_window_ms: u64,
    pub timeout: Duration,
}

#[derive(Clone)]
pub struct RestClient {
    http: awc::Client,
    settings: Rc<RestSettings>,
    /// Server time minus local time, learned from `/v5/market/time`.
    offset_ms: Rc<Cell<i64>>,
    metrics: Option<std::sync::Arc<Metrics>>,
}

fn local_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A successful answer: `result` and `retExtInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub result: Value,
    pub ext: Value,
}

impl RestClient {
    pub fn new(settings: RestSettings, metrics: Option<std::sync::Arc<Metrics>>) -> Self {
        // Our own timeout governs; the client's is a backstop. HTTP/1.1 only: nothing here needs
        // HTTP/2, and its code path (h2 0.3, RUSTSEC-2026-0258) then never runs.
        let http = awc::Client::builder()
            .timeout(settings.timeout + Duration::from_secs(1))
            .max_http_version(awc::http::Version::HTTP_11)
            .disable_redirects()
            .finish();
        Self {
            http,
            settings: Rc::new(settings),
            offset_ms: Rc::new(Cell::new(0)),
            metrics,
        }
    }

    pub fn settings(&self) -> &RestSettings {
        &self.settings
    }

    fn now_exchange_ms(&self) -> u64 {
        (local_ms() + self.offset_ms.get()).max(0) as u64
    }

    /// Learn the offset to the exchange's clock (half the round trip is the error bound).
    pub async fn sync_time(&self) -> Result<i64, RestError> {
        let sent = local_ms();
        let a = self
            .send(path::TIME, self.http.get(format!("{}{}", self.settings.base_url, path::TIME)), None)
            .await?;
        let received = local_ms();
        let server_ms = a.result["timeSecond"]
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .map(|s| s * 1000);
        let server_ms = a.result["timeNano"]
            .as_str()
            .and_then(|s| s.parse::<i128>().ok())
            .map(|n| (n / 1_000_000) as i64)
            .or(server_ms);
        let server_ms = server_ms.ok_or_else(|| RestError::Decode("market/time without timeSecond".into()))?;
        let offset = server_ms - (sent + received) / 2;
        self.offset_ms.set(offset);
        Ok(offset)
    }

    pub async fn public_get(&self, endpoint: &'static str, query: &str) -> Result<Answer, RestError> {
        let url = if query.is_empty() {
            format!("{}{endpoint}", self.settings.base_url)
        } else {
            format!("{}{endpoint}?{query}", self.settings.base_url)
        };
        self.send(endpoint, self.http.get(url), None).await
    }

    pub async fn get(&self, endpoint: &'static str, query: &str) -> Result<Answer, RestError> {
        let url = if query.is_empty() {
            format!("{}{endpoint}", self.settings.base_url)
        } else {
            format!("{}{endpoint}?{query}", self.settings.base_url)
        };
        let req = self.signed(self.http.get(url), query);
        let r = self.send(endpoint, req, None).await;
        self.resync_on_clock_error(&r).await;
        r
    }

    pub async fn post(&self, endpoint: &'static str, body: String) -> Result<Answer, RestError> {
        let req = self.signed(self.http.post(format!("{}{endpoint}", self.settings.base_url)), &body);
        let r = self.send(endpoint, req, Some(body)).await;
        self.resync_on_clock_error(&r).await;
        r
    }

    fn signed(&self, mut req: awc::ClientRequest, payload: &str) -> awc::ClientRequest {
        let s = &self.settings;
        for h in sign::rest_headers(
            &s.api_key,
            s.api_secret.expose(),
            self.now_exchange_ms(),
            &s.recv_window_ms.to_string(),
            payload,
        ) {
            req = req.insert_header(h);
        }
        req
    }

    /// 10002 means our clock view drifted: learn it again so the next request passes.
    async fn resync_on_clock_error(&self, r: &Result<Answer, RestError>) {
        if matches!(
            r,
            Err(RestError::Exchange {
                code: RetCode::TimestampOutOfWindow,
                ..
            })
        ) {
            match self.sync_time().await {
                Ok(o) => {
                    log::warn!("timestamp rejected (10002): server time offset re-synced to {o} ms")
                }
                Err(e) => log::warn!("timestamp rejected (10002) and re-sync failed: {e}"),
            }
        }
    }

    async fn send(&self, endpoint: &'static str, req: awc::ClientRequest, body: Option<String>) -> Result<Answer, RestError> {
        let started = Instant::now();
        let timeout = self.settings.timeout;
        let fut = async {
            let mut res = match body {
                Some(b) => req.insert_header(("Content-Type", "application/json")).send_body(b).await,
                None => req.send().await,
            }
            .map_err(|e| RestError::Transport(e.to_string()))?;
            if !res.status().is_success() {
                return Err(RestError::Http(res.status().as_u16()));
            }
            let bytes = res
                .body()
                .limit(8 * 1024 * 1024)
                .await
                .map_err(|e| RestError::Transport(e.to_string()))?;
            let env: Envelope<Value> = serde_json::from_slice(&bytes).map_err(|e| RestError::Decode(e.to_string()))?;
            if env.ret_code != 0 {
                return Err(RestError::Exchange {
                    code: env.code(),
                    msg: env.ret_msg,
                });
            }
            Ok(Answer {
                result: env.result,
                ext: env.ret_ext_info,
            })
        };
        let r = match tokio::time::timeout(timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(RestError::Timeout(timeout)),
        };
        if let Some(m) = &self.metrics {
            let outcome = match &r {
                Ok(_) => "ok".to_string(),
                Err(RestError::Exchange { code, .. }) => code.code().to_string(),
                Err(RestError::Timeout(_)) => "timeout".into(),
                Err(_) => "error".into(),
            };
            m.rest_requests
                .get_or_create(&labels(&[("endpoint", endpoint), ("outcome", &outcome)]))
                .inc();
            m.rest_latency
                .get_or_create(&labels(&[("endpoint", endpoint)]))
                .observe(started.elapsed().as_secs_f64());
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = RestSettings {
            base_url: "x".into(),
            api_key: "k".into(),
            api_secret: Secret::new("hunter2"),
            recv_window_ms: 5000,
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
