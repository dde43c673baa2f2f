//! bybit-sim: a Bybit-V5-compatible exchange for USDT linear perpetuals, served on loopback.
//!
//! A real HTTP + WebSocket server (REST with Bybit's signing, envelope, retCodes and rate-limit
//! headers; public and private streams) in front of one exchange state. Its market comes from a
//! source: a seeded random walk with resting synthetic liquidity (the default), a recording
//! replayed on its own clock, or a live Bybit public stream mirrored; resting orders fill by
//! the walk's takers or, on a real market, by the queue-position fill model. It runs embedded
//! ([`spawn`] with port 0) for paper trading and tests, or alone as the `bybit-sim` binary.
//! Faults (latency, hangs, 5xx, rate limits, dropped WebSockets, refused connections) can be
//! switched on at start or at run time under `/sim/`.
//!
//! - [`market`]: instruments, where the market comes from, and how its book is published;
//! - [`exchange`]: the state under one lock: markets, accounts, orders, and their views;
//! - [`matching`]: order actions, matching, fills, the market's tick, DCP;
//! - [`account`]: an account's settings and positions;
//! - [`api`]: REST, the WebSocket streams and the simulator's own `/sim/` routes;
//! - [`faults`]: what can be made to go wrong;
//! - [`server`]: starting, running and stopping it.

pub mod account;
pub mod api;
pub mod error;
pub mod exchange;
pub mod faults;
pub mod market;
pub mod matching;
pub mod server;
pub mod testkit;

pub use account::options::AccountOptions;
pub use api::rest::rate_limit::RateLimits;
pub use exchange::MarketParams;
pub use faults::Faults;
pub use server::{spawn, SimConfig, SimHandle};
