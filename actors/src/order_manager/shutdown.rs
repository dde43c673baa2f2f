//! Shutdown: on `Stop`, close the gate, drain requests in flight, flatten every symbol by the
//! escalating cancel paths, verify on the exchange, and answer with what became of the orders;
//! the forced exit's question (which orders may still be live) answered from the last listing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::exchange::rest_connector::OrderEntry;
use crate::messages::events::Event;
use crate::messages::shutdown::BelievedOpen;
use crate::messages::stop::{OrdersOutcome, StepStatus, Stop, StopAck};
use crate::orders::cancel_path::CancelPath;
use crate::orders::order_table::Phase;
use crate::shutdown::flatten::{flatten, DeadMan, FlattenJob, FlattenOutcome, Transports};

use super::*;

/// The ways out besides REST, known once the other actors run (wired in the application).
#[derive(Clone, Message)]
#[rtype(result = "()")]
pub struct UseExitPaths {
    pub trade_socket: bool,
    pub order_entry: OrderEntry,
    pub dead_man: Option<DeadMan>,
}

impl Handler<UseExitPaths> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: UseExitPaths, _: &mut Self::Context) {
        self.trade_socket = msg.trade_socket;
        self.order_entry = msg.order_entry;
        self.dead_man = msg.dead_man;
    }
}

impl Handler<BelievedOpen> for OrderManager {
    type Result = MessageResult<BelievedOpen>;

    fn handle(&mut self, _: BelievedOpen, _: &mut Self::Context) -> Self::Result {
        let listed = self.believed_open.borrow();
        let mut out = BTreeMap::new();
        for symbol in &self.symbols {
            let ids = match listed.get(symbol) {
                Some(ids) => ids.clone(),
                None => self.table.for_symbol(symbol).map(|o| o.link_id.clone()).collect(),
            };
            if !ids.is_empty() {
                out.insert(symbol.clone(), ids);
            }
        }
        MessageResult(out)
    }
}

impl OrderManager {
    pub(super) fn transports(&self) -> Transports {
        Transports {
            rest: self.rest.clone(),
            governor: self.governor.clone(),
            trade_socket: self.trade_socket,
            order_entry: self.order_entry,
            dead_man: self.dead_man.clone(),
        }
    }

    /// Cancel paths in order of preference for the configured scope.
    pub(super) fn cancel_paths(&self, scope: CancelScope) -> Vec<CancelPath> {
        crate::orders::cancel_path::preference(
            matches!(scope, CancelScope::Symbol | CancelScope::Account),
            self.trade_socket,
            self.order_entry == OrderEntry::Websocket,
        )
    }

    /// Shutdown step 1: what the flattening targets and until when. The first cancel goes out
    /// at once, while requests in flight settle; reads prove flat only after they have.
    pub(super) fn shutdown_job(&self, end: Instant) -> FlattenJob {
        let ids = self.ids.clone();
        let this_run_only = self.this_run_only;
        let in_flight = self.in_flight.clone();
        let doubt = self.doubt_until.clone();
        let mut known: HashMap<String, Vec<String>> = HashMap::new();
        for o in self.table.all() {
            known.entry(o.symbol.clone()).or_default().push(o.link_id.clone());
        }
        FlattenJob {
            symbols: self.symbols.clone(),
            paths: self.cancel_paths(self.settings.cancel_scope),
            target: Rc::new(move |l: &str| if this_run_only { ids.is_this_run(l) } else { ids.is_ours(l) }),
            known,
            deadline: end,
            silence: self.settings.silence(),
            settled: Rc::new(move || in_flight.get() == 0),
            doubt_until: Rc::new(move || doubt.get()),
            believed_open: self.believed_open.clone(),
            account_wide: self.settings.cancel_scope == CancelScope::Account,
        }
    }

    /// The shutdown cancels every order: `/status` says so from its first moment, rather than
    /// "Live" while a cancel-all hangs.
    pub(super) fn show_all_cancelling(&mut self) {
        let links: Vec<String> = self.table.all().map(|o| o.link_id.clone()).collect();
        for link in links {
            if let Some(o) = self.table.get_mut(&link).filter(|o| !matches!(o.phase, Phase::Unknown)) {
                o.phase = Phase::Cancelling;
            }
        }
        self.publish();
        self.flush_status();
    }

    /// After the flattening: orders of a symbol verified flat are gone; the others are in doubt.
    pub(super) fn show_after_flatten(&mut self, flat: &FlattenOutcome) {
        let flat_symbols: HashSet<&str> = flat.symbols.iter().filter(|s| s.flat).map(|s| s.symbol.as_str()).collect();
        let links: Vec<(String, bool)> = self
            .table
            .all()
            .map(|o| (o.link_id.clone(), flat_symbols.contains(o.symbol.as_str())))
            .collect();
        for (link, gone) in links {
            if gone {
                self.table.remove(&link);
            } else if let Some(o) = self.table.get_mut(&link) {
                o.phase = Phase::Unknown;
            }
        }
        self.publish();
        self.flush_status();
    }

    /// Shutdown step 2 (after the flattening): what became of the orders, on the record and in
    /// the step's answer.
    pub(super) fn conclude_shutdown(&mut self, flat: FlattenOutcome, started: Instant) -> StopAck {
        self.show_after_flatten(&flat);
        let drained = self.in_flight.get() == 0;
        if !drained {
            // A create still in flight may land any time until the exchange would refuse it as stale.
            if let Some(sent) = self.last_create_sent.get() {
                extend_doubt(&self.doubt_until, sent + self.create_window);
            }
        }
        let unsettled = self.doubt_until.get().filter(|d| Instant::now() < *d);
        let outcome = orders_outcome(&flat);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        self.metrics.shutdown_cancel_orders.inc_by(outcome.cancelled as u64);
        self.record(Event::ShutdownCancelOrders {
            cancelled: outcome.cancelled,
            remaining: outcome.remaining,
            verified_flat: outcome.verified_flat,
            attempts: outcome.attempts,
            elapsed_ms,
            skipped_dry_run: false,
            symbols: flat.symbols.clone(),
            dead_man_after_ms: flat.dead_man_after_ms,
        });
        self.record_final_state();
        let (status, detail) = stop_verdict(&outcome, unsettled, drained);
        let mut outcome = outcome;
        if unsettled.is_some() {
            // Verified flat, but not for long enough to rule out a late create.
            outcome.verified_flat = false;
        }
        StopAck {
            status,
            detail,
            orders: Some(outcome),
            positions: None,
        }
    }

    pub(super) fn record_final_state(&mut self) {
        self.record(Event::FinalState {
            open_orders: self.table.all().cloned().collect(),
            positions: self.positions.iter().map(|(s, p)| (s.clone(), *p)).collect(),
        });
    }
}

/// The orders' outcome from the flattening's per-symbol results.
fn orders_outcome(flat: &FlattenOutcome) -> OrdersOutcome {
    let verified_flat = flat.flat();
    let may_remain: Vec<String> = flat.symbols.iter().flat_map(|s| s.remaining.iter().cloned()).collect();
    OrdersOutcome {
        cancelled: flat.symbols.iter().map(|s| s.cancelled).sum(),
        remaining: flat
            .symbols
            .iter()
            .all(|s| s.flat || s.remaining_listed)
            .then_some(may_remain.len()),
        verified_flat,
        skipped_dry_run: false,
        attempts: flat.symbols.iter().flat_map(|s| s.requests.values()).sum(),
        may_remain,
        symbols: flat.symbols.clone(),
    }
}

/// The order step's status and its line in the report.
fn stop_verdict(o: &OrdersOutcome, unsettled: Option<Instant>, drained: bool) -> (StepStatus, String) {
    let drain_note = if drained { "" } else { "; some requests were still in flight" };
    let paths = o
        .symbols
        .iter()
        .filter_map(|s| s.path.map(|p| format!("{} {p}", s.symbol)))
        .collect::<Vec<_>>()
        .join(", ");
    let paths = if paths.is_empty() { String::new() } else { format!("; by {paths}") };
    if let Some(until) = unsettled.filter(|_| o.verified_flat) {
        return (
            StepStatus::TimedOut,
            format!(
                "cancelled {} orders and saw 0 open, but a create in doubt could still land for {} ms more: orders may remain",
                o.cancelled,
                until.saturating_duration_since(Instant::now()).as_millis()
            ),
        );
    }
    if o.verified_flat {
        return (
            StepStatus::Ok,
            format!(
                "cancelled {} orders, verified 0 open on the exchange ({} request(s){paths}){drain_note}",
                o.cancelled, o.attempts
            ),
        );
    }
    let remaining = o.remaining.map(|n| n.to_string()).unwrap_or_else(|| "an unknown number of".into());
    (
        StepStatus::TimedOut,
        format!(
            "cancelled {} orders; {remaining} orders may remain (could not verify flat with {} request(s)){drain_note}",
            o.cancelled, o.attempts
        ),
    )
}

impl Handler<Stop> for OrderManager {
    type Result = ResponseActFuture<Self, StopAck>;

    fn handle(&mut self, stop: Stop, _: &mut Self::Context) -> Self::Result {
        self.gate_open = false;
        let started = Instant::now();
        if self.dry_run || !self.fence.ever_opened() {
            let detail = if self.dry_run {
                "dry-run: nothing was sent, so nothing to cancel"
            } else {
                "standby: never active, no order was placed, so nothing to cancel"
            };
            self.record_final_state();
            let outcome = OrdersOutcome {
                skipped_dry_run: true,
                remaining: Some(0),
                ..Default::default()
            };
            return Box::pin(fut::ready(()).into_actor(self).map(|(), _, ctx| {
                ctx.stop();
                StopAck {
                    status: StepStatus::Ok,
                    detail: detail.into(),
                    orders: Some(outcome),
                    positions: None,
                }
            }));
        }
        self.show_all_cancelling();
        // Answer a little before the supervisor's own timeout, with what we know.
        let end = stop.deadline.checked_sub(Duration::from_millis(100)).unwrap_or(stop.deadline);
        let job = self.shutdown_job(end);
        Box::pin(flatten(job, self.transports()).into_actor(self).map(move |flat, act, ctx| {
            let ack = act.conclude_shutdown(flat, started);
            ctx.stop();
            ack
        }))
    }
}
