//! `/v5/trade`: Bybit's order-entry WebSocket (shared/bybit-v5-reference.md §5.7). Auth as on
//! the private socket; then `order.create`, `order.amend`, `order.cancel` and their `-batch`
//! forms, each answered in retCode style with `reqId` echoed (when sent), the rate-limit `header`
//! and the connection id. Budgets are the REST twins' (`order.create-batch` spends from
//! `/v5/order/create-batch`), as Bybit shares them. Faults: `hang` with `/v5/trade` (every op) or
//! `/v5/trade:order.cancel` (one op) accepts and never answers; `rate_limit` with the op's REST
//! path (its budget) or `/v5/trade:OP` answers 10006; latency applies per `/v5/trade`;
//! `/sim/ws/drop` drops these connections too.

use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::api::rest::rate_limit::Budget;
use crate::api::ws::session::{killed, limit_frames, IDLE_LIMIT};
use crate::exchange::now_ms;
use crate::matching::order_ops::{self, OrderOp};
use crate::server::state::AppState;

/// The fault key of the whole socket; `/v5/trade:OP` names one op.
pub const FAULT_PATH: &str = "/v5/trade";

pub async fn handler(state: web::Data<AppState>, req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(run(state.get_ref().clone(), session, limit_frames(stream)));
    Ok(response)
}

/// One connection's state.
struct Conn {
    id: String,
    account: Option<usize>,
    req_ids: HashSet<String>,
}

fn header(budget: Option<Budget>, now: u64) -> Value {
    let mut h = json!({"Traceid": format!("{now:x}"), "Timenow": now.to_string()});
    if let Some(b) = budget {
        h["X-Bapi-Limit"] = Value::from(b.limit.to_string());
        h["X-Bapi-Limit-Status"] = Value::from(b.remaining.to_string());
        h["X-Bapi-Limit-Reset-Timestamp"] = Value::from(b.reset_ms.to_string());
    }
    h
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A control or order answer: `retCode`/`retMsg`/`op`, `connId`, and `reqId` when the client sent one.
fn answer(conn: &Conn, req_id: &Option<Value>, op: &str, code: i64, msg: &str) -> Value {
    let mut a = json!({"retCode": code, "retMsg": msg, "op": op, "connId": conn.id});
    if let Some(id) = req_id {
        a["reqId"] = id.clone();
    }
    a
}

fn auth(state: &AppState, conn: &mut Conn, args: &[Value]) -> (i64, &'static str) {
    if conn.account.is_some() {
        return (20001, "Repeat auth");
    }
    let [key, expires, signature] = args else {
        return (10001, "Params Error");
    };
    let (Some(key), Some(expires), Some(signature)) = (key.as_str(), number(expires), signature.as_str()) else {
        return (10001, "Params Error");
    };
    if expires < now_ms() {
        return (10001, "Params Error");
    }
    if state.faults().reject_ws_auth {
        return (10003, "Invalid apiKey");
    }
    let ex = state.exchange();
    let Some(account) = ex.account_by_key(key) else {
        return (10003, "Invalid apiKey");
    };
    if !bybit_v5::sign::verify(&ex.accounts[account].secret, &format!("GET/realtime{expires}"), signature) {
        return (10004, "Signature verification failed");
    }
    conn.account = Some(account);
    (0, "OK")
}

/// The header's timestamp against the receive window, as REST checks it.
fn check_timestamp(frame: &Value, now: u64) -> Result<(), (i64, String)> {
    let h = &frame["header"];
    let ts = number(&h["X-BAPI-TIMESTAMP"]).ok_or((10001, "header X-BAPI-TIMESTAMP is required".to_string()))?;
    let window = number(&h["X-BAPI-RECV-WINDOW"]).filter(|w| *w > 0).unwrap_or(5000);
    if ts + window < now || ts > now + 1000 {
        return Err((
            10002,
            format!("invalid request, please check your server timestamp or recv_window param. req_timestamp[{ts}],server_timestamp[{now}],recv_window[{window}]"),
        ));
    }
    Ok(())
}

/// An order op: the answer to send, or None while a `hang` fault holds it.
fn order_op(state: &AppState, conn: &mut Conn, op: OrderOp, op_name: &str, frame: &Value, req_id: &Option<Value>) -> Option<Value> {
    let faults = state.faults();
    if faults.hang.contains(FAULT_PATH) || faults.hang.contains(&format!("{FAULT_PATH}:{op_name}")) {
        return None;
    }
    let now = now_ms();
    let Some(account) = conn.account else {
        return Some(answer(conn, req_id, op_name, 10003, "Request not authorized"));
    };
    if let Some(id) = req_id {
        let text = id.as_str().map(String::from).unwrap_or_else(|| id.to_string());
        if text.len() > 36 {
            return Some(answer(conn, req_id, op_name, 10001, "reqId is longer than 36 characters"));
        }
        if !conn.req_ids.insert(text) {
            return Some(answer(conn, req_id, op_name, 20006, "reqId is duplicated"));
        }
    }
    if let Err((code, msg)) = check_timestamp(frame, now) {
        return Some(answer(conn, req_id, op_name, code, &msg));
    }
    let Some([request]) = frame["args"].as_array().map(Vec::as_slice) else {
        return Some(answer(
            conn,
            req_id,
            op_name,
            10001,
            "params error: args must hold exactly one object",
        ));
    };
    let mut ex = state.exchange();
    // A 10006 fault on the budget's REST path holds this op too: the budget is one.
    let refused = faults.rate_limit.contains(op.path()) || faults.rate_limit.contains(&format!("{FAULT_PATH}:{op_name}"));
    let (granted, budget) = if refused {
        let limit = state.limits.limit_for(op.path());
        let budget = Budget {
            limit,
            remaining: 0,
            reset_ms: now + 1000,
        };
        (0, budget)
    } else {
        crate::api::rest::spend(state, &mut ex, account, op.path(), op.units(request), now)
    };
    let mut a = if granted == 0 {
        answer(conn, req_id, op_name, 10006, "Too many visits!")
    } else if ex.accounts[account].options.read_only {
        let e = crate::api::rest::read_only_refusal();
        answer(conn, req_id, op_name, e.code.code(), &e.msg)
    } else {
        let stamp = ex.now();
        let (result, ext) = order_ops::execute(op, &mut ex, account, request, granted, faults.refuse_amends, stamp);
        match result {
            Ok(data) => {
                let mut a = answer(conn, req_id, op_name, 0, "OK");
                a["data"] = data;
                a["retExtInfo"] = ext.unwrap_or_else(|| json!({}));
                a
            }
            Err(e) => answer(conn, req_id, op_name, e.code.code(), &e.msg),
        }
    };
    if a.get("data").is_none() {
        a["data"] = json!({});
        a["retExtInfo"] = json!({});
    }
    a["header"] = header(Some(budget), now);
    Some(a)
}

/// The answer to one client frame (None: no answer, as under a `hang` fault).
fn handle_frame(state: &AppState, conn: &mut Conn, text: &str) -> Option<Value> {
    let frame: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Some(answer(conn, &None, "", 10001, "error:invalid request: not a JSON object")),
    };
    let req_id = frame.get("reqId").cloned();
    let op = frame["op"].as_str().unwrap_or("").to_string();
    match op.as_str() {
        "ping" => {
            let mut a = answer(conn, &req_id, "pong", 0, "OK");
            a["data"] = json!([now_ms().to_string()]);
            Some(a)
        }
        "auth" => {
            let args = frame["args"].as_array().cloned().unwrap_or_default();
            let (code, msg) = auth(state, conn, &args);
            Some(answer(conn, &req_id, "auth", code, msg))
        }
        name => match OrderOp::from_ws(name) {
            Some(o) => order_op(state, conn, o, name, &frame, &req_id),
            None => Some(answer(conn, &req_id, name, 10404, "op not found")),
        },
    }
}

/// Count an order op in `/sim/stats` as `/v5/trade:OP` (the fault key), beside the REST paths.
fn record(state: &AppState, text: &str) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else { return };
    let Some(op) = frame["op"].as_str().filter(|op| OrderOp::from_ws(op).is_some()) else {
        return;
    };
    state
        .stats
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .record(&format!("{FAULT_PATH}:{op}"), crate::server::state::now_us());
}

async fn run(state: AppState, mut session: actix_ws::Session, mut stream: actix_ws::MessageStream) {
    use futures_util::StreamExt;
    let mut conn = Conn {
        id: state.next_conn_id(),
        account: None,
        req_ids: HashSet::new(),
    };
    let mut kill = state.ws_kill.subscribe();
    let mut last_seen = Instant::now();
    let mut idle = tokio::time::interval(std::time::Duration::from_secs(30));
    // Simulated latency delays each frame, not the frames behind it: a pipe, as a network is.
    let mut due: VecDeque<(tokio::time::Instant, String)> = VecDeque::new();
    loop {
        let next_due = due.front().map(|(t, _)| *t);
        tokio::select! {
            msg = stream.next() => {
                let Some(Ok(msg)) = msg else { break };
                last_seen = Instant::now();
                let text = match msg {
                    actix_ws::Message::Text(t) => t.to_string(),
                    actix_ws::Message::Ping(b) => {
                        if session.pong(&b).await.is_err() { break }
                        continue;
                    }
                    actix_ws::Message::Close(_) => break,
                    _ => continue,
                };
                record(&state, &text);
                let latency = std::time::Duration::from_millis(state.faults().latency_for(FAULT_PATH)) + state.order_latency;
                if latency.is_zero() && due.is_empty() {
                    // No timer on the way (tokio's resolution is 1 ms).
                    if let Some(a) = handle_frame(&state, &mut conn, &text) {
                        if session.text(a.to_string()).await.is_err() { break }
                    }
                    continue;
                }
                due.push_back((tokio::time::Instant::now() + latency, text));
            }
            _ = tokio::time::sleep_until(next_due.unwrap_or_else(tokio::time::Instant::now)), if next_due.is_some() => {
                let Some((_, text)) = due.pop_front() else { continue };
                if let Some(a) = handle_frame(&state, &mut conn, &text) {
                    if session.text(a.to_string()).await.is_err() { break }
                }
            }
            _ = killed(&mut kill) => return,
            _ = idle.tick() => if last_seen.elapsed() > IDLE_LIMIT { break },
        }
    }
    let _ = session.close(None).await;
}
