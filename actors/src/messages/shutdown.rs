//! Asking for a shutdown (signal, `POST /shutdown`, a fatal error), forcing one, and the
//! forced exit's question to the OrderManager: which orders may still be live.

use std::collections::BTreeMap;

use actix::prelude::*;

/// Why the bot is stopping.
#[derive(Debug, Clone, PartialEq)]
pub enum ShutdownSource {
    Signal(&'static str),
    Http,
    /// Something the bot cannot run with (e.g. the private stream refused its credentials).
    Fatal(String),
    /// The bot could not finish starting.
    StartupFailure(String),
    /// A thread panicked: "<message> at <file:line:col>" (the panic hook).
    Panic(String),
    /// The recorder cannot write and `recorder.on_write_failure = "stop"`.
    RecorderFailure(String),
    /// A risk limit tripped the kill switch: recorded in the data directory, it stays tripped.
    KillSwitch(String),
}

impl std::fmt::Display for ShutdownSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShutdownSource::Signal(s) => write!(f, "{s}"),
            ShutdownSource::Http => write!(f, "POST /shutdown"),
            ShutdownSource::Fatal(e) => write!(f, "fatal error: {e}"),
            ShutdownSource::StartupFailure(e) => write!(f, "startup failed: {e}"),
            ShutdownSource::Panic(e) => write!(f, "panic: {e}"),
            ShutdownSource::RecorderFailure(e) => write!(f, "recorder cannot write: {e}"),
            ShutdownSource::KillSwitch(e) => write!(f, "{e}"),
        }
    }
}

/// Every way of stopping comes to the Supervisor as this.
#[derive(Debug, Clone, Message)]
#[rtype(result = "ShutdownTicket")]
pub struct RequestShutdown {
    pub source: ShutdownSource,
}

/// The shutdown's id, and whether one was already under way.
#[derive(Debug, Clone, MessageResponse)]
pub struct ShutdownTicket {
    pub shutdown_id: String,
    pub already_started: bool,
}

/// Second signal: abandon the current step, flush the recorder, exit with code 5.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct Force;

/// The bot's orders that may be live, per symbol: what the exchange listed last during the
/// shutdown, else what the bot tracks. For a forced exit, which cannot wait for the exchange.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "BTreeMap<String, Vec<String>>")]
pub struct BelievedOpen;
