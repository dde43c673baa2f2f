//! The link to the exchange: signed REST (`rest_client`) behind the RestConnector actor,
//! the public and private WebSocket streams behind the WsConnector actor, the trade WebSocket
//! for order entry, the HTTP client every call shares, the secret and the requests in flight.

pub mod backoff;
pub mod http_client;
pub mod in_flight;
mod liveness;
mod private_stream;
mod public_stream;
pub mod rest_client;
pub mod rest_connector;
pub mod secret;
pub mod trade_link;
pub mod ws_connector;
pub mod ws_trade_client;
