//! The standby's campaign for the key, the take-over once it is won, and the active's renewals.

use std::time::Instant;

use actix::prelude::*;

use crate::messages::ha::Activate;

use super::super::etcd::Acquire;
use super::super::settings::HaSettings;
use super::{Elector, Role};
use crate::budget::handover::SpentUnits;

impl Elector {
    /// Standby: keep the own lease (`refresh`), then try to put the key.
    pub(super) fn campaign(&mut self, refresh: bool, ctx: &mut Context<Self>) {
        self.busy = true;
        let (etcd, ttl, lease) = (self.etcd.clone(), self.ttl(), self.lease);
        let (key, identity, kill_key) = (self.key.clone(), self.identity.clone(), self.kill_key.clone());
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
                (Some(lease), renewed, etcd.acquire(&key, &identity, lease, &kill_key).await)
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
                    // Our own put, whose answer an earlier attempt lost, bound to the lease we
                    // still renew: the key is ours.
                    Ok(Acquire::Held { holder, lease: bound, revision })
                        if holder == act.identity && Some(bound) == lease && act.role == Role::Standby && !act.stopping =>
                    {
                        act.took_key(lease, sent, revision, ctx)
                    }
                    // Our identity under a lease we gave up on (its keep-alive was lost): etcd
                    // deletes the key when that lease lapses, whatever we renew. Not ours — end
                    // that lease now so the key is free, and campaign again under the live one.
                    Ok(Acquire::Held { holder, lease: bound, .. }) if holder == act.identity => {
                        act.lease = lease;
                        log::warn!("ha: the key holds this instance under lease {bound}, which it no longer renews: revoking it and campaigning again");
                        let etcd = act.etcd.clone();
                        ctx.spawn(async move { etcd.revoke(bound).await }.into_actor(act).map(|r, act, _| act.etcd_result(&r)));
                    }
                    Ok(Acquire::Blocked { by, revision }) => {
                        act.lease = lease;
                        if act.kill_switch.as_ref() != Some(&by) {
                            log::error!("ha: the account's kill switch tripped ({by}); not taking over until an operator clears it: mmbot clear-kill-switch --config FILE");
                            act.kill_switch = Some(by);
                            act.publish();
                        }
                        if !act.watching {
                            act.watch_from(revision + 1, ctx);
                        }
                    }
                    Ok(Acquire::Held { holder, revision, .. }) => {
                        act.lease = lease;
                        if act.kill_switch.take().is_some() {
                            log::warn!("ha: the account's kill switch was cleared");
                            act.publish();
                        }
                        if act.holder.as_ref() != Some(&holder) {
                            log::info!("ha: standby; the active is {holder}");
                            act.holder = Some(holder);
                            act.publish();
                        }
                        if !act.watching {
                            act.watch_from(revision + 1, ctx);
                        }
                    }
                    Ok(Acquire::Won { .. }) if act.stopping => {
                        // Won while stopping: give the key straight back.
                        if let Some(id) = lease {
                            let etcd = act.etcd.clone();
                            ctx.spawn(async move { etcd.revoke(id).await }.into_actor(act).map(|_, _, _| ()));
                        }
                    }
                    Ok(Acquire::Won { revision }) if act.role == Role::Standby => act.took_key(lease, sent, revision, ctx),
                    Ok(Acquire::Won { .. }) => {}
                }
            }),
        );
    }

    /// The key holds our identity, bound to `lease` (last renewed at `sent`), from `revision` on.
    fn took_key(&mut self, lease: Option<i64>, sent: Instant, revision: i64, ctx: &mut Context<Self>) {
        self.won_at = revision;
        self.lease = lease;
        self.renewed(sent);
        self.holder = Some(self.identity.clone());
        self.won(ctx);
    }

    /// The key is ours: take over (read the account), then open the fence and tell the
    /// OrderManager to quote.
    pub(super) fn won(&mut self, ctx: &mut Context<Self>) {
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
        // Orders may go only once the take-over has cancelled the previous active's leftovers,
        // and only until the lease clock's give-up time, so the margin holds from the start.
        let started = Instant::now();
        // What the previous active spent in the exchange's last window counts here before the
        // first quote: the account's budget is one, whoever sends.
        let (etcd, spent_key, governor) = (self.etcd.clone(), HaSettings::spent_key(&self.key), self.out.governor.clone());
        let work = async move {
            let (spent, result) = tokio::join!(etcd.get(&spent_key), take_over());
            match spent.map(|s| s.map(|text| serde_json::from_str::<SpentUnits>(&text))) {
                Ok(Some(Ok(spent))) => {
                    let units = governor.with(|g| spent.charge(g, Instant::now(), super::unix_ms()));
                    if units > 0 {
                        log::info!(
                            "ha: {units} units the previous active spent in the exchange's last window count against this one's budget"
                        );
                    }
                }
                Ok(Some(Err(e))) => log::warn!("ha: the previous active's spent units are unreadable ({e}): not counted"),
                Ok(None) => {}
                Err(e) => log::warn!("ha: reading the previous active's spent units: {e}"),
            }
            result
        };
        ctx.spawn(work.into_actor(self).map(move |result, act, ctx| match result {
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

    /// The lease was renewed by a request sent at `sent`: the clock, and how long a request
    /// that changes the account may still land.
    fn renewed(&mut self, sent: Instant) {
        self.clock.renewed(sent);
        if let Some(t) = self.clock.earliest_expiry() {
            self.fence.lease_holds_until(t);
        }
    }

    /// Active: renew, and read the key beside it; the two answers together move the fence on
    /// from the requests' send time. A live lease proves nothing about the key: it must still
    /// hold our identity bound to *this* lease (a key put under a lease we gave up on is deleted
    /// when that one lapses, and a silent watch would never say so).
    pub(super) fn renew(&mut self, ctx: &mut Context<Self>) {
        let Some(lease) = self.lease else { return };
        self.busy = true;
        let (etcd, key) = (self.etcd.clone(), self.key.clone());
        let sent = Instant::now();
        let work = async move { tokio::join!(etcd.keep_alive(lease), etcd.read(&key)) };
        ctx.spawn(work.into_actor(self).map(move |(alive, bound), act, _| {
            act.busy = false;
            act.etcd_result(&alive.clone().map(|_| ()).and(bound.clone().map(|_| ())));
            if act.role != Role::Active && act.role != Role::TakingOver {
                return;
            }
            match (alive, bound) {
                (Ok(false), _) => act.give_up("etcd no longer knows the lease (it lapsed or was revoked)"),
                (Ok(true), Ok(Some(b))) if b.value == act.identity && b.lease == lease => {
                    act.renewed(sent);
                    if act.role == Role::Active {
                        if let Some(t) = act.clock.give_up_at() {
                            act.fence.open_until(t);
                        }
                    }
                }
                (_, Ok(Some(b))) if b.value != act.identity => act.give_up(&format!("the key was taken by {}", b.value)),
                (_, Ok(Some(b))) if b.lease != lease => act.give_up(&format!(
                    "the key is bound to lease {}, not to this instance's lease {lease}",
                    b.lease
                )),
                (_, Ok(None)) => act.give_up("the key was deleted under this active"),
                // Either answer missing: the fence stays where it is and closes by the clock.
                _ => {}
            }
        }));
    }
}
