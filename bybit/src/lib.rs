//! Bybit V5 wire protocol for USDT linear perpetuals: request signing, the response envelope,
//! typed REST requests and answers, typed WebSocket frames and the retCodes an engine must tell
//! apart. No I/O lives here: the simulator (server side) and mmbot (client side) both build on
//! these types, so the two can only disagree about the protocol by disagreeing with this crate.

pub mod codes;
pub mod envelope;
pub mod execution_item;
pub mod lenient;
pub mod limits;
pub mod model;
pub mod order_item;
pub mod position_item;
pub mod rest;
pub mod sign;
pub mod wallet_item;
pub mod ws;

pub use codes::RetCode;
pub use envelope::Envelope;
pub use model::{Category, OrderStatus, OrderType, Side, TimeInForce};
