//! `/v5/public/linear`: orderbook (snapshot, then deltas with `u` +1 each), publicTrade, tickers.

use std::collections::HashMap;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::api::ws::session::{killed, limit_frames, malformed_answer, next_inbound, Inbound, IDLE_LIMIT};
use crate::exchange::PublicEvent;
use crate::market::feed::DEPTHS;
use crate::server::state::AppState;

/// Pseudo-topic of frames the admin injects: sent to every public connection as they are.
pub const INJECTED: &str = "*injected*";

pub async fn handler(state: web::Data<AppState>, req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(run(state.get_ref().clone(), session, limit_frames(stream)));
    Ok(response)
}

enum Topic {
    Book { depth: usize, symbol: String },
    Trades,
    Ticker { symbol: String },
}

fn parse_topic(state: &AppState, topic: &str) -> Option<Topic> {
    let parts: Vec<&str> = topic.split('.').collect();
    let known = |s: &str| state.exchange().markets.contains_key(s);
    match parts.as_slice() {
        ["orderbook", depth, symbol] => {
            let depth: usize = depth.parse().ok().filter(|d| DEPTHS.contains(d))?;
            known(symbol).then(|| Topic::Book {
                depth,
                symbol: symbol.to_string(),
            })
        }
        ["publicTrade", symbol] => known(symbol).then_some(Topic::Trades),
        ["tickers", symbol] => known(symbol).then(|| Topic::Ticker {
            symbol: symbol.to_string(),
        }),
        _ => None,
    }
}

async fn run(state: AppState, mut session: actix_ws::Session, mut stream: actix_ws::MessageStream) {
    let conn_id = state.next_conn_id();
    let mut events = state.exchange().public_tx.subscribe();
    let mut kill = state.ws_kill.subscribe();
    // topic → last `u` sent (0 for topics without update ids)
    let mut subs: HashMap<String, u64> = HashMap::new();
    let mut last_seen = Instant::now();
    let mut idle = tokio::time::interval(std::time::Duration::from_secs(30));
    let mut pending: std::collections::VecDeque<PublicEvent> = std::collections::VecDeque::new();
    loop {
        let next_visible = pending.front().map(|e| e.visible_at.unwrap_or_else(std::time::Instant::now));
        tokio::select! {
            inbound = next_inbound(&mut stream, &mut session, &mut last_seen) => match inbound {
                Inbound::Closed => break,
                Inbound::Nothing => {}
                Inbound::Malformed(why) => {
                    let _ = session.text(malformed_answer(&conn_id, &why)).await;
                }
                Inbound::Request(r) => {
                    let req_id = r.req_id.clone().unwrap_or(Value::from(""));
                    match r.op.as_str() {
                        "ping" => {
                            let pong = json!({"success": true, "ret_msg": "pong", "conn_id": conn_id, "req_id": req_id, "op": "ping"});
                            if session.text(pong.to_string()).await.is_err() { break; }
                        }
                        "subscribe" | "unsubscribe" => {
                            let topics: Vec<String> = r.args.iter().filter_map(|a| a.as_str().map(String::from)).collect();
                            let bad: Vec<&String> = topics.iter().filter(|t| parse_topic(&state, t).is_none()).collect();
                            let ret_msg = match bad.first() {
                                Some(t) => format!("error:handler not found,topic:{t}"),
                                None if topics.is_empty() => "error:args is empty".to_string(),
                                None => String::new(),
                            };
                            let ok = ret_msg.is_empty();
                            let answer = json!({"success": ok, "ret_msg": ret_msg, "conn_id": conn_id, "req_id": req_id, "op": r.op});
                            if session.text(answer.to_string()).await.is_err() { break; }
                            let mut failed = false;
                            for t in topics.iter().filter(|t| parse_topic(&state, t).is_some()) {
                                if r.op == "unsubscribe" {
                                    subs.remove(t);
                                } else if !subs.contains_key(t) && !send_snapshot(&state, &mut session, &mut subs, t).await {
                                    failed = true;
                                }
                            }
                            if failed { break; }
                        }
                        other => {
                            let answer = json!({"success": false, "ret_msg": format!("error:unknown op {other}"), "conn_id": conn_id, "req_id": req_id, "op": other});
                            if session.text(answer.to_string()).await.is_err() { break; }
                        }
                    }
                }
            },
            event = events.recv() => match event {
                Ok(e) => {
                    // A feed latency holds frames back; later ones wait behind them, in order.
                    let held = e.visible_at.is_some_and(|t| t > std::time::Instant::now());
                    if held || !pending.is_empty() {
                        pending.push_back(e);
                        continue;
                    }
                    if !deliver(&state, &mut session, &mut subs, e).await { break; }
                }
                Err(RecvError::Lagged(_)) => {
                    // This subscriber fell behind: resend snapshots of every book it follows.
                    let topics: Vec<String> = subs.keys().cloned().collect();
                    let mut failed = false;
                    for t in topics { if !send_snapshot(&state, &mut session, &mut subs, &t).await { failed = true; } }
                    if failed { break; }
                }
                Err(RecvError::Closed) => break,
            },
            _ = tokio::time::sleep_until(next_visible.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std)), if next_visible.is_some() => {
                let Some(e) = pending.pop_front() else { continue };
                if !deliver(&state, &mut session, &mut subs, e).await { break; }
            }
            _ = killed(&mut kill) => return,
            _ = idle.tick() => if last_seen.elapsed() > IDLE_LIMIT { break },
        }
    }
    let _ = session.close(None).await;
}

/// Send one published frame to a subscriber of its topic, or a fresh snapshot where it would
/// leave a gap. Returns false if the peer is gone.
async fn deliver(state: &AppState, session: &mut actix_ws::Session, subs: &mut HashMap<String, u64>, e: PublicEvent) -> bool {
    if e.topic == INJECTED {
        return session.text(e.text.to_string()).await.is_ok();
    }
    let Some(last) = subs.get(&e.topic).copied() else { return true };
    match e.u {
        // Older than the snapshot this subscriber got: skip.
        Some(u) if u <= last && !e.topic.starts_with("orderbook.1.") => true,
        // A gap: give the subscriber a fresh snapshot instead.
        Some(u) if u != last + 1 && !e.topic.starts_with("orderbook.1.") => send_snapshot(state, session, subs, &e.topic).await,
        _ => {
            if let Some(u) = e.u {
                subs.insert(e.topic.clone(), u);
            }
            session.text(e.text.to_string()).await.is_ok()
        }
    }
}

/// Send the current snapshot of a topic and remember its `u`. Returns false if the peer is gone.
async fn send_snapshot(state: &AppState, session: &mut actix_ws::Session, subs: &mut HashMap<String, u64>, topic: &str) -> bool {
    let now = state.exchange().now();
    let frame = match parse_topic(state, topic) {
        Some(Topic::Book { depth, symbol }) => state.exchange().book_snapshot(depth, &symbol, now).map(|(u, text)| (u, Some(text))),
        Some(Topic::Ticker { symbol }) => state.exchange().ticker_snapshot(&symbol, now).map(|t| (0, Some(t))),
        Some(Topic::Trades) => Some((0, None)),
        None => None,
    };
    let Some((u, text)) = frame else { return true };
    subs.insert(topic.to_string(), u);
    match text {
        Some(t) => session.text(t).await.is_ok(),
        None => true,
    }
}
