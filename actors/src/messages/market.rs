//! What the streams tell the Strategy: the book's top, positions and the bot's fills.

use std::time::Instant;

use actix::prelude::*;
use rust_decimal::Decimal;

use bybit_v5::rest::Execution;

use crate::market::book::Top;

/// The book's top changed (None: the book is lost until the next snapshot).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct BookUpdate {
    pub symbol: String,
    pub top: Option<Top>,
    pub received_at: Instant,
}

/// The exchange's view of a position (signed size in base units).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct PositionUpdate {
    pub symbol: String,
    pub size: Decimal,
}

/// The bot's executions, for PnL and the kill switch.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Fills(pub Vec<Execution>);
