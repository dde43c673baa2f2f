//! An order book rebuilt from recorded frames: a snapshot replaces it, a delta that follows sets
//! or (size 0) removes levels, and a delta after a gap is not applied — the book is *unknown*
//! until the next snapshot, never run on a gap.

use rust_decimal::Decimal;

use crate::continuity::{BookContinuity, Continuity};
use crate::event::{BookFrame, Level};
use crate::ladder::Ladder;
use crate::price_key::same_value;

/// One level whose size changed, as `(price, size before, size after)`; 0 for an absent level.
pub type LevelChange = (Decimal, Decimal, Decimal);

/// What applying a frame changed, per side.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Changes {
    pub bids: Vec<LevelChange>,
    pub asks: Vec<LevelChange>,
}

#[derive(Debug, Clone)]
pub struct Book {
    pub bids: Ladder,
    pub asks: Ladder,
    continuity: BookContinuity,
    /// Whether the book is whole: a snapshot seen and no gap since.
    known: bool,
}

impl Default for Book {
    fn default() -> Self {
        Self {
            bids: Ladder::bids(),
            asks: Ladder::asks(),
            continuity: BookContinuity::default(),
            known: false,
        }
    }
}

fn set(side: &mut Ladder, levels: &[Level], out: &mut Vec<LevelChange>) {
    for (price, size) in levels {
        let before = if size.is_zero() {
            side.remove(*price)
        } else {
            side.insert(*price, *size)
        };
        let before = before.unwrap_or_default();
        if !same_value(before, *size) {
            out.push((*price, before, *size));
        }
    }
}

/// A snapshot's side: what went (lowest price first), then what came or changed size.
fn replace(side: &mut Ladder, levels: &[Level], out: &mut Vec<LevelChange>) {
    let old = side.clone();
    side.replace(levels.iter().copied());
    for (p, s) in old.ascending() {
        if side.get(p).is_none() {
            out.push((p, s, Decimal::ZERO));
        }
    }
    for (p, s) in side.ascending() {
        let before = old.get(p).unwrap_or_default();
        if before != s {
            out.push((p, before, s));
        }
    }
}

impl Book {
    /// Apply a frame if it follows; what it changed, or how it failed to follow.
    pub fn apply(&mut self, f: &BookFrame) -> Result<Changes, Continuity> {
        let mut changes = Changes::default();
        self.apply_into(f, &mut changes).map(|()| changes)
    }

    /// `apply`, with what it changed written into `changes` (cleared first): a caller applying
    /// millions of frames keeps one and allocates nothing per frame.
    pub fn apply_into(&mut self, f: &BookFrame, changes: &mut Changes) -> Result<(), Continuity> {
        changes.bids.clear();
        changes.asks.clear();
        let verdict = self.continuity.check(f.snapshot, f.u, f.seq);
        if !verdict.applies() {
            if matches!(verdict, Continuity::Gap { .. }) {
                self.known = false;
            }
            return Err(verdict);
        }
        if f.snapshot {
            replace(&mut self.bids, &f.bids, &mut changes.bids);
            replace(&mut self.asks, &f.asks, &mut changes.asks);
            self.known = true;
        } else {
            set(&mut self.bids, &f.bids, &mut changes.bids);
            set(&mut self.asks, &f.asks, &mut changes.asks);
        }
        Ok(())
    }

    /// Frames were lost (a reconnect, a gap marker): nothing applies until a snapshot.
    pub fn lose(&mut self) {
        self.continuity.reset();
        self.known = false;
    }

    pub fn is_known(&self) -> bool {
        self.known
    }

    pub fn best_bid(&self) -> Option<Decimal> {
        self.bids.best().map(|(p, _)| p)
    }

    pub fn best_ask(&self) -> Option<Decimal> {
        self.asks.best().map(|(p, _)| p)
    }

    /// The best bid and its size.
    pub fn top_bid(&self) -> Option<(Decimal, Decimal)> {
        self.bids.best()
    }

    /// The best ask and its size.
    pub fn top_ask(&self) -> Option<(Decimal, Decimal)> {
        self.asks.best()
    }

    /// The size resting at `price` on the bid side (`bid`) or the ask side; 0 for no level.
    pub fn size_at(&self, bid: bool, price: Decimal) -> Decimal {
        let side = if bid { &self.bids } else { &self.asks };
        side.get(price).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn frame(snapshot: bool, u: u64, bids: &[Level], asks: &[Level]) -> BookFrame {
        BookFrame {
            symbol: "X".into(),
            depth: 50,
            snapshot,
            bids: bids.to_vec(),
            asks: asks.to_vec(),
            u,
            seq: u,
        }
    }

    #[test]
    fn deltas_set_and_remove_levels_and_a_gap_leaves_the_book_unknown_until_a_snapshot() {
        let mut b = Book::default();
        assert!(b.apply(&frame(false, 1, &[(dec!(10), dec!(1))], &[])).is_err(), "no snapshot yet");
        b.apply(&frame(true, 5, &[(dec!(10), dec!(1)), (dec!(9), dec!(2))], &[(dec!(11), dec!(3))]))
            .unwrap();
        let c = b.apply(&frame(false, 6, &[(dec!(10), dec!(0))], &[(dec!(11), dec!(4))])).unwrap();
        assert_eq!(c.bids, vec![(dec!(10), dec!(1), dec!(0))]);
        assert_eq!(c.asks, vec![(dec!(11), dec!(3), dec!(4))]);
        assert_eq!(b.best_bid(), Some(dec!(9)));
        assert!(b.apply(&frame(false, 8, &[(dec!(9), dec!(0))], &[])).is_err());
        assert!(!b.is_known());
        assert_eq!(b.best_bid(), Some(dec!(9)), "the gap's delta was not applied");
        let c = b.apply(&frame(true, 20, &[(dec!(8), dec!(1))], &[(dec!(11), dec!(4))])).unwrap();
        assert!(b.is_known());
        assert_eq!(c.bids, vec![(dec!(9), dec!(2), dec!(0)), (dec!(8), dec!(0), dec!(1))]);
        assert!(c.asks.is_empty());
    }
}
