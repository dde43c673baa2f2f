//! Signal: SIGINT, SIGTERM, SIGHUP and SIGQUIT. The first starts the graceful shutdown; a second
//! (of any of them) forces the exit. The handlers are installed before anything else starts
//! ([`Signals::install`]), so a signal during startup is never the default "terminate at once".
//!
//! SIGHUP is what a closing terminal or SSH session sends: its default action would kill the bot
//! with its orders resting. SIGQUIT (Ctrl+\) is graceful too, as nginx treats it: a forced exit
//! may leave orders, and the second signal is already the way to force.

use actix::prelude::*;
use futures_util::stream::{self, StreamExt};
use tokio::signal::unix::{signal, SignalKind};

use crate::messages::shutdown::{Force, RequestShutdown, ShutdownSource};

/// SIGINT, SIGTERM, SIGHUP and SIGQUIT, listened to from the moment they are installed.
pub struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            quit: signal(SignalKind::quit())?,
        })
    }

    /// The next signal's name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.quit.recv() => "SIGQUIT",
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
