//! Signal: SIGINT and SIGTERM. The first starts the shutdown; the second forces the exit.
//! The handlers are installed before anything else starts ([`Signals::install`]), so a signal
//! during startup is never the default "terminate at once".

use actix::prelude::*;
use futures_util::stream::{self, StreamExt};
use tokio::signal::unix::{signal, SignalKind};

use crate::messages::shutdown::{Force, RequestShutdown, ShutdownSource};

/// SIGINT and SIGTERM, listened to from the moment they are installed.
pub struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// The next signal's name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

pub struct Signal {
    request: Recipient<RequestShutdown>,
    force: Recipient<Force>,
    signals: Option<Signals>,
    received: u32,
}

impl Signal {
    /// The first signal goes to `request`, every later one to `force`.
    pub fn new(request: Recipient<RequestShutdown>, force: Recipient<Force>, signals: Signals) -> Self {
        Self {
            request,
            force,
            signals: Some(signals),
            received: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
struct Received(&'static str);

impl Actor for Signal {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(signals) = self.signals.take() {
            ctx.add_stream(stream::unfold(signals, |mut s| async move { Some((Received(s.recv().await), s)) }).boxed_local());
        }
    }
}

impl StreamHandler<Received> for Signal {
    fn handle(&mut self, Received(name): Received, _: &mut Self::Context) {
        self.received += 1;
        if self.received == 1 {
            log::warn!("{name} received: starting graceful shutdown (send it again to force)");
            self.request.do_send(RequestShutdown {
                source: ShutdownSource::Signal(name),
            });
        } else {
            log::error!("{name} received again: forcing");
            self.force.do_send(Force);
        }
    }

    fn finished(&mut self, _: &mut Self::Context) {
        // Signal streams never end; if they do, keep the actor so nothing else changes.
    }
}
