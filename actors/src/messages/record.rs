//! What the Recorder is told: record an event, or flush what it holds to disk.

use actix::prelude::*;

use crate::messages::events::Event;

/// Record one event.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Record(pub Event);

/// Flush and fsync now; answers once the data is on disk.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<(), String>")]
pub struct Flush;

/// A public-stream frame as received, for the market tape (`[recorder] market = true`): written
/// in the market-data format so the run can be replayed as the bot saw it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct TapeFrame {
    /// Local receive time, nanoseconds since the Unix epoch.
    pub local_ns: u64,
    pub symbol: String,
    pub text: String,
}
