//! What operators see and keep: the control server (WebServer actor: dashboard, `/status`,
//! `/events`, `/history`, `/metrics`, `POST /shutdown`), the Monitor actor (mailbox lag,
//! process readings) and the Recorder actor (the JSONL audit trail).

pub mod control_auth;
pub mod history;
pub mod market_tape;
pub mod monitor;
pub mod recorder;
pub mod status_stream;
pub mod web_server;
