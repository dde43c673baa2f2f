//! What both WebSocket endpoints share: reading client frames with a size cap, answering
//! control pings, the idle cut-off, and the admin "drop every connection" signal.

use std::time::{Duration, Instant};

use actix_ws::{Message, MessageStream, Session};
use futures_util::StreamExt;
use tokio::sync::broadcast;

use bybit_v5::ws::{WsRequest, MAX_FRAME_BYTES};

/// Bybit cuts a connection that sent nothing for ten minutes.
pub const IDLE_LIMIT: Duration = Duration::from_secs(600);

/// One step of reading the client side.
pub enum Inbound {
    Request(WsRequest),
    /// Text that is not a valid op: answered with an error, connection kept.
    Malformed(String),
    Closed,
    Nothing,
}

/// Read the next client frame, answering control pings on the way.
pub async fn next_inbound(stream: &mut MessageStream, session: &mut Session, last_seen: &mut Instant) -> Inbound {
    match stream.next().await {
        None | Some(Err(_)) => Inbound::Closed,
        Some(Ok(msg)) => {
            *last_seen = Instant::now();
            match msg {
                Message::Text(text) => match serde_json::from_str::<WsRequest>(&text) {
                    Ok(r) => Inbound::Request(r),
                    Err(e) => Inbound::Malformed(e.to_string()),
                },
                Message::Ping(bytes) => {
                    if session.pong(&bytes).await.is_err() {
                        return Inbound::Closed;
                    }
                    Inbound::Nothing
                }
                Message::Close(_) => Inbound::Closed,
                Message::Binary(_) => Inbound::Malformed("binary frames are not supported".into()),
                _ => Inbound::Nothing,
            }
        }
    }
}

pub fn limit_frames(stream: MessageStream) -> MessageStream {
    stream.max_frame_size(MAX_FRAME_BYTES)
}

/// Resolves when the admin asks to drop every connection.
pub async fn killed(rx: &mut broadcast::Receiver<()>) {
    loop {
        match rx.recv().await {
            Ok(()) => return,
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

/// The answer to a frame that is not a valid op; the connection stays open.
pub fn malformed_answer(conn_id: &str, why: &str) -> String {
    serde_json::json!({"success": false, "ret_msg": format!("error:invalid request: {why}"), "conn_id": conn_id, "op": ""}).to_string()
}

pub fn now_ms_string() -> String {
    crate::exchange::now_ms().to_string()
}
