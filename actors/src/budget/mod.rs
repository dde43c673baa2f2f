//! The exchange's request budget: Bybit's per-endpoint, per-UID and per-IP windows, and the
//! governor that admits, defers or refuses each request so none is answered 10006 or banned.
//! Pure logic shared by every client of the exchange.

mod admission;
pub mod handover;
pub mod rate_governor;
pub mod round_trips;
mod settings;
mod snapshot;
mod window;
