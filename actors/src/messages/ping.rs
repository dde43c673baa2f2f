//! The Monitor's probe of an actor's mailbox: the time to answer a `Ping` is the actor's lag.

use actix::prelude::*;

/// Answered as soon as the actor gets to it.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct Ping;

/// `impl Handler<Ping>` for an actor that has nothing else to do with it; each actor says so
/// in its own module.
#[macro_export]
macro_rules! answers_ping {
    ($actor:ty) => {
        impl actix::Handler<$crate::messages::ping::Ping> for $actor {
            type Result = ();
            fn handle(&mut self, _: $crate::messages::ping::Ping, _: &mut Self::Context) {}
        }
    };
}
