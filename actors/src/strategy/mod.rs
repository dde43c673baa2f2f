//! The Strategy actor: on each book change, the quotes the bot wants resting, handed to the
//! OrderManager; PnL, the risk limits and the kill switch. The arithmetic it calls is in
//! `market/`.

pub mod actor;
pub mod settings;

pub use actor::Strategy;
pub use settings::{QuoteOverride, StrategySettings};
