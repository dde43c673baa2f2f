//! A small signed Bybit V5 client over real HTTP and WebSocket, written from the public docs.
//! Tests and benchmarks use it to ask the exchange what is there, as an operator would.

use std::time::Duration;

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

use bybit_v5::sign;

pub struct Client {
    pub base: String,
    pub api_key: String,
    pub secret: String,
    http: awc::Client,
}

/// An HTTP answer: status, the `X-Bapi-*` headers, and the parsed body (Null if not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Answer {
    pub fn ret_code(&self) -> i64 {
        self.body["retCode"].as_i64().unwrap_or(-1)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn now_ms() -> u64 {
    crate::exchange::now_ms()
}

impl Client {
    pub fn new(base: &str, api_key: &str, secret: &str) -> Self {
        let http = awc::Client::builder()
            .timeout(Duration::from_secs(10))
            .max_http_version(awc::http::Version::HTTP_11)
            .finish();
        Self {
            base: base.trim_end_matches('/').to_string(),
            api_key: api_key.into(),
            secret: secret.into(),
            http,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http = awc::Client::builder()
            .timeout(timeout)
            .max_http_version(awc::http::Version::HTTP_11)
            .finish();
        self
    }

    async fn send(&self, req: awc::ClientRequest, body: Option<String>) -> Result<Answer, String> {
        let res = match body {
            Some(b) => req.insert_header(("Content-Type", "application/json")).send_body(b).await,
            None => req.send().await,
        };
        let mut res = res.map_err(|e| e.to_string())?;
        let headers = res
            .headers()
            .iter()
            .filter(|(k, _)| k.as_str().starts_with("x-bapi"))
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let bytes = res.body().limit(16 * 1024 * 1024).await.map_err(|e| e.to_string())?;
        Ok(Answer {
            status: res.status().as_u16(),
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }

    /// A public GET.
    pub async fn public(&self, path: &str, query: &str) -> Result<Answer, String> {
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        self.send(self.http.get(url), None).await
    }

    /// A signed GET; `query` is signed exactly as sent.
    pub async fn get(&self, path: &str, query: &str) -> Result<Answer, String> {
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        let mut req = self.http.get(url);
        for h in sign::rest_headers(&self.api_key, &self.secret, now_ms(), "5000", query) {
            req = req.insert_header(h);
        }
        self.send(req, None).await
    }

    /// A signed POST; `body` is signed exactly as sent.
    pub async fn post(&self, path: &str, body: &str) -> Result<Answer, String> {
        let mut req = self.http.post(format!("{}{path}", self.base));
        for h in sign::rest_headers(&self.api_key, &self.secret, now_ms(), "5000", body) {
            req = req.insert_header(h);
        }
        self.send(req, Some(body.to_string())).await
    }

    /// A signed GET that shares the account's budget politely, as pybit does: on 10006 it waits
    /// until `X-Bapi-Limit-Reset-Timestamp` and asks again (a test polling the exchange must not
    /// fail because the bot under test uses the same account's read budget).
    pub async fn get_within_budget(&self, path: &str, query: &str) -> Result<Answer, String> {
        for _ in 0..20 {
            let a = self.get(path, query).await?;
            if a.ret_code() != 10006 {
                return Ok(a);
            }
            let reset = a
                .header("X-Bapi-Limit-Reset-Timestamp")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(now_ms() + 100);
            tokio::time::sleep(Duration::from_millis(reset.saturating_sub(now_ms()).clamp(1, 2000))).await;
        }
        Err(format!("{path}: still rate-limited after 20 tries"))
    }

    /// Every open order of a symbol, following `nextPageCursor`.
    pub async fn open_orders(&self, symbol: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let q = if cursor.is_empty() {
                format!("category=linear&symbol={symbol}&limit=50")
            } else {
                format!("category=linear&symbol={symbol}&limit=50&cursor={cursor}")
            };
            let a = self.get_within_budget("/v5/order/realtime", &q).await?;
            if a.ret_code() != 0 {
                return Err(format!("realtime answered {}", a.body));
            }
            out.extend(a.body["result"]["list"].as_array().cloned().unwrap_or_default());
            cursor = a.body["result"]["nextPageCursor"].as_str().unwrap_or("").to_string();
            if cursor.is_empty() {
                return Ok(out);
            }
        }
    }

    /// Open orders whose orderLinkId starts with `prefix`, across `symbols`.
    pub async fn open_orders_with_prefix(&self, symbols: &[&str], prefix: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        for s in symbols {
            out.extend(
                self.open_orders(s)
                    .await?
                    .into_iter()
                    .filter(|o| o["orderLinkId"].as_str().unwrap_or("").starts_with(prefix)),
            );
        }
        Ok(out)
    }
}

pub type WsConn = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

/// Open a WebSocket.
pub async fn ws_connect(url: &str) -> Result<WsConn, String> {
    let (_, conn) = awc::Client::new()
        .ws(url)
        .max_frame_size(16 * 1024 * 1024)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

pub async fn ws_send(conn: &mut WsConn, v: &Value) -> Result<(), String> {
    conn.send(ws::Message::Text(v.to_string().into())).await.map_err(|e| e.to_string())
}

/// The next text frame as JSON, or None on close / timeout.
pub async fn ws_next(conn: &mut WsConn, timeout: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let frame = tokio::time::timeout_at(deadline, conn.next()).await.ok()??;
        match frame.ok()? {
            ws::Frame::Text(t) => return serde_json::from_slice(&t).ok(),
            ws::Frame::Close(_) => return None,
            _ => continue,
        }
    }
}

/// Authenticate a private connection.
pub async fn ws_auth(conn: &mut WsConn, api_key: &str, secret: &str) -> Result<Value, String> {
    let expires = now_ms() + 10_000;
    let sig = sign::sign_ws_auth(secret, expires);
    ws_send(conn, &serde_json::json!({"op": "auth", "args": [api_key, expires, sig]})).await?;
    ws_next(conn, Duration::from_secs(5))
        .await
        .ok_or_else(|| "no auth answer".to_string())
}

/// The simulator's own `/sim/` routes (no auth), as tests and benchmarks use them.
pub struct Admin {
    base: String,
}

impl Admin {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    async fn get(&self, path: &str) -> Value {
        awc::Client::new()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("sim answers")
            .json()
            .limit(64 << 20)
            .await
            .expect("JSON")
    }

    /// Request counts per path, and per account: open orders, DCP state, when it went flat.
    pub async fn stats(&self) -> Value {
        self.get("/sim/stats").await
    }

    /// Received `/v5/` requests (path, µs timestamp) since `since_us`.
    pub async fn requests(&self, since_us: u64) -> Vec<Value> {
        serde_json::from_value(self.get(&format!("/sim/requests?since_us={since_us}")).await).unwrap_or_default()
    }

    /// Drop every WebSocket connection now; returns how many were dropped.
    pub async fn drop_ws(&self) -> u64 {
        let v: Value = awc::Client::new()
            .post(format!("{}/sim/ws/drop", self.base))
            .send()
            .await
            .expect("sim answers")
            .json()
            .await
            .expect("JSON");
        v["dropped"].as_u64().unwrap_or(0)
    }

    /// Jump a market's mid by `bps` (negative: down), filling the resting orders it jumps over.
    pub async fn shock(&self, symbol: &str, bps: f64) {
        let r = awc::Client::new()
            .post(format!("{}/sim/shock", self.base))
            .send_json(&serde_json::json!({"symbol": symbol, "bps": bps}))
            .await
            .expect("sim answers");
        assert!(r.status().is_success(), "shock refused: {}", r.status());
    }

    /// Set an account's USDT wallet balance (the account of `api_key`).
    pub async fn set_wallet(&self, api_key: &str, balance: &str) {
        let r = awc::Client::new()
            .post(format!("{}/sim/wallet", self.base))
            .send_json(&serde_json::json!({"api_key": api_key, "wallet_balance": balance}))
            .await
            .expect("sim answers");
        assert!(r.status().is_success(), "wallet refused: {}", r.status());
    }

    /// Replace the faults (`{}` clears them).
    pub async fn set_faults(&self, faults: &Value) {
        let r = awc::Client::new()
            .put(format!("{}/sim/faults", self.base))
            .send_json(faults)
            .await
            .expect("sim answers");
        assert!(r.status().is_success(), "faults refused: {}", r.status());
    }
}

/// How far each symbol's quote centre — the midpoint of an account's best bid and best ask on
/// the exchange — sits from the market's last price, in basis points, read from one
/// `/sim/stats` answer. Symbols without orders on both sides are left out.
pub fn quote_centre_distances_bps(stats: &Value, account: usize) -> Vec<f64> {
    let num = |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
    let Some(quotes) = stats["accounts"][account]["quotes"].as_object() else {
        return Vec::new();
    };
    quotes
        .iter()
        .filter_map(|(symbol, q)| {
            let (bid, ask) = (num(&q["bid"])?, num(&q["ask"])?);
            let last = num(&stats["markets"][symbol]["last"])?;
            Some(((bid + ask) / 2.0 - last).abs() / last * 10_000.0)
        })
        .collect()
}

/// Open orders of the first account, from `/sim/stats`.
pub async fn open_orders_of_first_account(admin: &Admin) -> u64 {
    admin.stats().await["accounts"][0]["open_orders"].as_u64().unwrap_or(0)
}

/// After a stop signal sent at `since`: when the exchange first held no order of the first
/// account, and when the process exited (with its code), polling every `every` up to `limit`.
pub async fn watch_flat_and_exit(
    child: &mut std::process::Child,
    admin: &Admin,
    since: std::time::Instant,
    limit: Duration,
    every: Duration,
) -> (Option<Duration>, Option<(Duration, i32)>) {
    let mut flat = None;
    let mut exited = None;
    while since.elapsed() < limit && (flat.is_none() || exited.is_none()) {
        if flat.is_none() && open_orders_of_first_account(admin).await == 0 {
            flat = Some(since.elapsed());
        }
        if exited.is_none() {
            if let Ok(Some(status)) = child.try_wait() {
                exited = Some((since.elapsed(), status.code().unwrap_or(-1)));
            }
        }
        tokio::time::sleep(every).await;
    }
    (flat, exited)
}

/// A histogram's cumulative buckets `(le, count)` in a Prometheus text scrape, summed over
/// labels, smallest bound first.
fn histogram_buckets(metrics: &str, name: &str) -> Vec<(f64, f64)> {
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for l in metrics.lines().filter(|l| l.starts_with(&format!("{name}_bucket{{"))) {
        let Some(le) = l.split("le=\"").nth(1).and_then(|r| r.split('"').next()) else {
            continue;
        };
        let le = if le == "+Inf" {
            f64::INFINITY
        } else if let Ok(v) = le.parse() {
            v
        } else {
            continue;
        };
        let Some(n) = l.rsplit(' ').next().and_then(|n| n.parse::<f64>().ok()) else {
            continue;
        };
        match buckets.iter_mut().find(|(b, _)| *b == le) {
            Some((_, total)) => *total += n,
            None => buckets.push((le, n)),
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
}

/// The Prometheus text a process serves at `http://{control}/metrics` (up to 4 MiB); empty when
/// it does not answer.
pub async fn scrape_metrics(control: &str) -> String {
    let Ok(mut r) = awc::Client::new().get(format!("http://{control}/metrics")).send().await else {
        return String::new();
    };
    r.body()
        .limit(1 << 22)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// The value of the first line of a scrape that starts with `series` (a name, or a name and its
/// labels).
pub fn metric_value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Upper bound of the bucket holding the `p`-quantile (0–1) of a Prometheus histogram named
/// `name` in a scrape (every label set summed); None when it has no samples.
pub fn histogram_quantile(metrics: &str, name: &str, p: f64) -> Option<f64> {
    let buckets = histogram_buckets(metrics, name);
    let total = buckets.last()?.1;
    if total == 0.0 {
        return None;
    }
    buckets.iter().find(|(_, n)| *n >= p * total).map(|(le, _)| *le)
}

/// The share (0–1) of a histogram's samples at or below `le`, a bucket bound (None: no samples
/// or no such bound).
pub fn histogram_share_within(metrics: &str, name: &str, le: f64) -> Option<f64> {
    let buckets = histogram_buckets(metrics, name);
    let total = buckets.last()?.1;
    let within = buckets.iter().find(|(b, _)| (*b - le).abs() <= le * 1e-9)?.1;
    (total > 0.0).then(|| within / total)
}

/// The `p`-th percentile (0–100) of `values`, nearest rank; 0 for none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_bucket_upper_bounds() {
        let m = "x_bucket{le=\"0.001\"} 50\nx_bucket{le=\"0.002\"} 99\nx_bucket{le=\"+Inf\"} 100\nx_count 100\n";
        assert_eq!(histogram_quantile(m, "x", 0.5), Some(0.001));
        assert_eq!(histogram_quantile(m, "x", 0.99), Some(0.002));
        assert_eq!(histogram_quantile(m, "x", 1.0), Some(f64::INFINITY));
        assert_eq!(histogram_quantile("", "x", 0.5), None);
        assert_eq!(histogram_share_within(m, "x", 0.002), Some(0.99));
        assert_eq!(histogram_share_within(m, "x", 0.003), None);
    }

    #[test]
    fn centre_distance_from_stats() {
        let stats = serde_json::json!({
            "accounts": [{"quotes": {"BTCUSDT": {"bid": "99.9", "ask": "100.3"}, "ETHUSDT": {"bid": "10", "ask": null}}}],
            "markets": {"BTCUSDT": {"last": "100"}, "ETHUSDT": {"last": "10"}}
        });
        let d = quote_centre_distances_bps(&stats, 0);
        assert_eq!(d.len(), 1);
        assert!((d[0] - 10.0).abs() < 1e-9, "{d:?}");
        assert_eq!(percentile(&[3.0, 1.0, 2.0, 4.0], 50.0), 2.0);
        assert_eq!(percentile(&[3.0, 1.0, 2.0, 4.0], 95.0), 4.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
