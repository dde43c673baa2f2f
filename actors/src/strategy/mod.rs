//! The Strategy actor: on each book change, the quotes the bot wants resting, handed to the
//! OrderManager; PnL, the risk limits and the kill switch. The arithmetic it calls is in
//! `market/`; its decisions are the plain `Quoter`, which the backtest drives too.

pub mod actor;
pub mod quote_memo;
pub mod quoter;
pub mod settings;

pub use actor::Strategy;
pub use quoter::{Pace, Quoter};
pub use settings::{QuoteOverride, StrategySettings};
