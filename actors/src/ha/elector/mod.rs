//! Elector: holds this instance's lease on etcd and decides its role. A standby keeps a lease of
//! its own alive, watches the key, and on its deletion (or, as a backstop, on every tick) tries
//! to put the key bound to its lease; the one transaction that succeeds makes it active. The
//! active renews every `renew_every_ms`; if no renewal has been answered by TTL − margin after
//! it was sent, the fence has already closed and the elector asks for a fatal stop, so the
//! flattening starts before the lease can lapse. Its `Stop` (after the orders step) revokes the
//! lease when the orders were verified flat — the standby takes over at once — and otherwise
//! leaves it to lapse.

mod campaign;
mod stop;
mod watch;

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::LocalBoxFuture;

use crate::budget::rate_governor::Governor;
use crate::messages::events::Event;
use crate::messages::ha::{Activate, HaView};
use crate::messages::record::Record;
use crate::messages::shutdown::{RequestShutdown, ShutdownSource};
use crate::messages::status::StatusPatch;
use crate::telemetry::metrics::{labels, Metrics};

use super::etcd::Etcd;
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
    /// The audit trail: every role change.
    pub recorder: Recipient<Record>,
    /// The account's request budget: what a releasing active spent goes to its successor.
    pub governor: Governor,
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
    /// While present in etcd, no instance takes the key (the account's kill switch).
    kill_key: String,
    /// The kill switch's record: this instance's trip, or the one that blocks this standby.
    kill_switch: Option<String>,
    /// This instance's trip is in etcd.
    kill_saved: bool,
    /// `kill_switch` is this instance's own trip (not one read from etcd that blocks it).
    kill_mine: bool,
    /// The store revision of this instance's put of the key: the watch's older changes are not
    /// news of the key it holds.
    won_at: i64,
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
            kill_key: HaSettings::kill_switch_key(&key),
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
            won_at: 0,
            kill_switch: None,
            kill_saved: false,
            kill_mine: false,
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
            kill_switch: self.kill_switch.clone(),
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
        self.out.recorder.do_send(Record(Event::HaRole {
            from: from.name().into(),
            to: to.name().into(),
            key: self.key.clone(),
            why: why.into(),
        }));
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
            // Renewed while the take-over runs too: it may wait for the account's request budget
            // (the previous active's last requests count against it) longer than TTL − margin.
            Role::Active | Role::TakingOver => self.renew(ctx),
            Role::Released | Role::Lost => {}
        }
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
