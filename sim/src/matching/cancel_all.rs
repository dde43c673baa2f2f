//! Cancel-all: up to 500 orders of the named kinds in a symbol, base coin or settle coin at once
//! (chosen at random when there are more), taken off at once or — as Bybit does — a moment after
//! the answer that lists them.

use rand::Rng;

use bybit_v5::rest::{OrderIds, CANCEL_ALL_CAP};
use bybit_v5::OrderStatus;

use crate::exchange::Exchange;
use crate::matching::conditional::OrderKind;

/// What a cancel-all names: a symbol, else a base coin, else a settle coin (Bybit's priority);
/// none of them: every symbol (the dead-man switch).
#[derive(Debug, Clone, Copy, Default)]
pub struct CancelAllScope<'a> {
    pub symbol: Option<&'a str>,
    pub base_coin: Option<&'a str>,
    pub settle_coin: Option<&'a str>,
}

impl Exchange {
    /// Cancel up to 500 open orders (chosen at random when there are more) matching the scope, at once.
    pub fn cancel_all(
        &mut self,
        account: usize,
        scope: CancelAllScope<'_>,
        kinds: &[OrderKind],
        cancel_type: &str,
        now: u64,
    ) -> Vec<OrderIds> {
        let seqs = self.pick_for_cancel_all(account, scope, kinds);
        self.finish_cancels(&seqs, cancel_type, now)
    }

    /// The orders a cancel-all takes: up to 500 open orders of `kinds` matching the scope (chosen
    /// at random when there are more), as Bybit documents it.
    pub fn pick_for_cancel_all(&mut self, account: usize, scope: CancelAllScope<'_>, kinds: &[OrderKind]) -> Vec<u64> {
        let mut seqs: Vec<u64> = self
            .orders
            .values()
            .chain(self.conditional.values())
            .filter(|o| o.account == account && kinds.contains(&OrderKind::of(&o.info)))
            .filter(|o| {
                let m = &self.markets[&o.info.symbol];
                match (scope.symbol, scope.base_coin, scope.settle_coin) {
                    (Some(s), _, _) => o.info.symbol == s,
                    (None, Some(b), _) => m.spec.base_coin == b,
                    (None, None, Some(c)) => c == "USDT",
                    (None, None, None) => true,
                }
            })
            .map(|o| o.seq)
            .collect();
        seqs.sort_unstable();
        while seqs.len() > CANCEL_ALL_CAP {
            let i = self.rng.gen_range(0..seqs.len());
            seqs.swap_remove(i);
        }
        seqs
    }

    /// The ids a cancel-all answers with, for orders it picked.
    pub fn ids_of(&self, seqs: &[u64]) -> Vec<OrderIds> {
        seqs.iter()
            .filter_map(|s| self.orders.get(s).or_else(|| self.conditional.get(s)))
            .map(|o| OrderIds {
                order_id: o.info.order_id.clone(),
                order_link_id: o.info.order_link_id.clone(),
            })
            .collect()
    }

    /// Cancel those of `seqs` still open (a cancel-all's asynchronous second half: meanwhile an
    /// order may have filled or been cancelled by another request).
    pub fn finish_cancels(&mut self, seqs: &[u64], cancel_type: &str, now: u64) -> Vec<OrderIds> {
        let mut out = Vec::with_capacity(seqs.len());
        let mut touched = std::collections::BTreeSet::new();
        for seq in seqs {
            if self.conditional.contains_key(seq) {
                out.extend(self.finish_waiting(*seq, OrderStatus::Cancelled, cancel_type, now));
                continue;
            }
            let Some(o) = self.orders.get(seq) else { continue };
            touched.insert(o.info.symbol.clone());
            out.push(self.finish(*seq, OrderStatus::Cancelled, cancel_type, "EC_PerCancelRequest", now));
        }
        for s in touched {
            self.publish_book(&s, now);
        }
        out
    }
}
