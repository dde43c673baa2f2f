//! One side of a book: its levels as a sorted array with the best price last. A delta's levels
//! are mostly near the top, so setting one moves few entries; a binary search over ~50
//! contiguous prices costs less than a tree's walk, and the best is the last entry.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use crate::price_key::PriceKey;

#[derive(Debug, Clone, PartialEq)]
pub struct Ladder {
    /// Bids: prices rise towards the end. Asks: prices fall towards the end.
    bids: bool,
    levels: Vec<(PriceKey, Decimal)>,
}

impl Ladder {
    pub fn bids() -> Self {
        Self {
            bids: true,
            levels: Vec::new(),
        }
    }

    pub fn asks() -> Self {
        Self {
            bids: false,
            levels: Vec::new(),
        }
    }

    /// Where `price` is (Ok) or would go (Err).
    fn find(&self, price: PriceKey) -> Result<usize, usize> {
        if self.bids {
            self.levels.binary_search_by(|(p, _)| p.cmp(&price))
        } else {
            self.levels.binary_search_by(|(p, _)| price.cmp(p))
        }
    }

    /// The size at `price`, if the level is there.
    pub fn get(&self, price: Decimal) -> Option<Decimal> {
        self.find(PriceKey(price)).ok().map(|i| self.levels[i].1)
    }

    /// Set a level's size: the size it had. A level that is there keeps its price as first
    /// written (as a map keeps its key).
    pub fn insert(&mut self, price: Decimal, size: Decimal) -> Option<Decimal> {
        match self.find(PriceKey(price)) {
            Ok(i) => Some(std::mem::replace(&mut self.levels[i].1, size)),
            Err(i) => {
                self.levels.insert(i, (PriceKey(price), size));
                None
            }
        }
    }

    /// Remove a level: the size it had.
    pub fn remove(&mut self, price: Decimal) -> Option<Decimal> {
        let i = self.find(PriceKey(price)).ok()?;
        Some(self.levels.remove(i).1)
    }

    /// The best level: the highest bid or the lowest ask.
    pub fn best(&self) -> Option<(Decimal, Decimal)> {
        self.levels.last().map(|(p, s)| (p.0, *s))
    }

    /// The levels from the lowest price up.
    pub fn ascending(&self) -> Box<dyn Iterator<Item = (Decimal, Decimal)> + '_> {
        let it = self.levels.iter().map(|(p, s)| (p.0, *s));
        if self.bids {
            Box::new(it)
        } else {
            Box::new(it.rev())
        }
    }

    /// Replace every level with `levels` (sizes of 0 left out; of a price given twice, the
    /// last).
    pub fn replace(&mut self, levels: impl Iterator<Item = (Decimal, Decimal)>) {
        let mut new: Vec<(PriceKey, Decimal)> = levels.filter(|(_, s)| !s.is_zero()).map(|(p, s)| (PriceKey(p), s)).collect();
        // Stable: of equal prices the last given ends last, and is the one kept.
        new.sort_by_key(|l| l.0);
        let mut kept: Vec<(PriceKey, Decimal)> = Vec::with_capacity(new.len());
        for level in new {
            match kept.last_mut() {
                Some(last) if last.0.cmp(&level.0) == Ordering::Equal => *last = level,
                _ => kept.push(level),
            }
        }
        if !self.bids {
            kept.reverse();
        }
        self.levels = kept;
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// The same sizes, best and order as a map of the prices, whatever the sets and removes.
        #[test]
        fn keeps_the_levels_a_map_keeps(ops in prop::collection::vec((0i64..40, 0i64..4, any::<bool>()), 0..200), bids in any::<bool>()) {
            let mut ladder = if bids { Ladder::bids() } else { Ladder::asks() };
            let mut map: BTreeMap<PriceKey, Decimal> = BTreeMap::new();
            for (tick, size, remove) in ops {
                // Two ways to write one price: 10.0 and 10.00.
                let price = if tick % 2 == 0 { Decimal::new(1000 + tick, 1) } else { Decimal::new((1000 + tick) * 10, 2) };
                let size = Decimal::from(size);
                if remove {
                    prop_assert_eq!(ladder.remove(price), map.remove(&PriceKey(price)));
                } else {
                    prop_assert_eq!(ladder.insert(price, size), map.insert(PriceKey(price), size));
                }
                prop_assert_eq!(ladder.get(price), map.get(&PriceKey(price)).copied());
                let best = if bids { map.last_key_value() } else { map.first_key_value() };
                prop_assert_eq!(ladder.best(), best.map(|(p, s)| (p.0, *s)));
                let all: Vec<(Decimal, Decimal)> = map.iter().map(|(p, s)| (p.0, *s)).collect();
                prop_assert_eq!(ladder.ascending().collect::<Vec<_>>(), all);
            }
        }
    }

    #[test]
    fn a_replacement_keeps_the_last_of_a_price_given_twice_and_leaves_out_zeros() {
        let mut asks = Ladder::asks();
        let d = |m: i64, s: u32| Decimal::new(m, s);
        asks.replace([(d(11, 0), d(1, 0)), (d(10, 0), d(2, 0)), (d(110, 1), d(3, 0)), (d(12, 0), d(0, 0))].into_iter());
        assert_eq!(
            asks.ascending().collect::<Vec<_>>(),
            vec![(d(10, 0), d(2, 0)), (d(110, 1), d(3, 0))]
        );
        assert_eq!(asks.best(), Some((d(10, 0), d(2, 0))));
        assert_eq!(asks.len(), 2);
    }
}
