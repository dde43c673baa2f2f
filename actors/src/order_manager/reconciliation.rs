//! Reconciliation: on a timer and after every private-stream gap, the open orders the exchange
//! lists against the order table.

use std::collections::HashSet;
use std::time::Instant;

use actix::prelude::*;
use futures_util::future::join_all;

use crate::account::reads::order_by_link_id;
use crate::messages::events::Event;
use crate::messages::private_stream::ReconcileNow;
use crate::orders::order_table::{Change, Phase};
use crate::shutdown::flatten::list_open_orders;

use super::*;

impl OrderManager {
    /// Learn the fate of orders in doubt, and cancel orders of this run nobody tracks.
    pub(super) fn reconcile(&mut self, ctx: &mut Context<Self>) {
        if !self.gate_open || self.dry_run || !self.fence.ever_opened() {
            return;
        }
        let rest = self.rest.clone();
        let symbols = self.symbols.clone();
        // Orders live before the listing was asked for: one it does not show closed meanwhile.
        let live_before: HashSet<String> = self
            .table
            .all()
            .filter(|o| o.phase == Phase::Live)
            .map(|o| o.link_id.clone())
            .collect();
        // A create in doubt missing from a listing asked for before its window closed may still land.
        let asked = Instant::now();
        ctx.spawn(
            async move { join_all(symbols.iter().map(|s| list_open_orders(&rest, s))).await }
                .into_actor(self)
                .map(move |lists, act, ctx| {
                    if !act.gate_open {
                        return;
                    }
                    for (symbol, list) in act.symbols.clone().iter().zip(lists) {
                        let Ok(list) = list else { continue };
                        let listed: HashSet<&str> = list.iter().map(|o| o.order_link_id.as_str()).collect();
                        let doubtful: Vec<String> = act
                            .table
                            .for_symbol(symbol)
                            .filter(|o| o.phase == Phase::Unknown && !listed.contains(o.link_id.as_str()))
                            .filter(|o| act.creates_in_doubt.absence_proves_gone(&o.link_id, asked))
                            .map(|o| o.link_id.clone())
                            .collect();
                        for l in doubtful {
                            act.table.remove(&l);
                            act.creates_in_doubt.settled(&l);
                        }
                        for l in &listed {
                            act.creates_in_doubt.settled(l);
                        }
                        let ghosts: Vec<String> = act
                            .table
                            .for_symbol(symbol)
                            .filter(|o| o.phase == Phase::Live && live_before.contains(&o.link_id) && !listed.contains(o.link_id.as_str()))
                            .map(|o| o.link_id.clone())
                            .collect();
                        if !ghosts.is_empty() {
                            act.settle_ghosts(symbol, ghosts, ctx);
                        }
                        let mut strays = Vec::new();
                        for info in &list {
                            if act.table.apply(info) == Change::Unknown && act.ids.is_this_run(&info.order_link_id) {
                                strays.push(info.order_link_id.clone());
                            }
                        }
                        if !strays.is_empty() {
                            log::warn!(symbol = symbol.as_str(), orders = strays.len(); "{symbol}: cancelling {} untracked orders of this run", strays.len());
                            act.cancel_strays(symbol, strays);
                        }
                    }
                    let table = &act.table;
                    act.creates_in_doubt.retain(|l| table.get(l).is_some());
                    act.publish();
                    act.act(ctx);
                }),
        );
    }
}

impl OrderManager {
    /// Orders the bot believed live that the exchange no longer lists: their fate from the order
    /// history (filled or cancelled during a gap), applied as a stream update would be.
    fn settle_ghosts(&mut self, symbol: &str, ghosts: Vec<String>, ctx: &mut Context<Self>) {
        log::info!(symbol = symbol; "{symbol}: {} order(s) believed live are no longer listed: asking the order history", ghosts.len());
        let (rest, symbol) = (self.rest.clone(), symbol.to_string());
        ctx.spawn(
            async move {
                let mut fates = Vec::new();
                for link in ghosts {
                    let fate = order_by_link_id(&rest, &symbol, &link).await;
                    fates.push((link, fate));
                }
                fates
            }
            .into_actor(self)
            .map(|fates, act, ctx| {
                for (link, fate) in fates {
                    match fate {
                        Ok(Some(info)) => {
                            if let Change::Closed { status, reason } = act.table.apply(&info) {
                                act.replace.remove(&link);
                                act.record(Event::OrderClosed {
                                    link_id: link,
                                    symbol: info.symbol.clone(),
                                    status: format!("{status:?}"),
                                    reason,
                                });
                            }
                        }
                        Ok(None) => {
                            log::warn!("{link}: believed live, neither listed nor in the order history: forgotten");
                            act.table.remove(&link);
                        }
                        Err(e) => log::warn!("{link}: looking up its fate failed ({e}); the next reconciliation asks again"),
                    }
                }
                act.publish();
                act.act(ctx);
            }),
        );
    }
}

impl Handler<ReconcileNow> for OrderManager {
    type Result = ();

    fn handle(&mut self, _: ReconcileNow, ctx: &mut Self::Context) {
        log::info!("reconciling orders with the exchange after a reconnect");
        self.reconcile(ctx);
    }
}
