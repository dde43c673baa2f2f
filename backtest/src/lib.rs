//! A backtest of mmbot's own quoting code on recorded market data, on a virtual clock: the
//! Strategy's `Quoter` (models, levels, skew, risk limits, kill switch, requote pacing), the
//! OrderManager's diff and requote plan with its requote tolerance, and the rate governor with
//! its deferrals — the same functions `mmbot run` calls — against a venue that applies the
//! recording's book and trades and fills resting orders by the `fill-model` crate (bybit-sim's
//! fill model on a replay). Order-entry and feed latencies are simulated. The same inputs give
//! the same report, byte for byte, but for `wall_ms`.
//!
//! - [`engine`]: the event loop (the tape, the venue, the bot, timed events);
//! - [`venue`]: the simulated exchange: books, our resting orders, fills, funding;
//! - [`resting_orders`]: our orders at the venue, by link id;
//! - [`bot`]: the bot's decisions on the virtual clock;
//! - [`collect`]: what happened, as it happens;
//! - [`budget_use`]: how close the requests came to the exchange's budget;
//! - [`ratio_memo`]: distances in basis points, each pair of prices divided once;
//! - [`report`]: the report (JSON), its summary, chart, fills CSV and comparison.

pub mod bot;
pub mod budget_use;
pub mod collect;
pub mod engine;
pub mod ratio_memo;
pub mod report;
pub mod resting_orders;
pub mod schedule;
pub mod settings;
pub mod venue;

pub use engine::run;
pub use report::Report;
pub use settings::Settings;
