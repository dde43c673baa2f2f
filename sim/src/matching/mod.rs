//! Matching: order actions with Bybit's checks, takers walking the book, fills with positions and
//! balances, the synthetic market's step, conditional orders, cancel-all and DCP. Plain methods
//! on the exchange, under its one lock.

pub mod cancel_all;
pub mod conditional;
mod dcp;
mod fill;
pub mod order_ops;
mod orders;
mod real_market;
pub(crate) mod take;
mod tick;

pub use orders::EC_POST_ONLY;

#[cfg(test)]
mod real_market_tests;
#[cfg(test)]
mod tests;
