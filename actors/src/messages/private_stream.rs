//! What the private stream tells the OrderManager (order states, executions, positions, and
//! that it is ready), and the one thing a shutdown may tell the stream: close for good.

use actix::prelude::*;
use rust_decimal::Decimal;

use bybit_v5::rest::{Execution, OrderInfo};

/// Order states from the private stream.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct OrderUpdates(pub Vec<OrderInfo>);

#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Executions(pub Vec<Execution>);

#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Positions(pub Vec<(String, Decimal)>);

/// The private stream is authenticated and subscribed: fills and cancels (and, with DCP, the
/// exchange's dead-man switch) cover what we place from now on. No quote goes out before this.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct PrivateStreamReady;

/// Check every open order against the exchange now (e.g. after the private stream reconnected,
/// when updates may have been missed).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct ReconcileNow;

/// Close the private stream for good (no reconnect): the last resort of a shutdown whose cancels
/// all fail, so that the exchange's dead-man switch fires.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct ClosePrivateStream;
