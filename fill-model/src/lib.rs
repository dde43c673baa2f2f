//! Fills for orders resting in a market they do not move (a replayed or mirrored real market,
//! and the backtest): the market's book and trades go on as recorded, and each resting order of
//! ours is filled by the rules below. One implementation, called by bybit-sim and the backtest.
//! The rules and the queue models are hftbacktest's, stated in its words (docs/simulator.md
//! "Fill model"), so the two can be compared:
//!
//! - a new order joins the back of its price level: the queue ahead of it is the level's
//!   quantity when it arrives;
//! - **risk-averse** (`risk_averse`): "your order's queue position advances only when trades
//!   occur at the same price level"; a level that shrinks below the queue ahead caps it;
//! - **power probability** (`prob_power:N`): "your order's queue position advances when a trade
//!   occurs at the same price level or the quantity at the level decreases"; a decrease not
//!   explained by trades is split between ahead and behind with the probability
//!   `f(back) / (f(back) + f(front))`, `f(x) = x^N`;
//! - only trades whose aggressor is on the other side count: a trade **through** the price
//!   fills the order; a trade **at** the price fills what exceeds the queue ahead, partially;
//!   the opposite best price **crossing** the order's price fills it.

pub mod queue;
pub mod resting;

pub use queue::{QueueModel, QueuePos};
pub use resting::{Resting, Side};
