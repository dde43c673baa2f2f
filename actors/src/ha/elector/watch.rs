//! The watch on the key: its deletion starts a standby's campaign at once; on an active, its
//! deletion or another's put is a lost lease.

use std::time::Instant;

use actix::prelude::*;
use futures_util::StreamExt;

use super::super::etcd::KeyEvent;
use super::{Elector, Role};

impl Elector {
    pub(super) fn watch(&mut self, ctx: &mut Context<Self>) {
        self.watch_from(0, ctx);
    }

    pub(super) fn watch_from(&mut self, revision: i64, ctx: &mut Context<Self>) {
        self.watching = true;
        let (etcd, key) = (self.etcd.clone(), self.key.clone());
        ctx.spawn(
            async move { etcd.watch(&key, revision).await }
                .into_actor(self)
                .map(|r, act, ctx| match r {
                    Ok(events) => {
                        ctx.add_stream(
                            events
                                .map(Watched::Event)
                                .chain(futures_util::stream::once(async { Watched::Ended })),
                        );
                    }
                    Err(e) => {
                        act.watching = false;
                        log::debug!("ha: watch: {e}");
                    }
                }),
        );
    }
}

/// The watch's items, and its end.
enum Watched {
    Event(KeyEvent),
    Ended,
}

impl StreamHandler<Watched> for Elector {
    fn handle(&mut self, item: Watched, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        match item {
            Watched::Ended => self.watching = false,
            // Older than our own put: a change from before this instance held the key.
            Watched::Event(KeyEvent::Deleted { revision } | KeyEvent::Put { revision, .. }) if revision <= self.won_at => {}
            Watched::Event(KeyEvent::Deleted { .. }) => {
                self.holder = None;
                self.publish();
                match self.role {
                    Role::Standby => {
                        self.freed_at = Some(Instant::now());
                        if !self.busy {
                            self.campaign(false, ctx);
                        }
                    }
                    Role::Active | Role::TakingOver => self.give_up("the key was deleted under this active"),
                    Role::Released | Role::Lost => {}
                }
            }
            Watched::Event(KeyEvent::Put { value, lease, .. }) => {
                if Some(lease) == self.lease {
                    return;
                }
                if matches!(self.role, Role::Active | Role::TakingOver) {
                    self.give_up(&format!("the key was taken by {value}"));
                }
                self.holder = Some(value);
                self.publish();
            }
        }
    }

    fn finished(&mut self, _: &mut Context<Self>) {
        self.watching = false;
    }
}
