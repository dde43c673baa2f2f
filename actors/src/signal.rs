//! Signal: SIGINT and SIGTERM. The first starts the shutdown; the second forces the exit.

use actix::prelude::*;
use futures_util::stream::{self, StreamExt};
use tokio::signal::unix::{signal, SignalKind};

use crate::supervisor::{Force, RequestShutdown, ShutdownSource, Supervisor};

pub struct Signal {
    supervisor: Addr<Supervisor>,
    received: u32,
}

impl Signal {
    pub fn new(supervisor: Addr<Supervisor>) -> Self {
        Self { supervisor, received: 0 }
    }
}

#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
struct Received(&'static str);

fn listen(kind: SignalKind, name: &'static str) -> impl futures_util::Stream<Item = Received> {
    stream::unfold(signal(kind), move |s| async move {
        match s {
            Ok(mut sig) => sig.recv().await.map(|_| (Received(name), Ok(sig))),
            Err(e) => {
                log::error!("cannot listen for {name}: {e}");
                None
            }
        }
    })
}

impl Actor for Signal {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.add_stream(
            stream::select(
                listen(SignalKind::interrupt(), "SIGINT"),
                listen(SignalKind::terminate(), "SIGTERM"),
            )
            .boxed_local(),
        );
    }
}

impl StreamHandler<Received> for Signal {
    fn handle(&mut self, Received(name): Received, _: &mut Self::Context) {
        self.received += 1;
        if self.received == 1 {
            log::warn!("{name} received: starting graceful shutdown (send it again to force)");
            self.supervisor.do_send(RequestShutdown {
                source: ShutdownSource::Signal(name),
            });
        } else {
            log::error!("{name} received again: forcing");
            self.supervisor.do_send(Force);
        }
    }

    fn finished(&mut self, _: &mut Self::Context) {
        // Signal streams never end; if they do, keep the actor so nothing else changes.
    }
}
