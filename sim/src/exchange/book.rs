//! The public book: the market's liquidity plus every resting order of the accounts, its best
//! prices, and the depth feeds' snapshot and delta frames.

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;

use bybit_v5::rest::Level;
use bybit_v5::ws::{BookData, BookMessage, UpdateType};

use super::*;

/// One `orderbook.*` frame as text.
fn book_frame(topic: &str, kind: UpdateType, symbol: &str, (b, a): (Vec<Level>, Vec<Level>), u: u64, seq: u64, now: u64) -> String {
    let msg = BookMessage {
        topic: topic.to_string(),
        kind,
        ts: now,
        data: BookData {
            s: symbol.to_string(),
            b,
            a,
            u,
            seq,
        },
        cts: now,
    };
    serde_json::to_string(&msg).expect("serialisable")
}

impl Exchange {
    /// Run `f` with book publishing deferred to its end: one delta per changed symbol.
    pub fn coalescing_books<T>(&mut self, now: u64, f: impl FnOnce(&mut Self) -> T) -> T {
        let outer = self.deferred_books.replace(Default::default());
        let out = f(self);
        let changed = std::mem::replace(&mut self.deferred_books, outer).unwrap_or_default();
        for symbol in changed {
            self.publish_book(&symbol, now);
        }
        out
    }

    /// The public book: synthetic liquidity plus every resting user order.
    pub fn aggregated(&self, symbol: &str) -> (BTreeMap<Decimal, Decimal>, BTreeMap<Decimal, Decimal>) {
        let m = &self.markets[symbol];
        let mut bids = m.outside.bids.clone();
        let mut asks = m.outside.asks.clone();
        for (book, out) in [(&m.bids, &mut bids), (&m.asks, &mut asks)] {
            for (price, queue) in book {
                let total: Decimal = queue.iter().filter_map(|s| self.orders.get(s)).map(|o| o.info.leaves_qty).sum();
                if !total.is_zero() {
                    let e = out.entry(*price).or_insert(Decimal::ZERO);
                    *e = m.spec.fmt_qty(*e + total);
                }
            }
        }
        (bids, asks)
    }

    pub fn best_bid(&self, symbol: &str) -> Option<Decimal> {
        let m = &self.markets[symbol];
        let user = m.bids.keys().next_back().copied();
        match (user, m.outside.best_bid()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn best_ask(&self, symbol: &str) -> Option<Decimal> {
        let m = &self.markets[symbol];
        let user = m.asks.keys().next().copied();
        match (user, m.outside.best_ask()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Publish the book deltas (every depth that changed) and a ticker delta.
    pub fn publish_book(&mut self, symbol: &str, now: u64) {
        if let Some(deferred) = &mut self.deferred_books {
            deferred.insert(symbol.to_string());
            return;
        }
        let (bids, asks) = self.aggregated(symbol);
        let m = self.markets.get_mut(symbol).expect("known symbol");
        let zero = m.spec.fmt_qty(Decimal::ZERO);
        let mut changed = false;
        for feed in &mut m.feeds {
            if let Some(delta) = feed.advance(&bids, &asks, zero) {
                if !changed {
                    m.cross_seq += 1;
                    changed = true;
                }
                // Depth 1 is snapshot-only on Bybit.
                let (kind, b, a) = if feed.depth == 1 {
                    let (b, a) = feed.snapshot();
                    (UpdateType::Snapshot, b, a)
                } else {
                    (UpdateType::Delta, delta.b, delta.a)
                };
                let topic = format!("orderbook.{}.{}", feed.depth, symbol);
                let text: Arc<str> = book_frame(&topic, kind, symbol, (b, a), feed.u, m.cross_seq, now).into();
                let _ = self.public_tx.send(PublicEvent {
                    topic,
                    u: Some(feed.u),
                    text,
                    visible_at: self.visible_at,
                });
            }
        }
        self.publish_ticker(symbol, now);
    }

    /// A snapshot frame for a new subscriber of `orderbook.{depth}.{symbol}`.
    pub fn book_snapshot(&self, depth: usize, symbol: &str, now: u64) -> Option<(u64, String)> {
        let m = self.markets.get(symbol)?;
        let feed = m.feeds.iter().find(|f| f.depth == depth)?;
        let topic = format!("orderbook.{depth}.{symbol}");
        Some((
            feed.u,
            book_frame(&topic, UpdateType::Snapshot, symbol, feed.snapshot(), feed.u, m.cross_seq, now),
        ))
    }
}
