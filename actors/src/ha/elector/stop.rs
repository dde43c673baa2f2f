//! The `ha_lease` step: release the lease once the orders are verified flat (else let it lapse);
//! and a tripped kill switch, kept for the whole account before the lease goes.

use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::budget::handover::SpentUnits;
use crate::messages::ha::KillSwitchTripped;
use crate::messages::stop::{StepStatus, Stop, StopAck};

use super::super::settings::HaSettings;
use super::{Elector, Role};

/// How long after a failed put of the kill switch the next one goes.
const KILL_SWITCH_RETRY: Duration = Duration::from_millis(250);

impl Handler<KillSwitchTripped> for Elector {
    type Result = ();

    /// Kept in etcd (no lease: it outlives every instance) before the lease is released, so the
    /// standby does not take over a bot stopped for its losses. Put again and again until etcd
    /// has it: one lost answer must not hand the standby a fresh drawdown budget.
    fn handle(&mut self, msg: KillSwitchTripped, ctx: &mut Self::Context) {
        if self.kill_switch.is_some() && self.kill_mine {
            return;
        }
        let value = serde_json::json!({ "reason": msg.reason, "identity": self.identity, "at_ms": super::unix_ms() }).to_string();
        self.kill_switch = Some(value);
        self.kill_mine = true;
        self.publish();
        self.keep_kill_switch(ctx);
    }
}

impl Elector {
    /// One put of this instance's trip; on failure the next after [`KILL_SWITCH_RETRY`], for as
    /// long as the process lives (the stop step keeps trying too, within its budget).
    fn keep_kill_switch(&mut self, ctx: &mut Context<Self>) {
        let Some(value) = self.kill_switch.clone().filter(|_| !self.kill_saved && self.kill_mine) else {
            return;
        };
        let (etcd, key) = (self.etcd.clone(), self.kill_key.clone());
        ctx.spawn(async move { etcd.put(&key, &value).await }.into_actor(self).map(|r, act, ctx| match r {
            Ok(()) => {
                if !act.kill_saved {
                    act.kill_saved = true;
                    log::error!(
                        "ha: the kill switch is kept for the account at {}: no instance takes over until `mmbot clear-kill-switch --config FILE`",
                        act.kill_key
                    );
                }
            }
            Err(e) => {
                log::error!("ha: could not keep the kill switch in etcd yet ({e}); trying again, and the lease is not released until it is kept");
                ctx.run_later(KILL_SWITCH_RETRY, |act, ctx| act.keep_kill_switch(ctx));
            }
        }));
    }
}

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
        // A trip not yet in etcd is put first; if it cannot be, the lease is not released.
        let kill = self.kill_switch.clone().filter(|_| mine && self.kill_mine && !self.kill_saved);
        let kill_pending = kill.is_some();
        // What this instance spent in the exchange's last window, for its successor to count.
        let spent = release.filter(|_| mine).map(|_| {
            let spent = self.out.governor.with(|g| SpentUnits::of(g, Instant::now(), super::unix_ms()));
            (HaSettings::spent_key(&self.key), serde_json::to_string(&spent).unwrap_or_default())
        });
        let (etcd, kill_key) = (self.etcd.clone(), self.kill_key.clone());
        let budget = stop.deadline.saturating_duration_since(Instant::now());
        Box::pin(
            async move {
                let work = async {
                    if let Some(value) = kill {
                        // Until it is kept or the step's budget ends: the lease is released only after.
                        while let Err(e) = etcd.put(&kill_key, &value).await {
                            log::error!("ha: keeping the kill switch: {e}; trying again");
                            tokio::time::sleep(KILL_SWITCH_RETRY).await;
                        }
                    }
                    if let Some((key, value)) = spent {
                        // Best effort: without it the successor may meet a 10006 in its first second.
                        if let Err(e) = etcd.put(&key, &value).await {
                            log::warn!("ha: could not hand over the spent units: {e}");
                        }
                    }
                    match release {
                        Some(id) => etcd.revoke(id).await.map_err(|e| e.to_string()),
                        None => Ok(()),
                    }
                };
                tokio::time::timeout(budget, work)
                    .await
                    .unwrap_or_else(|_| Err("no answer in time".to_string()))
            }
            .into_actor(self)
            .map(move |r, act, ctx| {
                ctx.stop();
                let ttl = act.settings.lease_ttl_ms;
                let outcome = r.clone();
                let detail = match (mine, release.is_some(), r) {
                    (false, _, _) => "standby: nothing held".to_string(),
                    (true, false, _) => {
                        format!("orders not verified flat: the lease is left to lapse (≤ {ttl} ms); the standby takes over after")
                    }
                    (true, true, Ok(())) if act.kill_switch.is_some() => {
                        "lease released; the kill switch is kept for the account: the standby does not take over".to_string()
                    }
                    (true, true, Ok(())) => "lease released: the standby takes over now".to_string(),
                    (true, true, Err(e)) if kill_pending => format!(
                        "the kill switch could NOT be kept in etcd ({e}): the lease lapses within {ttl} ms and the standby may take over; this instance's data directory still holds the trip"
                    ),
                    (true, true, Err(e)) => format!("releasing the lease failed ({e}): it lapses within {ttl} ms"),
                };
                if was != Role::Lost {
                    act.become_(Role::Released, &detail);
                }
                if kill_pending && !matches!(&outcome, Ok(())) {
                    log::error!("ha: {detail}");
                    return StopAck::with_status(StepStatus::Failed, detail);
                }
                StopAck::ok(detail)
            }),
        )
    }
}
