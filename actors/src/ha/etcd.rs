//! etcd's v3 API through its JSON gateway (`/v3/...` over HTTP), on awc like every other client
//! here. The gateway rather than gRPC (`etcd-client`): it needs no protobuf toolchain, no second
//! HTTP stack (tonic/hyper beside awc), and five small calls are all a lease election uses:
//! grant, keep-alive, a compare-and-put transaction, revoke, and a watch. Keys and values travel
//! as base64, 64-bit integers as decimal strings.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use base64::Engine as _;
use futures_util::stream::{LocalBoxStream, StreamExt};
use serde_json::{json, Value};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

fn unb64(v: &Value) -> String {
    let raw = v.as_str().unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// An int64 as the gateway writes it: a decimal string (or a number, to be lenient).
fn int(v: &Value) -> Option<i64> {
    v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_i64())
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("etcd {endpoint}: {what}")]
pub struct EtcdError {
    pub endpoint: String,
    pub what: String,
}

/// What a compare-and-put on the key found.
#[derive(Debug, Clone, PartialEq)]
pub enum Acquire {
    /// The key was free; it is ours now, bound to our lease, from this store revision on.
    Won { revision: i64 },
    /// Someone holds it: their value, the lease the key is bound to (ours only if it is the
    /// lease we asked with — an identity of ours under another lease is a lease we gave up on),
    /// and the store's revision when we looked (a watch from the next one misses nothing).
    Held { holder: String, lease: i64, revision: i64 },
    /// The blocking key is present (the account's kill switch): nobody may take the key.
    Blocked { by: String, revision: i64 },
}

/// A key's value and the lease it is bound to (0: none).
#[derive(Debug, Clone, PartialEq)]
pub struct BoundValue {
    pub value: String,
    pub lease: i64,
}

/// A change to the watched key, at its store revision: a watch may deliver a change older than
/// a transaction already answered (its events and our answers travel separately).
#[derive(Debug, Clone, PartialEq)]
pub enum KeyEvent {
    Put { value: String, lease: i64, revision: i64 },
    Deleted { revision: i64 },
}

pub struct Etcd {
    endpoints: Vec<String>,
    /// The endpoint in use; a failure moves to the next for the following request.
    current: Cell<usize>,
    /// Rebuilt after a failure: a restarted etcd leaves dead keep-alive connections in the
    /// pool, and each request would otherwise take one and fail in turn.
    client: RefCell<awc::Client>,
    timeout: Duration,
}

impl Etcd {
    pub fn new(endpoints: Vec<String>, timeout: Duration) -> Self {
        Self {
            endpoints: endpoints.into_iter().map(|e| e.trim_end_matches('/').to_string()).collect(),
            current: Cell::new(0),
            client: RefCell::new(crate::exchange::http_client::client(timeout)),
            timeout,
        }
    }

    fn endpoint(&self, at: usize) -> &str {
        &self.endpoints[at % self.endpoints.len().max(1)]
    }

    /// The request sent to endpoint `at` failed: the next request goes to the next endpoint —
    /// unless another failure moved on already (two requests failing together must not move
    /// twice, back onto the dead one).
    fn failed(&self, at: usize, what: impl Into<String>) -> EtcdError {
        if self.current.get() == at {
            self.current.set(at.wrapping_add(1));
            *self.client.borrow_mut() = crate::exchange::http_client::client(self.timeout);
        }
        EtcdError {
            endpoint: self.endpoint(at).to_string(),
            what: what.into(),
        }
    }

    async fn call(&self, path: &str, body: Value) -> Result<Value, EtcdError> {
        let at = self.current.get();
        let url = format!("{}{path}", self.endpoint(at));
        let request = self.client.borrow().post(&url);
        let mut resp = request
            .send_json(&body)
            .await
            .map_err(|e| self.failed(at, format!("{path}: {e}")))?;
        let bytes = resp
            .body()
            .limit(1 << 20)
            .await
            .map_err(|e| self.failed(at, format!("{path}: reading the answer: {e}")))?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| self.failed(at, format!("{path}: {e}")))?;
        if !resp.status().is_success() {
            let msg = v["message"].as_str().or(v["error"].as_str()).unwrap_or("").to_string();
            let what = format!("{path}: HTTP {}: {msg}", resp.status().as_u16());
            // A member that answers 5xx ("etcdserver: no leader") is as unusable as one that
            // does not answer: the next request goes to the next endpoint. A 4xx is about the
            // request (a lease not found), the same on every member.
            if resp.status().is_server_error() {
                return Err(self.failed(at, what));
            }
            return Err(EtcdError {
                endpoint: self.endpoint(at).to_string(),
                what,
            });
        }
        Ok(v)
    }

    /// A new lease of `ttl` (whole seconds); its id.
    pub async fn grant(&self, ttl: Duration) -> Result<i64, EtcdError> {
        let v = self.call("/v3/lease/grant", json!({ "TTL": ttl.as_secs().to_string() })).await?;
        int(&v["ID"]).ok_or_else(|| EtcdError {
            endpoint: self.endpoint(self.current.get()).to_string(),
            what: format!("grant: no lease id in {v}"),
        })
    }

    /// Renew the lease; false when etcd no longer knows it (it lapsed or was revoked).
    pub async fn keep_alive(&self, lease: i64) -> Result<bool, EtcdError> {
        let v = self.call("/v3/lease/keepalive", json!({ "ID": lease.to_string() })).await?;
        Ok(int(&v["result"]["TTL"]).unwrap_or(0) > 0)
    }

    /// Put `value` at `key` bound to `lease` if nobody holds the key and `unless` is absent;
    /// otherwise who holds it, or what `unless` says.
    pub async fn acquire(&self, key: &str, value: &str, lease: i64, unless: &str) -> Result<Acquire, EtcdError> {
        let (k, u) = (b64(key), b64(unless));
        let v = self
            .call(
                "/v3/kv/txn",
                json!({
                    "compare": [
                        { "key": k, "target": "CREATE", "create_revision": "0" },
                        { "key": u, "target": "CREATE", "create_revision": "0" },
                    ],
                    "success": [{ "request_put": { "key": k, "value": b64(value), "lease": lease.to_string() } }],
                    "failure": [{ "request_range": { "key": k } }, { "request_range": { "key": u } }],
                }),
            )
            .await?;
        let revision = int(&v["header"]["revision"]).unwrap_or(0);
        if v["succeeded"].as_bool() == Some(true) {
            return Ok(Acquire::Won { revision });
        }
        let blocking = &v["responses"][1]["response_range"]["kvs"][0];
        if !blocking.is_null() {
            return Ok(Acquire::Blocked {
                by: unb64(&blocking["value"]),
                revision,
            });
        }
        let kv = &v["responses"][0]["response_range"]["kvs"][0];
        Ok(Acquire::Held {
            holder: unb64(&kv["value"]),
            lease: int(&kv["lease"]).unwrap_or(0),
            revision,
        })
    }

    /// The key as it is now: its value and the lease it is bound to (None: absent). What proves
    /// to an active that the key it renews a lease for is still bound to that lease.
    pub async fn read(&self, key: &str) -> Result<Option<BoundValue>, EtcdError> {
        let v = self.call("/v3/kv/range", json!({ "key": b64(key) })).await?;
        let kv = &v["kvs"][0];
        Ok((!kv.is_null()).then(|| BoundValue {
            value: unb64(&kv["value"]),
            lease: int(&kv["lease"]).unwrap_or(0),
        }))
    }

    /// The value at `key`, if there is one.
    pub async fn get(&self, key: &str) -> Result<Option<String>, EtcdError> {
        let v = self.call("/v3/kv/range", json!({ "key": b64(key) })).await?;
        let kv = &v["kvs"][0];
        Ok((!kv.is_null()).then(|| unb64(&kv["value"])))
    }

    /// Put `value` at `key`, bound to no lease: it stays until deleted.
    pub async fn put(&self, key: &str, value: &str) -> Result<(), EtcdError> {
        self.call("/v3/kv/put", json!({ "key": b64(key), "value": b64(value) }))
            .await
            .map(|_| ())
    }

    /// Delete `key`; whether it was there.
    pub async fn delete(&self, key: &str) -> Result<bool, EtcdError> {
        let v = self.call("/v3/kv/deleterange", json!({ "key": b64(key) })).await?;
        Ok(int(&v["deleted"]).unwrap_or(0) > 0)
    }

    /// End the lease now: the key bound to it is deleted at once. A lease etcd no longer knows
    /// is as good as revoked.
    pub async fn revoke(&self, lease: i64) -> Result<(), EtcdError> {
        match self.call("/v3/lease/revoke", json!({ "ID": lease.to_string() })).await {
            Err(e) if e.what.contains("lease not found") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// The key's changes from `from_revision` on, as they happen. The stream ends when the
    /// connection does; it has no timeout of its own (a silent one is covered by the caller's
    /// periodic attempts).
    pub async fn watch(&self, key: &str, from_revision: i64) -> Result<LocalBoxStream<'static, KeyEvent>, EtcdError> {
        let at = self.current.get();
        let url = format!("{}/v3/watch", self.endpoint(at));
        let mut create = json!({ "key": b64(key) });
        if from_revision > 0 {
            create["start_revision"] = json!(from_revision.to_string());
        }
        let request = self.client.borrow().post(&url);
        let resp = request
            // The stream lives as long as the watch; connecting keeps the client's timeout.
            .timeout(Duration::from_secs(365 * 86_400))
            .send_json(&json!({ "create_request": create }))
            .await
            .map_err(|e| self.failed(at, format!("watch: {e}")))?;
        if !resp.status().is_success() {
            return Err(self.failed(at, format!("watch: HTTP {}", resp.status().as_u16())));
        }
        Ok(watch_events(resp))
    }
}

/// The gateway streams one JSON object per watch response; a chunk may hold several or part of
/// one.
fn watch_events<S, E>(body: S) -> LocalBoxStream<'static, KeyEvent>
where
    S: futures_util::Stream<Item = Result<bytes_like::Bytes, E>> + 'static,
{
    let parsed = body
        .take_while(|chunk| std::future::ready(chunk.is_ok()))
        .filter_map(|chunk| std::future::ready(chunk.ok()))
        .scan(Vec::<u8>::new(), |buf, chunk| {
            buf.extend_from_slice(&chunk);
            let mut events = Vec::new();
            let mut consumed = 0;
            let mut it = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
            while let Some(Ok(v)) = it.next() {
                consumed = it.byte_offset();
                events.extend(events_in(&v));
            }
            buf.drain(..consumed);
            std::future::ready(Some(futures_util::stream::iter(events)))
        })
        .flatten();
    Box::pin(parsed)
}

/// Re-exported so the watch's body type is named once.
mod bytes_like {
    pub use actix_web::web::Bytes;
}

fn events_in(v: &Value) -> Vec<KeyEvent> {
    let Some(list) = v["result"]["events"].as_array() else {
        return Vec::new();
    };
    list.iter()
        .map(|e| {
            let revision = int(&e["kv"]["mod_revision"]).unwrap_or(0);
            match e["type"].as_str() {
                Some("DELETE") => KeyEvent::Deleted { revision },
                // PUT is the enum's zero value: the gateway leaves it out.
                _ => KeyEvent::Put {
                    value: unb64(&e["kv"]["value"]),
                    lease: int(&e["kv"]["lease"]).unwrap_or(0),
                    revision,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTP server on loopback answering every request with `status` and `body`.
    fn member(status: u16, body: &'static str) -> String {
        use actix_web::{http::StatusCode, web, App, HttpResponse, HttpServer};
        let server = HttpServer::new(move || {
            App::new().default_service(web::to(move || async move {
                HttpResponse::build(StatusCode::from_u16(status).unwrap())
                    .content_type("application/json")
                    .body(body)
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        actix_rt::spawn(server.run());
        format!("http://{addr}")
    }

    #[actix_rt::test]
    async fn a_member_answering_5xx_is_left_for_the_next_endpoint() {
        let sick = member(503, r#"{"error":"etcdserver: no leader","code":14}"#);
        let well = member(
            200,
            r#"{"header":{"revision":"9"},"kvs":[{"key":"L2s=","value":"cnVuLWE=","lease":"77"}]}"#,
        );
        let etcd = Etcd::new(vec![sick, well], Duration::from_millis(500));
        let first = etcd.read("/k").await.unwrap_err();
        assert!(first.what.contains("503"), "{first}");
        let second = etcd.read("/k").await.unwrap();
        assert_eq!(
            second,
            Some(BoundValue {
                value: "run-a".into(),
                lease: 77
            })
        );
    }

    #[actix_rt::test]
    async fn watch_responses_split_across_chunks_and_run_together_are_each_read_once() {
        let a = r#"{"result":{"header":{"revision":"2"},"created":true}}"#;
        let b = format!(
            r#"{{"result":{{"events":[{{"kv":{{"key":"{}","value":"{}","lease":"7","mod_revision":"3"}}}}]}}}}"#,
            b64("/k"),
            b64("run-a")
        );
        let c = r#"{"result":{"events":[{"type":"DELETE","kv":{"key":"L2s=","mod_revision":"4"}}]}}"#;
        let whole = format!("{a}\n{b}{c}\n");
        let (x, y) = whole.split_at(a.len() + 20);
        let chunks: Vec<Result<bytes_like::Bytes, ()>> = vec![Ok(x.to_string().into()), Ok(y.to_string().into())];
        let events: Vec<KeyEvent> = watch_events(futures_util::stream::iter(chunks)).collect().await;
        assert_eq!(
            events,
            vec![
                KeyEvent::Put {
                    value: "run-a".into(),
                    lease: 7,
                    revision: 3
                },
                KeyEvent::Deleted { revision: 4 }
            ]
        );
    }
}
