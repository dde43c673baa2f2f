//! Bybit's WebSocket endpoints: public market data, the private account stream, and order entry.

pub mod private;
pub mod public;
pub mod session;
pub mod trade;
