//! mmbot's actors and the pure logic they stand on, one folder per concern (see
//! `docs/architecture.md`), in layers: a folder imports only from the layers above it in this
//! list, so no two folders import each other (`tests/module_graph.rs` keeps it so):
//!
//! - pure logic: [`market`] (book, quoting, risk, PnL), [`orders`] (the order table, diffs,
//!   batches, cancel paths), [`budget`] (the exchange's request budget), [`telemetry`] (metrics,
//!   process readings);
//! - [`messages`]: what the actors say to each other, the `Stop` they all answer, the report,
//!   the status view and the recorded events;
//! - the actors: [`exchange`] (RestConnector, WsConnector), [`account`] (AccountWatch: the
//!   exchange's positions and executions), [`strategy`] (Strategy),
//!   [`shutdown`] (Signal, Supervisor, the flattener), [`order_manager`] (OrderManager),
//!   [`observe`] (WebServer, Monitor, Recorder), [`market_thread`] (busy polling, rehearsal),
//!   [`ha`] (the Elector: an etcd lease decides which of two instances quotes);
//! - [`fault_injection`]: the tests' panic switch, compiled into debug builds only.

pub mod account;
pub mod budget;
pub mod exchange;
pub mod fault_injection;
pub mod ha;
pub mod market;
pub mod market_thread;
pub mod messages;
pub mod observe;
pub mod order_manager;
pub mod orders;
pub mod shutdown;
pub mod strategy;
pub mod telemetry;
