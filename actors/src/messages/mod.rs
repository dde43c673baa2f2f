//! What the actors say to each other. Actors depend on these types, not on one another: each
//! holds `Recipient<M>` for what it sends, wired in one place (the application), and handles
//! what it receives in its own module.

pub mod market;
pub mod ping;
pub mod private_stream;
pub mod quotes;
pub mod record;
pub mod shutdown;
