//! The market as the bot sees it and the arithmetic of quoting it: the local order book, the
//! quotes wanted for a book and a position, the net position of the exchange's rows, volatility, the risk limits and PnL. Pure logic, no
//! actor: the Strategy (`strategy/`) and the market thread's rehearsal call it.

pub mod book;
pub mod bounded_memo;
pub mod exact;
pub mod net_position;
pub mod pnl;
pub mod quoting;
pub mod risk;
pub mod steps;
pub mod volatility;
