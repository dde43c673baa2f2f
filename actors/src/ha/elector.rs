//! Elector: holds this instance's lease on etcd and decides its role. A standby keeps a lease of
//! its own alive, watches the key, and on its deletion (or, as a backstop, on every tick) tries
//! to put the key bound to its lease; the one transaction that succeeds makes it active. The
//! active renews every `renew_every_ms`; if no renewal has been answered by TTL − margin after
//! it was sent, the fence has already closed and the elector asks for a fatal stop, so the
//! flattening starts before the lease can lapse. Its `Stop` (after the orders step) revokes the
//! lease when the orders were verified flat — the standby takes over at once — and otherwise
//! leaves it to lapse.

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;

use crate::messages::ha::{Activate, HaView};
use crate::messages::shutdown::{RequestShutdown, ShutdownSource};
use crate::messages::status::StatusPatch;
use crate::messages::stop::{Stop, StopAck};
use crate::telemetry::metrics::{labels, Metrics};

use super::etcd::{Acquire, Etcd, KeyEvent};
use super::fence::Fence;
use super::lease_clock::LeaseClock;
use super::settings::HaSettings;

/// What becoming active takes before the first order (cancel the previous active's leftovers,
/// arm the dead-man switch, read the positions): run once, when the key is won. The fence then
/// opens and the OrderManager is told to quote.
pub type TakeOver = Box<dyn FnOnce() -> LocalBoxFuture<'static, Result<(), String>>>;

/// How often the active's deadline is looked at: the fence closes by the clock on its own; this
/// only bounds how late the fatal stop is asked for.
const DEADLINE_CHECK: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Standby,
    TakingOver,
    Active,
    Released,
    Lost,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Standby => "standby",
            Role::TakingOver => "taking over",
            Role::Active => "active",
            Role::Released => "released",
            Role::Lost => "lost",
        }
    }
}

/// Where the elector reports.
pub struct ElectorOutlets {
    pub shutdown: Recipient<RequestShutdown>,
    /// The OrderManager, told to quote once the fence is open.
    pub activate: Recipient<Activate>,
    pub status: Recipient<StatusPatch>,
    pub metrics: Arc<Metrics>,
}

pub struct Elector {
    settings: HaSettings,
    key: String,
    /// What the key holds while this instance is active: run id, host, control address.
    identity: String,
    etcd: Rc<Etcd>,
    fence: Fence,
    clock: LeaseClock,
    role: Role,
    since_ms: u64,
    lease: Option<i64>,
    holder: Option<String>,
    etcd_state: String,
    take_over: Option<TakeOver>,
    out: ElectorOutlets,
    /// A request is on its way: a tick does not send another beside it.
    busy: bool,
    watching: bool,
    /// When the key was seen deleted: the handover's start, for the log.
    freed_at: Option<Instant>,
    /// When the standby's own lease was last granted or renewed (the request's send time).
    lease_renewed_at: Option<Instant>,
    /// The stop step has begun: no campaign, no renewal, and the key's deletion by our own
    /// revoke is not news.
    stopping: bool,
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Elector {
    pub fn new(settings: HaSettings, key: String, identity: String, fence: Fence, take_over: TakeOver, out: ElectorOutlets) -> Self {
        let etcd = Rc::new(Etcd::new(
            settings.endpoints.clone(),
            Duration::from_millis(settings.request_timeout_ms),
        ));
        let clock = LeaseClock::new(
            Duration::from_millis(settings.lease_ttl_ms),
            Duration::from_millis(settings.margin_ms),
        );
        Self {
            settings,
            key,
            identity,
            etcd,
            fence,
            clock,
            role: Role::Standby,
            since_ms: unix_ms(),
            lease: None,
            holder: None,
            etcd_state: "not asked yet".into(),
            take_over: Some(take_over),
            out,
            busy: false,
            watching: false,
            freed_at: None,
            stopping: false,
            lease_renewed_at: None,
        }
    }

    fn ttl(&self) -> Duration {
        Duration::from_millis(self.settings.lease_ttl_ms)
    }

    fn publish(&self) {
        let give_up_in_ms = (self.role == Role::Active)
            .then(|| self.clock.give_up_at())
            .flatten()
            .map(|t| t.saturating_duration_since(Instant::now()).as_millis() as u64);
        self.out.status.do_send(StatusPatch::Ha(HaView {
            role: self.role.name().into(),
            since_ms: self.since_ms,
            key: self.key.clone(),
            holder: self.holder.clone(),
            etcd: self.etcd_state.clone(),
            give_up_in_ms,
        }));
    }

    fn become_(&mut self, to: Role, why: &str) {
        let from = self.role;
        if from == to {
            return;
        }
        self.role = to;
        self.since_ms = unix_ms();
        self.out.metrics.ha_role.set(i64::from(to == Role::Active));
        self.out
            .metrics
            .ha_transitions
            .get_or_create(&labels(&[("from", from.name()), ("to", to.name())]))
            .inc();
        match to {
            Role::Lost => log::error!("ha: {} → {}: {why}", from.name(), to.name()),
            _ => log::warn!("ha: {} → {}: {why}", from.name(), to.name()),
        }
        self.publish();
    }

    fn etcd_result<T>(&mut self, r: &Result<T, super::etcd::EtcdError>) {
        let state = match r {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        if state != self.etcd_state {
            if state != "ok" {
                log::warn!("ha: {state}");
            } else if self.etcd_state != "not asked yet" {
                log::info!("ha: etcd answers again");
            }
            self.etcd_state = state;
            self.publish();
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        if !self.watching && matches!(self.role, Role::Standby | Role::Active) {
            self.watch(ctx);
        }
        if self.busy {
            return;
        }
        match self.role {
            Role::Standby => self.campaign(true, ctx),
            Role::Active => self.renew(ctx),
            Role::TakingOver | Role::Released | Role::Lost => {}
        }
    }

    /// Standby: keep the own lease (`refresh`), then try to put the key.
    fn campaign(&mut self, refresh: bool, ctx: &mut Context<Self>) {
        self.busy = true;
        let (etcd, ttl, lease) = (self.etcd.clone(), self.ttl(), self.lease);
        let (key, identity) = (self.key.clone(), self.identity.clone());
        // The lease's TTL runs from its last grant or keep-alive, never from the transaction.
        let mut renewed = self.lease_renewed_at.filter(|_| lease.is_some());
        ctx.spawn(
            async move {
                let lease = match lease {
                    Some(id) if !refresh => Ok(Some(id)),
                    Some(id) => {
                        let sent = Instant::now();
                        let alive = etcd.keep_alive(id).await;
                        renewed = alive.as_ref().is_ok_and(|a| *a).then_some(sent);
                        alive.map(|alive| alive.then_some(id))
                    }
                    None => Ok(None),
                };
                let lease = match lease {
                    Ok(Some(id)) => Ok(id),
                    Ok(None) => {
                        let sent = Instant::now();
                        let granted = etcd.grant(ttl).await;
                        renewed = granted.as_ref().ok().map(|_| sent);
                        granted
                    }
                    Err(e) => Err(e),
                };
                let lease = match lease {
                    Ok(id) => id,
                    Err(e) => return (None, None, Err(e)),
                };
                (Some(lease), renewed, etcd.acquire(&key, &identity, lease).await)
            }
            .into_actor(self)
            .map(|(lease, renewed, answer), act, ctx| {
                act.busy = false;
                act.lease_renewed_at = renewed;
                // Unknown: as if it lapsed already (the deadline check gives up at once).
                let sent = renewed.unwrap_or_else(|| Instant::now().checked_sub(act.ttl()).unwrap_or_else(Instant::now));
                act.etcd_result(&answer);
                match answer {
                    // A failed grant or keep-alive left no lease: the next tick grants anew.
                    Err(_) => act.lease = lease,
                    // Our own put, whose answer an earlier attempt lost: the key is ours.
                    Ok(Acquire::Held { holder, .. }) if holder == act.identity && act.role == Role::Standby && !act.stopping => {
                        act.lease = lease;
                        act.clock.renewed(sent);
                        act.holder = Some(holder);
                        act.won(ctx);
                    }
                    Ok(Acquire::Held { holder, revision }) => {
                        act.lease = lease;
                        if act.holder.as_ref() != Some(&holder) {
                            log::info!("ha: standby; the active is {holder}");
                            act.holder = Some(holder);
                            act.publish();
                        }
                        if !act.watching {
                            act.watch_from(revision + 1, ctx);
                        }
                    }
                    Ok(Acquire::Won) if act.stopping => {
                        // Won while stopping: give the key straight back.
                        if let Some(id) = lease {
                            let etcd = act.etcd.clone();
                            ctx.spawn(async move { etcd.revoke(id).await }.into_actor(act).map(|_, _, _| ()));
                        }
                    }
                    Ok(Acquire::Won) if act.role == Role::Standby => {
                        act.lease = lease;
                        act.clock.renewed(sent);
                        act.holder = Some(act.identity.clone());
                        act.won(ctx);
                    }
                    Ok(Acquire::Won) => {}
                }
            }),
        );
    }

    /// The key is ours: read the account and open the OrderManager, then open the fence.
    fn won(&mut self, ctx: &mut Context<Self>) {
        let handover = self
            .freed_at
            .take()
            .map(|t| format!("; {} ms after the key was freed", t.elapsed().as_millis()));
        self.become_(
            Role::TakingOver,
            &format!("won the key {}{}", self.key, handover.unwrap_or_default()),
        );
        let Some(take_over) = self.take_over.take() else { return };
        // The TTL runs from the standby's last renewal: renew now, alongside the take-over.
        self.renew(ctx);
        // Orders may go only once the take-over has cancelled the previous active's leftovers;
        // the fence opens from the clock the key was won by, so the margin holds from the start.
        let started = Instant::now();
        ctx.spawn(take_over().into_actor(self).map(move |result, act, ctx| match result {
            Ok(()) if act.role == Role::TakingOver => {
                match act.clock.give_up_at() {
                    Some(t) => act.fence.open_until(t),
                    None => return,
                }
                act.become_(
                    Role::Active,
                    &format!(
                        "account read and leftovers dealt with in {} ms; quoting",
                        started.elapsed().as_millis()
                    ),
                );
                ctx.spawn(act.out.activate.send(Activate).into_actor(act).map(|open, _, _| {
                    if !matches!(open, Ok(true)) {
                        log::warn!("ha: active, but the order manager is stopping: no quote");
                    }
                }));
                act.renew(ctx);
            }
            Ok(()) => {}
            Err(why) => {
                act.fence.close();
                act.give_up(&format!("won the lease but could not take over: {why}"));
            }
        }));
    }

    /// Active: renew; an answer moves the fence on from the request's send time.
    fn renew(&mut self, ctx: &mut Context<Self>) {
        let Some(lease) = self.lease else { return };
        self.busy = true;
        let etcd = self.etcd.clone();
        let sent = Instant::now();
        ctx.spawn(async move { etcd.keep_alive(lease).await }.into_actor(self).map(move |r, act, _| {
            act.busy = false;
            act.etcd_result(&r);
            if act.role != Role::Active && act.role != Role::TakingOver {
                return;
            }
            match r {
                Ok(true) => {
                    act.clock.renewed(sent);
                    if act.role == Role::Active {
                        if let Some(t) = act.clock.give_up_at() {
                            act.fence.open_until(t);
                        }
                    }
                }
                Ok(false) => act.give_up("etcd no longer knows the lease (it lapsed or was revoked)"),
                Err(_) => {}
            }
        }));
    }

    /// Stop quoting now and ask for the fatal stop that flattens.
    fn give_up(&mut self, why: &str) {
        self.fence.close();
        if matches!(self.role, Role::Lost | Role::Released) {
            return;
        }
        self.become_(Role::Lost, why);
        self.out.shutdown.do_send(RequestShutdown {
            source: ShutdownSource::Fatal(format!("ha: {why}")),
        });
    }

    fn check_deadline(&mut self) {
        if matches!(self.role, Role::Active | Role::TakingOver) && self.clock.must_give_up(Instant::now()) {
            let last = self.clock.earliest_expiry().map_or(0, |t| {
                (self.ttl().as_millis() as u64).saturating_sub(t.saturating_duration_since(Instant::now()).as_millis() as u64)
            });
            self.give_up(&format!(
                "lease not renewed for {last} ms (TTL {} ms, margin {} ms; etcd: {}): flattening before it can lapse",
                self.settings.lease_ttl_ms, self.settings.margin_ms, self.etcd_state
            ));
        }
    }

    fn watch(&mut self, ctx: &mut Context<Self>) {
        self.watch_from(0, ctx);
    }

    fn watch_from(&mut self, revision: i64, ctx: &mut Context<Self>) {
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
            Watched::Event(KeyEvent::Deleted) => {
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
            Watched::Event(KeyEvent::Put { value, lease }) => {
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

impl Actor for Elector {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.out.metrics.ha_role.set(0);
        self.publish();
        log::info!(
            "ha: standby on {} (lease TTL {} ms, renewed every {} ms, given up {} ms before it could lapse)",
            self.key,
            self.settings.lease_ttl_ms,
            self.settings.renew_every_ms,
            self.settings.margin_ms
        );
        self.tick(ctx);
        ctx.run_interval(Duration::from_millis(self.settings.renew_every_ms), |act, ctx| act.tick(ctx));
        ctx.run_interval(DEADLINE_CHECK, |act, _| act.check_deadline());
        ctx.run_interval(Duration::from_secs(1), |act, _| {
            if act.role == Role::Active {
                act.publish();
            }
        });
    }
}

crate::answers_ping!(Elector);

impl Handler<Stop> for Elector {
    type Result = ResponseActFuture<Self, StopAck>;

    fn handle(&mut self, stop: Stop, _: &mut Self::Context) -> Self::Result {
        let was = self.role;
        self.stopping = true;
        self.fence.close();
        let lease = self.lease.take();
        // The key may be bound to this lease: released only once no order of this run can rest
        // or still land, else the standby would list the account before a late create lands.
        let mine = matches!(was, Role::Active | Role::TakingOver | Role::Lost);
        let release = lease.filter(|_| !mine || stop.orders_flat);
        let etcd = self.etcd.clone();
        let budget = stop.deadline.saturating_duration_since(Instant::now());
        Box::pin(
            async move {
                match release {
                    Some(id) => tokio::time::timeout(budget, etcd.revoke(id))
                        .await
                        .map_err(|_| "no answer in time".to_string())
                        .and_then(|r| r.map_err(|e| e.to_string())),
                    None => Ok(()),
                }
            }
            .into_actor(self)
            .map(move |r, act, ctx| {
                ctx.stop();
                let ttl = act.settings.lease_ttl_ms;
                let detail = match (mine, release.is_some(), r) {
                    (false, _, _) => "standby: nothing held".to_string(),
                    (true, false, _) => {
                        format!("orders not verified flat: the lease is left to lapse (≤ {ttl} ms); the standby takes over after")
                    }
                    (true, true, Ok(())) => "lease released: the standby takes over now".to_string(),
                    (true, true, Err(e)) => format!("revoking the lease failed ({e}): it lapses within {ttl} ms"),
                };
                if was != Role::Lost {
                    act.become_(Role::Released, &detail);
                }
                StopAck::ok(detail)
            }),
        )
    }
}
