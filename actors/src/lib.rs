//! mmbot's actors and the pure logic they stand on.
//!
//! Actors (one module each, owning its settings and its handlers): [`signal`], [`supervisor`],
//! [`order_manager`], [`strategy`], [`ws_connector`], [`rest_connector`], [`web_server`],
//! [`recorder`], [`monitor`]. They do not know each other: what they say to one another is in
//! [`messages`] (plus [`stop`] and [`status`]), and each holds `Recipient<M>` for what it sends,
//! wired in one place by the application. Pure logic the tests call without an actor system:
//! [`book`], [`quoting`], [`order_diff`], [`orders`], [`link_id`], [`report`].

pub mod batch_body;
pub mod book;
pub mod busy_poll;
pub mod cancel_path;
pub mod events;
pub mod exit_positions;
pub mod flatten;
pub mod history;
pub mod hot_path_rehearsal;
pub mod http_client;
pub mod in_flight;
pub mod last_shutdown;
pub mod link_id;
pub mod messages;
pub mod metrics;
pub mod metrics_text;
pub mod monitor;
pub mod order_diff;
pub mod order_manager;
pub mod orders;
pub mod pnl;
pub mod quoting;
pub mod rate_governor;
pub mod recorder;
pub mod report;
pub mod requote_plan;
pub mod resources;
pub mod rest_client;
pub mod rest_connector;
pub mod risk;
pub mod secret;
pub mod signal;
pub mod status;
pub mod status_stream;
pub mod stop;
pub mod strategy;
pub mod supervisor;
pub mod trade_link;
pub mod volatility;
pub mod web_server;
pub mod ws_connector;
pub mod ws_trade_client;
