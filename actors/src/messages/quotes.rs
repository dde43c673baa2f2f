//! What the Strategy asks of the OrderManager: the quotes it wants resting for a symbol.

use std::time::Instant;

use actix::prelude::*;

use crate::market::quoting::Quote;

#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct DesiredQuotes {
    pub symbol: String,
    pub quotes: Vec<Quote>,
    /// When the book update behind these quotes was received (for tick-to-request latency).
    pub tick: Option<Instant>,
}
