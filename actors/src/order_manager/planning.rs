//! Planning: desired quotes → the diff against what rests → the changes the budget admits now,
//! sent as batch creates / amends / cancels; a held-back change re-plans when its endpoint has room.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use actix::prelude::*;

use bybit_v5::rest::{path, MAX_BATCH_ITEMS};

use crate::budget::rate_governor::Priority;
use crate::exchange::in_flight::InFlight;
use crate::exchange::rest_client::RestError;
use crate::exchange::rest_connector::Call;
use crate::messages::events::Event;
use crate::messages::quotes::DesiredQuotes;
use crate::messages::record::Record;
use crate::orders::batch_body::{batch_body, BatchItem};
use crate::orders::order_diff::Action;
use crate::orders::order_table::{Phase, TrackedOrder};
use crate::orders::refusal_breaker::Quoting;
use crate::orders::requote_plan::{select, Held, Room, Wanted};
use crate::orders::wanted::wanted_for;
use crate::telemetry::metrics::labels;

use super::*;

impl OrderManager {
    /// Bring every symbol's orders toward its desired quotes, within the account's budget: what
    /// fits goes now, most urgent first; what does not is planned again when the budget has room
    /// (from the latest desired quotes then, never from a queue).
    pub(super) fn act(&mut self, ctx: &mut Context<Self>) {
        self.act_on(None, ctx);
    }

    /// Plan one symbol — what changed for it — or, with `None` or while changes wait for
    /// budget, every symbol (so that the most urgent change anywhere gets the room first). One
    /// symbol's plan costs its own orders, not all of them: at 20 symbols × 50 orders a full
    /// plan per book update was the tick-to-request path's largest cost.
    pub(super) fn act_on(&mut self, symbol: Option<&str>, ctx: &mut Context<Self>) {
        if !self.gate_open || !self.stream_ready || self.dry_run || !self.fence.allows_now() {
            return;
        }
        let only = symbol.filter(|_| !self.held_back).map(String::from);
        // The events of the orders sent here go to the recorder once the connector (on this
        // thread) has written the requests: a message to the recorder's thread wakes it (a
        // syscall), which does not belong between a book update and its order request. They
        // still reach it before any answer can (an answer needs a round trip).
        self.held_records = Some(Vec::new());
        self.plan_and_send(only.as_deref(), ctx);
        let held = self.held_records.take().unwrap_or_default();
        if !held.is_empty() {
            let recorder = self.recorder.clone();
            ctx.spawn(
                async move {
                    tokio::task::yield_now().await;
                    for e in held {
                        recorder.do_send(Record(e));
                    }
                }
                .into_actor(self),
            );
        }
    }

    pub(super) fn plan_and_send(&mut self, only: Option<&str>, ctx: &mut Context<Self>) {
        let wanted = self.wanted_changes(only);
        self.held_back = false;
        if !wanted.is_empty() {
            let room = Room {
                create: self.governor.available(path::ORDER_CREATE_BATCH, Priority::Quote),
                amend: self.governor.available(path::ORDER_AMEND_BATCH, Priority::Quote),
                cancel: self.governor.available(path::ORDER_CANCEL_BATCH, Priority::Cancel),
            };
            let (chosen, held) = select(wanted, room);
            self.count_held(held);
            let mut held_at = held_endpoints(held);
            for e in self.send_changes(chosen, ctx) {
                if !held_at.contains(&e) {
                    held_at.push(e);
                }
            }
            if !held_at.is_empty() {
                self.held_back = true;
                self.replan_when_room(ctx, &held_at);
            }
        }
        // Tick-to-request counts only quotes that could go out at once.
        for t in self.ticks.values_mut() {
            *t = None;
        }
    }

    /// Changes the budget held back show as deferred, per endpoint, in `/metrics` and `/status`.
    pub(super) fn count_held(&self, held: Held) {
        for (endpoint, n) in [
            (path::ORDER_CREATE_BATCH, held.create),
            (path::ORDER_AMEND_BATCH, held.amend),
            (path::ORDER_CANCEL_BATCH, held.cancel),
        ] {
            if n > 0 {
                self.governor.with(|g| g.note_deferred(endpoint, n as u64));
                self.metrics
                    .requests_deferred
                    .get_or_create(&labels(&[("endpoint", endpoint), ("reason", "budget")]))
                    .inc_by(n as u64);
            }
        }
    }

    /// Every symbol's diff, each change with its ladder level and how far off its order is.
    pub(super) fn wanted_changes(&self, only: Option<&str>) -> Vec<Wanted> {
        let mut out = Vec::new();
        let now = Instant::now();
        for symbol in self.symbols.iter().filter(|s| only.is_none_or(|o| o == s.as_str())) {
            let Some(desired) = self.desired.get(symbol) else {
                continue;
            };
            // A halted symbol rests nothing (its orders are cancelled) but its one probe.
            let desired = match self.breaker.quoting(symbol, now) {
                Quoting::Full => &desired[..],
                Quoting::Probe => &desired[..desired.len().min(1)],
                Quoting::Halted => &[],
            };
            let live: Vec<&TrackedOrder> = self.table.for_symbol(symbol).collect();
            out.extend(wanted_for(symbol, desired, &live, self.settings.requote_tolerance_bps, |id| {
                self.replace.contains(id)
            }));
        }
        out
    }

    /// Plan again as soon as any order endpoint has room.
    /// Plan again when one of the endpoints that held changes back has room. Only those: an
    /// endpoint with room but nothing waiting would wake the plan every millisecond.
    pub(super) fn replan_when_room(&mut self, ctx: &mut Context<Self>, held_at: &[(&'static str, Priority)]) {
        let now = Instant::now();
        let at = held_at
            .iter()
            .map(|&(e, p)| self.governor.with(|g| g.room_at(e, 1, p, now)))
            .min()
            .unwrap_or(now)
            .max(now + Duration::from_millis(1));
        if self.replan_at.is_some_and(|t| t > now && t <= at) {
            return;
        }
        self.replan_at = Some(at);
        ctx.run_later(at - now, |act, ctx| {
            act.replan_at = None;
            act.act(ctx)
        });
    }

    /// Send the chosen changes as batches per symbol and kind, each batch's budget spent before
    /// it leaves (so two plans never count the same room). Returns true if a batch found no
    /// room after all (the IP window) and was held back.
    /// Send the chosen changes in batches; returns the endpoints whose budget held a batch back.
    pub(super) fn send_changes(&mut self, chosen: Vec<Wanted>, ctx: &mut Context<Self>) -> Vec<(&'static str, Priority)> {
        let mut groups: BTreeMap<(String, u8), Vec<Action>> = BTreeMap::new();
        for w in chosen {
            let kind = match w.action {
                Action::Cancel { .. } => 0,
                Action::Amend { .. } => 1,
                Action::Create(_) => 2,
            };
            groups.entry((w.symbol, kind)).or_default().push(w.action);
        }
        let mut held = Vec::new();
        for ((symbol, kind), actions) in groups {
            let (kind, endpoint, priority) = match kind {
                0 => (BatchKind::Cancel, path::ORDER_CANCEL_BATCH, Priority::Cancel),
                1 => (BatchKind::Amend, path::ORDER_AMEND_BATCH, Priority::Quote),
                _ => (BatchKind::Create, path::ORDER_CREATE_BATCH, Priority::Quote),
            };
            let size = (self.governor.max_units(endpoint) as usize).clamp(1, MAX_BATCH_ITEMS);
            for chunk in actions.chunks(size) {
                let now = Instant::now();
                if self
                    .governor
                    .with(|g| g.try_admit(endpoint, chunk.len() as u32, priority, now))
                    .is_err()
                {
                    if !held.contains(&(endpoint, priority)) {
                        held.push((endpoint, priority));
                    }
                    continue;
                }
                let items: Vec<(String, BatchItem)> = chunk.iter().map(|a| self.materialize(&symbol, a)).collect();
                // Counted per batch: a labelled counter's lookup per order adds up on this path.
                let counter = match kind {
                    BatchKind::Create => Some(&self.metrics.orders_placed),
                    BatchKind::Amend => Some(&self.metrics.orders_amended),
                    BatchKind::Cancel => None,
                };
                if let Some(c) = counter {
                    c.get_or_create(&labels(&[("symbol", &symbol)])).inc_by(items.len() as u64);
                }
                self.send_batch(&symbol, kind, endpoint, items, now, ctx);
            }
        }
        self.publish();
        held
    }

    /// Record a change as sent, update the table, and give its batch item.
    pub(super) fn materialize(&mut self, symbol: &str, action: &Action) -> (String, BatchItem) {
        match action {
            Action::Create(q) => {
                let link_id = self.ids.next_id();
                self.record(Event::OrderSent {
                    action: "create".into(),
                    link_id: link_id.clone(),
                    symbol: symbol.into(),
                    side: Some(q.side),
                    price: Some(q.price),
                    qty: Some(q.qty),
                });
                self.table.insert(TrackedOrder::creating(&link_id, symbol, q));
                let item = BatchItem::post_only(symbol, q.side, q.price, q.qty, &link_id);
                (link_id, item)
            }
            Action::Amend { link_id, price, qty } => {
                self.record(Event::OrderSent {
                    action: "amend".into(),
                    link_id: link_id.clone(),
                    symbol: symbol.into(),
                    side: None,
                    price: *price,
                    qty: *qty,
                });
                let item = BatchItem::amend(symbol, link_id, *price, *qty);
                if let Some(o) = self.table.get_mut(link_id) {
                    o.amend_sent(*price, *qty);
                }
                (link_id.clone(), item)
            }
            Action::Cancel { link_id } => {
                self.record(Event::OrderSent {
                    action: "cancel".into(),
                    link_id: link_id.clone(),
                    symbol: symbol.into(),
                    side: None,
                    price: None,
                    qty: None,
                });
                if let Some(o) = self.table.get_mut(link_id) {
                    o.phase = Phase::Cancelling;
                }
                (link_id.clone(), BatchItem::cancel(symbol, link_id))
            }
        }
    }

    /// One batch request, its budget already spent; its answer settles its orders and starts the
    /// next plan.
    pub(super) fn send_batch(
        &mut self,
        symbol: &str,
        kind: BatchKind,
        endpoint: &'static str,
        items: Vec<(String, BatchItem)>,
        admitted_at: Instant,
        ctx: &mut Context<Self>,
    ) {
        let links: Vec<String> = items.iter().map(|(l, _)| l.clone()).collect();
        let symbol = symbol.to_string();
        let body = batch_body(items.into_iter().map(|(_, item)| item).collect());
        let guard = InFlight::new(&self.in_flight);
        let sent = Instant::now();
        if kind == BatchKind::Create {
            self.last_create_sent.set(Some(sent));
        }
        // Tick to request ends here, as the request leaves this actor (the first of its symbol's
        // batches after a book update); tick to wire, when the connector starts on it.
        let tick = self.ticks.get_mut(&symbol).and_then(Option::take);
        if let Some(tick) = tick {
            self.metrics.tick_to_request.observe(tick.elapsed().as_secs_f64());
        }
        if kind == BatchKind::Create && self.breaker.quoting(&symbol, sent) == Quoting::Probe {
            self.breaker.probe_sent(&symbol, sent);
        }
        let call = Call::batch(endpoint, body, links.len()).admitted(admitted_at).tick(tick);
        // In the connector's mailbox from here, not when this actor next polls the future: its
        // thread starts on the request while this one finishes the plan.
        let answer = self.rest.send(call);
        let fut = async move {
            let r = answer.await.unwrap_or_else(|e| Err(RestError::Transport(e.to_string())));
            drop(guard);
            r
        };
        ctx.spawn(fut.into_actor(self).map(move |r, act, ctx| {
            if kind == BatchKind::Create && r.as_ref().is_err_and(RestError::outcome_unknown) {
                extend_doubt(&act.doubt_until, sent + act.create_window);
                for l in &links {
                    act.creates_in_doubt.record(l, sent + act.create_window);
                }
            }
            act.on_batch(kind, endpoint, &links, r);
            act.publish();
            act.act_on(Some(&symbol), ctx);
        }));
    }
}

impl Handler<DesiredQuotes> for OrderManager {
    type Result = ();

    fn handle(&mut self, msg: DesiredQuotes, ctx: &mut Self::Context) {
        self.fault.check("order_manager", "desired quotes");
        if !self.gate_open {
            return;
        }
        self.desired.insert(msg.symbol.clone(), msg.quotes);
        self.ticks.insert(msg.symbol.clone(), msg.tick);
        self.act_on(Some(&msg.symbol), ctx);
    }
}

/// The endpoints (with the priority their changes ask at) whose budget held changes back.
fn held_endpoints(held: Held) -> Vec<(&'static str, Priority)> {
    [
        (held.create, path::ORDER_CREATE_BATCH, Priority::Quote),
        (held.amend, path::ORDER_AMEND_BATCH, Priority::Quote),
        (held.cancel, path::ORDER_CANCEL_BATCH, Priority::Cancel),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(_, e, p)| (e, p))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_endpoints_that_held_changes_back_wake_the_plan() {
        let held = Held {
            create: 0,
            amend: 3,
            cancel: 0,
        };
        // An endpoint with room and nothing waiting must not be a wake-up: it would fire at once.
        assert_eq!(held_endpoints(held), vec![(path::ORDER_AMEND_BATCH, Priority::Quote)]);
        assert!(held_endpoints(Held::default()).is_empty());
    }
}
