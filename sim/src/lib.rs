//! bybit-sim: a Bybit-V5-compatible exchange for USDT linear perpetuals, served on loopback.
//!
//! A real HTTP + WebSocket server (REST with Bybit's signing, envelope, retCodes and rate-limit
//! headers; public and private streams), driven by a seeded random-walk market with resting
//! synthetic liquidity and taker trades that fill resting orders. It runs embedded
//! ([`spawn`] with port 0) for paper trading and tests, or alone as the `bybit-sim` binary.
//! Faults (latency, hangs, 5xx, rate limits, dropped WebSockets, refused connections) can be
//! switched on at start or at run time under `/sim/`.

pub mod account_options;
pub mod account_state;
pub mod admin;
pub mod admin_account;
pub mod auth;
pub mod cancel_all;
pub mod conditional;
pub mod error;
pub mod exchange;
pub mod faults;
pub mod feed;
pub mod instrument;
pub mod matching;
pub mod order_ops;
pub mod position;
pub mod rate_limit;
pub mod rest;
pub mod rest_position;
pub mod server;
pub mod state;
pub mod synthetic;
pub mod testkit;
pub mod ws_private;
pub mod ws_public;
pub mod ws_session;
pub mod ws_trade;

pub use account_options::AccountOptions;
pub use exchange::MarketParams;
pub use faults::Faults;
pub use rate_limit::RateLimits;
pub use server::{spawn, SimConfig, SimHandle};
