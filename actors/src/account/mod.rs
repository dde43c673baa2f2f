//! The account as the exchange knows it: positions (every row, hedge rows netted), the bot's
//! executions exactly once (its PnL counting only its own: `pnl_scope`), and the checks that keep the bot's picture equal to the exchange's —
//! read before the first quote, after every private-stream gap, and on a schedule. The
//! AccountWatch actor lives here: the private stream's executions and positions pass through it
//! on their way to the Strategy and the OrderManager.

pub mod fill_ledger;
pub mod pnl_scope;
pub mod reads;
pub mod watch;
