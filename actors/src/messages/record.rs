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
