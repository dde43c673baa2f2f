//! Signed Bybit V5 REST over awc: per-request timeout, receive window, server-time offset,
//! envelope decoding and retCode mapping. One plain type; the RestConnector actor wraps it.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::Value;

use bybit_v5::envelope::Envelope;
use bybit_v5::rest::{path, trade_op};
use bybit_v5::{sign, RetCode};

use crate::budget::rate_governor::{DeferReason, Governor, LimitHeaders, Priority, Transport};
use crate::exchange::secret::Secret;
use crate::exchange::ws_trade_client::{request_frame, WsTradeClient, WsTradeError};
use crate::telemetry::metrics::{labels, Metrics};

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
    /// HTTP 403 without Bybit's rate-ban text: a CDN, firewall or region refusal (the body, cut).
    #[error("HTTP 403 (not the rate ban): {0}")]
    Forbidden(String),
    #[error("undecodable answer: {0}")]
    Decode(String),
    #[error("exchange answered retCode {} ({code:?}): {msg}", code.code())]
    Exchange { code: RetCode, msg: String },
    /// Not sent: the account's budget has no room for it now (see the rate governor).
    #[error("not sent: {} (room again in {retry_in:?})", reason.as_str())]
    Deferred { reason: DeferReason, retry_in: Duration },
    /// Not sent: the trade socket was closed when it was to go (the budget was spent locally).
    #[error("not sent: the trade socket is closed")]
    NotSent { units: u32, admitted: Instant },
}

impl RestError {
    /// The request may have reached the exchange and had an effect we did not learn. (A 403 is
    /// the IP ban: refused before it reached the API.)
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, RestError::Timeout(_) | RestError::Transport(_) | RestError::Decode(_))
            || matches!(self, RestError::Http(code) if *code != 403)
    }
}

/// Bybit's IP rate ban answers 403 "access too frequent"; any other 403 comes from a CDN, a
/// firewall or a region block in front of the API.
pub fn is_rate_ban(body: &str) -> bool {
    body.to_ascii_lowercase().contains("too frequent")
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
    /// The exchange's time in its last answer (the envelope's `time`) minus local time: the
    /// clock its orders and fills are stamped in. The same as `offset_ms` on Bybit; a replaying
    /// simulator stamps in the recording's time while it checks signatures on the wall clock.
    stamp_offset_ms: Rc<Cell<Option<i64>>>,
    governor: Governor,
    metrics: Option<std::sync::Arc<Metrics>>,
    /// Endpoints that answered a 403 without the ban text, held back over HTTP until then.
    forbidden_until: Rc<std::cell::RefCell<std::collections::HashMap<&'static str, Instant>>>,
}

/// How long an endpoint that answered a 403 without the rate-ban text is held back (REST only:
/// the trade socket is another path to the exchange, and often the one that still works).
pub const FORBIDDEN_BACKOFF: Duration = Duration::from_secs(2);

fn local_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How a request pays its way through the rate governor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Ask for this many units, waiting for room as the priority allows.
    Ask(u32),
    /// Ask for this many units now; no room is an immediate `Deferred`.
    AskNow(u32),
    /// The caller already spent this many units for it, at this instant.
    Spent(u32, Instant),
}

/// Count a refusal in the governor's table (`/status`) and in `/metrics`.
pub fn count_rejection(governor: &Governor, metrics: Option<&Metrics>, endpoint: &str, code: i64) {
    governor.with(|g| g.note_rejection(endpoint, code));
    if let Some(m) = metrics {
        m.exchange_rejections
            .get_or_create(&labels(&[("endpoint", endpoint), ("code", &code.to_string())]))
            .inc();
    }
}

/// A successful answer: `result` and `retExtInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub result: Value,
    pub ext: Value,
}

impl RestClient {
    pub fn new(settings: RestSettings, governor: Governor, metrics: Option<std::sync::Arc<Metrics>>) -> Self {
        // Our own timeout governs; the client's is a backstop.
        let http = crate::exchange::http_client::client(settings.timeout + Duration::from_secs(1));
        Self {
            http,
            settings: Rc::new(settings),
            offset_ms: Rc::new(Cell::new(0)),
            stamp_offset_ms: Rc::new(Cell::new(None)),
            governor,
            metrics,
            forbidden_until: Rc::default(),
        }
    }

    /// The offset to the exchange's clock learned by `sync_time`, in milliseconds.
    /// Now on the clock the exchange stamps orders and fills with (its last answer's `time`).
    pub fn exchange_now_ms(&self) -> u64 {
        let offset = self.stamp_offset_ms.get().unwrap_or_else(|| self.offset_ms.get());
        (local_ms() + offset).max(0) as u64
    }

    pub fn clock_offset_ms(&self) -> i64 {
        self.offset_ms.get()
    }

    /// Start from an offset learned by another client (one on another thread).
    pub fn with_clock_offset_ms(self, offset: i64) -> Self {
        self.offset_ms.set(offset);
        self
    }

    pub fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_deref()
    }

    pub fn governor(&self) -> &Governor {
        &self.governor
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
            .send(
                path::TIME,
                self.http.get(format!("{}{}", self.settings.base_url, path::TIME)),
                None,
                Admission::Ask(1),
            )
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
        self.send(endpoint, self.http.get(url), None, Admission::Ask(1)).await
    }

    pub async fn get(&self, endpoint: &'static str, query: &str) -> Result<Answer, RestError> {
        let url = if query.is_empty() {
            format!("{}{endpoint}", self.settings.base_url)
        } else {
            format!("{}{endpoint}?{query}", self.settings.base_url)
        };
        let req = self.signed(self.http.get(url), query);
        let r = self.send(endpoint, req, None, Admission::Ask(1)).await;
        self.resync_on_clock_error(&r).await;
        r
    }

    /// A signed POST; a batch spends one unit of the endpoint's budget per order.
    pub async fn post(&self, endpoint: &'static str, body: String, admission: Admission) -> Result<Answer, RestError> {
        let req = self.signed(self.http.post(format!("{}{endpoint}", self.settings.base_url)), &body);
        let r = self.send(endpoint, req, Some(body), admission).await;
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

    /// Wait for room in the budget (see `Governor::admit_within`), up to the request timeout.
    async fn admit(&self, endpoint: &'static str, units: u32, priority: Priority, wait: bool) -> Result<Instant, RestError> {
        let give_up = Instant::now() + if wait { self.settings.timeout } else { Duration::ZERO };
        let count = |d: &crate::budget::rate_governor::Deferral| {
            if let Some(m) = &self.metrics {
                m.requests_deferred
                    .get_or_create(&labels(&[("endpoint", endpoint), ("reason", d.reason.as_str())]))
                    .inc();
            }
        };
        match self.governor.admit_within(endpoint, units, priority, give_up, count).await {
            Ok(at) => {
                let left = self.governor.with(|g| g.remaining(endpoint, at));
                self.publish_budget(endpoint, left);
                Ok(at)
            }
            Err(d) => Err(RestError::Deferred {
                reason: d.reason,
                retry_in: d.until.saturating_duration_since(Instant::now()),
            }),
        }
    }

    /// The `X-Bapi-Limit*` headers of an HTTP answer.
    fn limit_headers(&self, headers: &awc::http::header::HeaderMap) -> LimitHeaders {
        self.limits_from(|name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
    }

    /// The same three values, from a trade-socket answer's `header` object.
    fn ws_limit_headers(&self, header: &Value) -> LimitHeaders {
        self.limits_from(|name| match &header[name] {
            Value::String(v) => v.trim().parse::<u64>().ok(),
            v => v.as_u64(),
        })
    }

    /// The limit headers, with the reset timestamp moved onto the local clock.
    fn limits_from(&self, num: impl Fn(&str) -> Option<u64>) -> LimitHeaders {
        let reset_at = num("X-Bapi-Limit-Reset-Timestamp").map(|reset_ms| {
            let ahead = reset_ms as i64 - self.now_exchange_ms() as i64;
            Instant::now() + Duration::from_millis(ahead.max(0) as u64)
        });
        LimitHeaders {
            limit: num("X-Bapi-Limit").map(|v| v as u32),
            remaining: num("X-Bapi-Limit-Status").map(|v| v as u32),
            reset_at,
        }
    }

    fn learn_limits(&self, endpoint: &'static str, headers: LimitHeaders) {
        let (change, left) = self.governor.with(|g| {
            let now = Instant::now();
            (g.observe(endpoint, headers, now), g.remaining(endpoint, now))
        });
        self.publish_budget(endpoint, left);
        if let Some(c) = change.filter(|c| c.exchange_says < c.configured) {
            log::warn!(endpoint = endpoint;
                "{endpoint}: the exchange gives this account {} requests/s, the config says {}: using {}",
                c.exchange_says,
                c.configured,
                c.exchange_says
            );
        }
    }

    fn publish_budget(&self, endpoint: &str, left: Option<(u32, u32)>) {
        if let (Some(m), Some((limit, remaining))) = (&self.metrics, left) {
            let l = labels(&[("endpoint", endpoint)]);
            m.rate_budget_limit.get_or_create(&l).set(limit as i64);
            m.rate_budget_remaining.get_or_create(&l).set(remaining as i64);
        }
    }

    /// Count a refusal (a whole request, or one item of a batch) by endpoint and code.
    pub fn count_rejection(&self, endpoint: &str, code: i64) {
        count_rejection(&self.governor, self.metrics.as_deref(), endpoint, code);
    }

    /// Pay for a request: the units it spends and when they were admitted.
    async fn pay(&self, endpoint: &'static str, admission: Admission, read: bool) -> Result<(u32, Instant), RestError> {
        Ok(match admission {
            Admission::Ask(units) => (units, self.admit(endpoint, units, Priority::of(endpoint, read), true).await?),
            Admission::AskNow(units) => (units, self.admit(endpoint, units, Priority::of(endpoint, read), false).await?),
            Admission::Spent(units, at) => (units, at),
        })
    }

    /// A refusal by retCode: counted, and a 10006 rests the endpoint until the reset.
    fn refused(&self, endpoint: &'static str, code: RetCode, msg: String, reset_at: Option<Instant>) -> RestError {
        self.count_rejection(endpoint, code.code());
        if code == RetCode::RateLimited {
            self.governor.with(|g| g.rate_limited(endpoint, reset_at, Instant::now()));
        }
        RestError::Exchange { code, msg }
    }

    fn observe(&self, endpoint: &'static str, transport: &str, started: Instant, r: &Result<Answer, RestError>) {
        // The exchange's answers (a refusal too) time the link; a timeout or a 5xx does not.
        if matches!(r, Ok(_) | Err(RestError::Exchange { .. })) {
            let t = if transport == "websocket" {
                Transport::WebSocket
            } else {
                Transport::Rest
            };
            self.governor.record_round_trip(t, endpoint, started.elapsed());
        }
        let Some(m) = &self.metrics else { return };
        let outcome = match r {
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
        if trade_op(endpoint).is_some() {
            m.order_entry_requests.get_or_create(&labels(&[("transport", transport)])).inc();
        }
    }

    /// An order request over the trade socket: same body, same budget, same answers as its REST
    /// twin. The rate-limit `header` of the answer feeds the governor as REST's headers do.
    pub async fn post_ws(&self, ws: &WsTradeClient, endpoint: &'static str, body: &str, admission: Admission) -> Result<Answer, RestError> {
        let Some(op) = trade_op(endpoint) else {
            return Err(RestError::Transport(format!("{endpoint} has no trade-socket op")));
        };
        let (units, admitted) = self.pay(endpoint, admission, false).await?;
        let started = Instant::now();
        let req_id = ws.next_req_id();
        let frame = request_frame(&req_id, op, self.now_exchange_ms(), ws.recv_window_ms(), body);
        let answer = ws.exchange(&req_id, frame).await;
        match &answer {
            // Closed before it went: its units stay on their way, REST carries it with them.
            Err(WsTradeError::Closed) => {}
            Err(WsTradeError::Timeout(_)) => self.governor.with(|g| g.unanswered(endpoint, units, admitted)),
            _ => self.governor.with(|g| g.settle(endpoint, units, admitted, Instant::now())),
        }
        let r = match answer {
            Err(WsTradeError::Closed) => return Err(RestError::NotSent { units, admitted }),
            Err(WsTradeError::Timeout(t)) => Err(RestError::Timeout(t)),
            Err(e) => Err(RestError::Transport(e.to_string())),
            Ok(mut v) => {
                let headers = self.ws_limit_headers(&v["header"]);
                self.learn_limits(endpoint, headers);
                match v["retCode"].as_i64() {
                    Some(0) => Ok(Answer {
                        result: v["data"].take(),
                        ext: v["retExtInfo"].take(),
                    }),
                    code => Err(self.refused(
                        endpoint,
                        RetCode::from_code(code.unwrap_or(-1)),
                        v["retMsg"].as_str().unwrap_or("").to_string(),
                        headers.reset_at,
                    )),
                }
            }
        };
        self.observe(endpoint, "websocket", started, &r);
        self.resync_on_clock_error(&r).await;
        r
    }

    async fn send(
        &self,
        endpoint: &'static str,
        req: awc::ClientRequest,
        body: Option<String>,
        admission: Admission,
    ) -> Result<Answer, RestError> {
        if let Some(until) = self.forbidden_until.borrow().get(endpoint).copied() {
            let now = Instant::now();
            if now < until {
                return Err(RestError::Deferred {
                    reason: DeferReason::Forbidden,
                    retry_in: until - now,
                });
            }
        }
        let (units, admitted_at) = self.pay(endpoint, admission, body.is_none()).await?;
        let started = Instant::now();
        let timeout = self.settings.timeout;
        let fut = async {
            let mut res = match body {
                Some(b) => req.insert_header(("Content-Type", "application/json")).send_body(b).await,
                None => req.send().await,
            }
            .map_err(|e| RestError::Transport(e.to_string()))?;
            let headers = self.limit_headers(res.headers());
            self.governor.with(|g| g.settle(endpoint, units, admitted_at, Instant::now()));
            if res.status().as_u16() == 403 {
                let body = res.body().limit(64 * 1024).await.unwrap_or_default();
                let text = String::from_utf8_lossy(&body);
                self.count_rejection(endpoint, 403);
                if !is_rate_ban(&text) {
                    // Not the ban: stopping every path for ip_ban_ms would leave quotes resting
                    // at old prices for nothing; this request fails and its caller decides.
                    let excerpt: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(300).collect();
                    log::warn!(endpoint = endpoint, status = 403; "HTTP 403 from {endpoint} without the rate-ban text: holding {endpoint} back {} s (REST only): {excerpt}", FORBIDDEN_BACKOFF.as_secs());
                    self.forbidden_until
                        .borrow_mut()
                        .insert(endpoint, Instant::now() + FORBIDDEN_BACKOFF);
                    return Err(RestError::Forbidden(excerpt));
                }
                let until = self.governor.with(|g| g.ip_banned(Instant::now()));
                log::error!(endpoint = endpoint, status = 403;
                    "HTTP 403 from {endpoint}: the exchange has banned this IP for sending too much; \
                     ALL REST requests stop for {} s (until {:?} from now)",
                    until.saturating_duration_since(Instant::now()).as_secs(),
                    until.saturating_duration_since(Instant::now())
                );
                return Err(RestError::Http(403));
            }
            if !res.status().is_success() {
                return Err(RestError::Http(res.status().as_u16()));
            }
            self.learn_limits(endpoint, headers);
            let bytes = res
                .body()
                .limit(8 * 1024 * 1024)
                .await
                .map_err(|e| RestError::Transport(e.to_string()))?;
            let env: Envelope<Value> = serde_json::from_slice(&bytes).map_err(|e| RestError::Decode(e.to_string()))?;
            // The account's answers: what its orders and fills are stamped in.
            if env.time > 0 && !endpoint.starts_with("/v5/market/") {
                self.stamp_offset_ms.set(Some(env.time as i64 - local_ms()));
            }
            if env.ret_code != 0 {
                return Err(self.refused(endpoint, env.code(), env.ret_msg, headers.reset_at));
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
        // No answer (timeout, transport): no longer on its way. An answered request was settled
        // at its headers already; this changes nothing then.
        self.governor.with(|g| g.unanswered(endpoint, units, admitted_at));
        self.observe(endpoint, "rest", started, &r);
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
