//! Reconciliation: on a timer and after every private-stream gap, the open orders the exchange
//! lists against the order table.

use std::collections::HashSet;

use actix::prelude::*;
use futures_util::future::join_all;

use crate::messages::private_stream::ReconcileNow;
use crate::orders::order_table::{Change, Phase};
use crate::shutdown::flatten::list_open_orders;

use super::*;

impl OrderManager {
    /// Learn the fate of orders in doubt, and cancel orders of this run nobody tracks.
    pub(super) fn reconcile(&mut self, ctx: &mut Context<Self>) {
        if !self.gate_open || self.dry_run {
            return;
        }
        let rest = self.rest.clone();
        let symbols = self.symbols.clone();
        ctx.spawn(
            async move { join_all(symbols.iter().map(|s| list_open_orders(&rest, s))).await }
                .into_actor(self)
                .map(|lists, act, ctx| {
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
                            .map(|o| o.link_id.clone())
                            .collect();
                        for l in doubtful {
                            act.table.remove(&l);
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
