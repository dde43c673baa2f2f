//! `/v5/private`: auth, then order / execution / position / wallet / dcp topics. A connection
//! subscribed to a `dcp.*` topic keeps the account's disconnect-cancel-all armed while it lives.

use std::collections::HashSet;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use tokio::sync::broadcast::{self, error::RecvError};

use bybit_v5::sign;

use crate::api::ws::session::{killed, limit_frames, malformed_answer, next_inbound, now_ms_string, Inbound, IDLE_LIMIT};
use crate::exchange::{now_ms, PrivateEvent};
use crate::server::state::AppState;

const TOPICS: [&str; 12] = [
    "order",
    "execution",
    "position",
    "wallet",
    "order.linear",
    "execution.linear",
    "position.linear",
    "dcp",
    "dcp.future",
    "dcp.spot",
    "dcp.option",
    "greeks",
];

pub async fn handler(state: web::Data<AppState>, req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(run(state.get_ref().clone(), session, limit_frames(stream)));
    Ok(response)
}

/// Keeps DCP armed while alive; its drop (clean close, drop, server stop) starts the DCP timer.
struct DcpGuard {
    state: AppState,
    account: usize,
}

impl Drop for DcpGuard {
    fn drop(&mut self) {
        self.state.exchange().dcp_connection(self.account, false, now_ms());
    }
}

/// The family a private event belongs to, as a subscription names it.
fn wanted(subs: &HashSet<String>, event: &PrivateEvent) -> bool {
    subs.contains(event.topic) || subs.contains(&format!("{}.linear", event.topic))
}

fn check_auth(state: &AppState, args: &[Value]) -> Result<usize, &'static str> {
    let [key, expires, signature] = args else {
        return Err("Params Error");
    };
    let key = key.as_str().ok_or("Params Error")?;
    let expires: u64 = match expires {
        Value::Number(n) => n.as_u64().ok_or("Params Error")?,
        Value::String(s) => s.parse().map_err(|_| "Params Error")?,
        _ => return Err("Params Error"),
    };
    let signature = signature.as_str().ok_or("Params Error")?;
    if expires < now_ms() {
        return Err("Params Error");
    }
    if state.faults().reject_ws_auth {
        return Err("Invalid apiKey");
    }
    let ex = state.exchange();
    let account = ex.account_by_key(key).ok_or("Invalid apiKey")?;
    let text = format!("GET/realtime{expires}");
    if !sign::verify(&ex.accounts[account].secret, &text, signature) {
        return Err("Signature verification failed");
    }
    Ok(account)
}

async fn run(state: AppState, mut session: actix_ws::Session, mut stream: actix_ws::MessageStream) {
    let conn_id = state.next_conn_id();
    let mut kill = state.ws_kill.subscribe();
    let mut account: Option<usize> = None;
    let mut events: Option<broadcast::Receiver<PrivateEvent>> = None;
    let mut subs: HashSet<String> = HashSet::new();
    let mut dcp_guard: Option<DcpGuard> = None;
    let mut last_seen = Instant::now();
    let mut idle = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        let next_event = async {
            match events.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            inbound = next_inbound(&mut stream, &mut session, &mut last_seen) => match inbound {
                Inbound::Closed => break,
                Inbound::Nothing => {}
                Inbound::Malformed(why) => {
                    let _ = session.text(malformed_answer(&conn_id, &why)).await;
                }
                Inbound::Request(r) => {
                    if let (Some(a), Some(_)) = (account, &dcp_guard) {
                        state.exchange().dcp_heartbeat(a, now_ms());
                    }
                    if state.with_faults(|f| f.silent_private) {
                        continue;
                    }
                    let req_id = r.req_id.clone();
                    let mut answer = match r.op.as_str() {
                        "ping" => json!({"op": "pong", "args": [now_ms_string()], "conn_id": conn_id}),
                        "auth" if account.is_some() => json!({"success": false, "ret_msg": "Repeat auth", "op": "auth", "conn_id": conn_id}),
                        "auth" => match check_auth(&state, &r.args) {
                            Ok(a) => {
                                account = Some(a);
                                events = Some(state.exchange().accounts[a].tx.subscribe());
                                json!({"success": true, "ret_msg": "", "op": "auth", "conn_id": conn_id})
                            }
                            Err(msg) => json!({"success": false, "ret_msg": msg, "op": "auth", "conn_id": conn_id}),
                        },
                        "subscribe" | "unsubscribe" => match account {
                            None => json!({"success": false, "ret_msg": "Request not authorized", "op": r.op, "conn_id": conn_id}),
                            Some(a) => {
                                let topics: Vec<String> = r.args.iter().filter_map(|v| v.as_str().map(String::from)).collect();
                                // An account without DCP enabled cannot subscribe a `dcp.*` topic, and
                                // the whole request fails with it (Bybit answers one subscribe once).
                                let dcp_enabled = state.exchange().accounts[a].options.dcp;
                                let refused = |t: &&String| !TOPICS.contains(&t.as_str()) || (!dcp_enabled && t.starts_with("dcp"));
                                match topics.iter().find(refused) {
                                    Some(bad) => json!({"success": false, "ret_msg": format!("error:handler not found,topic:{bad}"), "op": r.op, "conn_id": conn_id}),
                                    None => {
                                        for t in topics {
                                            if r.op == "subscribe" { subs.insert(t); } else { subs.remove(&t); }
                                        }
                                        let wants_dcp = subs.iter().any(|t| t.starts_with("dcp"));
                                        if wants_dcp && dcp_guard.is_none() {
                                            state.exchange().dcp_connection(a, true, now_ms());
                                            dcp_guard = Some(DcpGuard { state: state.clone(), account: a });
                                        } else if !wants_dcp {
                                            dcp_guard = None;
                                        }
                                        json!({"success": true, "ret_msg": "", "op": r.op, "conn_id": conn_id})
                                    }
                                }
                            }
                        },
                        other => json!({"success": false, "ret_msg": format!("error:unknown op {other}"), "op": other, "conn_id": conn_id}),
                    };
                    if let Some(id) = req_id {
                        answer["req_id"] = id;
                    }
                    if session.text(answer.to_string()).await.is_err() { break; }
                }
            },
            event = next_event => match event {
                Ok(e) => {
                    let held = state.with_faults(|f| f.withhold_private || f.silent_private);
                    if !held && wanted(&subs, &e) && session.text(e.text.to_string()).await.is_err() { break }
                }
                // A subscriber that fell behind has lost updates: close so it reconnects and reconciles.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => break,
            },
            _ = killed(&mut kill) => return,
            _ = idle.tick() => if last_seen.elapsed() > IDLE_LIMIT { break },
        }
    }
    let _ = session.close(None).await;
}
