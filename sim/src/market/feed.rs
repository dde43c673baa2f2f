//! Order book publication: for each depth Bybit offers, the top N levels last sent, and the delta
//! that brings a subscriber from there to the current book. `u` rises by exactly one per message
//! on each topic; a deleted level is sent as size `0` and only for levels that were sent.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use bybit_v5::rest::Level;

/// Depths served on `orderbook.{depth}.{symbol}`; 500 is kept for older clients.
pub const DEPTHS: [usize; 5] = [1, 50, 200, 500, 1000];

#[derive(Debug, Clone, Default)]
pub struct DepthFeed {
    pub depth: usize,
    pub bids: BTreeMap<Decimal, Decimal>,
    pub asks: BTreeMap<Decimal, Decimal>,
    pub u: u64,
}

/// What changed since the last message on one topic.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BookDelta {
    pub b: Vec<Level>,
    pub a: Vec<Level>,
}

impl BookDelta {
    pub fn is_empty(&self) -> bool {
        self.b.is_empty() && self.a.is_empty()
    }
}

fn top_bids(book: &BTreeMap<Decimal, Decimal>, n: usize) -> BTreeMap<Decimal, Decimal> {
    book.iter().rev().take(n).map(|(p, s)| (*p, *s)).collect()
}

fn top_asks(book: &BTreeMap<Decimal, Decimal>, n: usize) -> BTreeMap<Decimal, Decimal> {
    book.iter().take(n).map(|(p, s)| (*p, *s)).collect()
}

fn diff(old: &BTreeMap<Decimal, Decimal>, new: &BTreeMap<Decimal, Decimal>, zero: Decimal) -> Vec<Level> {
    let mut out = Vec::new();
    for (p, s) in new {
        if old.get(p) != Some(s) {
            out.push((*p, *s));
        }
    }
    for p in old.keys() {
        if !new.contains_key(p) {
            out.push((*p, zero));
        }
    }
    out
}

impl DepthFeed {
    pub fn new(depth: usize) -> Self {
        Self {
            depth,
            ..Default::default()
        }
    }

    /// Advance to the current book. Returns the delta to publish (with the new `u`), or `None`
    /// when this depth saw no change.
    pub fn advance(&mut self, bids: &BTreeMap<Decimal, Decimal>, asks: &BTreeMap<Decimal, Decimal>, zero: Decimal) -> Option<BookDelta> {
        let nb = top_bids(bids, self.depth);
        let na = top_asks(asks, self.depth);
        let mut b = diff(&self.bids, &nb, zero);
        let a = diff(&self.asks, &na, zero);
        if b.is_empty() && a.is_empty() {
            return None;
        }
        b.sort_by_key(|l| std::cmp::Reverse(l.0));
        let mut a = a;
        a.sort_by_key(|l| l.0);
        self.bids = nb;
        self.asks = na;
        self.u += 1;
        Some(BookDelta { b, a })
    }

    /// The levels as last published, best first, for a snapshot.
    pub fn snapshot(&self) -> (Vec<Level>, Vec<Level>) {
        (
            self.bids.iter().rev().map(|(p, s)| (*p, *s)).collect(),
            self.asks.iter().map(|(p, s)| (*p, *s)).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn book(levels: &[(Decimal, Decimal)]) -> BTreeMap<Decimal, Decimal> {
        levels.iter().copied().collect()
    }

    #[test]
    fn delta_replaces_inserts_and_deletes_only_sent_levels() {
        let mut f = DepthFeed::new(2);
        let bids = book(&[(dec!(10), dec!(1)), (dec!(9), dec!(1)), (dec!(8), dec!(1))]);
        let asks = book(&[(dec!(11), dec!(1))]);
        let d = f.advance(&bids, &asks, dec!(0)).unwrap();
        assert_eq!(d.b, vec![(dec!(10), dec!(1)), (dec!(9), dec!(1))]);
        assert_eq!(f.u, 1);
        // Best bid removed: level 8 enters the top 2, level 10 is deleted.
        let bids = book(&[(dec!(9), dec!(1)), (dec!(8), dec!(1))]);
        let d = f.advance(&bids, &asks, dec!(0)).unwrap();
        assert_eq!(d.b, vec![(dec!(10), dec!(0)), (dec!(8), dec!(1))]);
        assert_eq!(f.u, 2);
        assert!(f.advance(&bids, &asks, dec!(0)).is_none());
        assert_eq!(f.u, 2);
    }
}
