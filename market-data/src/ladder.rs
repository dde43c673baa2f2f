//! One side of a book: its levels as a sorted array with the best price last. A delta's levels
//! are mostly near the top, so setting one moves few entries; a binary search over ~50
//! contiguous prices costs less than a tree's walk, and the best is the last entry. While every
//! price has one number of decimals — a symbol's prices are written to its tick — the search
//! runs over their mantissas as plain integers.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use crate::price_key::PriceKey;

#[derive(Debug, Clone)]
pub struct Ladder {
    /// Bids: prices rise towards the end. Asks: prices fall towards the end.
    bids: bool,
    levels: Vec<(PriceKey, Decimal)>,
    /// While every level's price has `scale` decimals and a mantissa that fits 64 bits: those
    /// mantissas, in the levels' order. Any other price turns it off until a replacement.
    mantissas: Option<Mantissas>,
}

#[derive(Debug, Clone, PartialEq)]
struct Mantissas {
    scale: u32,
    keys: Vec<i64>,
}

/// `price`'s mantissa, when it has `scale` decimals and fits 64 bits.
fn mantissa_at(price: Decimal, scale: u32) -> Option<i64> {
    if price.scale() != scale {
        return None;
    }
    i64::try_from(price.mantissa()).ok()
}

/// The same levels on the same side (the search aid is not part of the value).
impl PartialEq for Ladder {
    fn eq(&self, o: &Self) -> bool {
        self.bids == o.bids && self.levels == o.levels
    }
}

impl Ladder {
    pub fn bids() -> Self {
        Self {
            bids: true,
            levels: Vec::new(),
            mantissas: None,
        }
    }

    pub fn asks() -> Self {
        Self {
            bids: false,
            levels: Vec::new(),
            mantissas: None,
        }
    }

    /// Where `price` is (Ok) or would go (Err).
    fn find(&self, price: PriceKey) -> Result<usize, usize> {
        if let Some(m) = &self.mantissas {
            if let Some(key) = mantissa_at(price.0, m.scale) {
                return if self.bids {
                    m.keys.binary_search(&key)
                } else {
                    m.keys.binary_search_by(|k| key.cmp(k))
                };
            }
        }
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
                if self.levels.is_empty() {
                    self.mantissas = Some(Mantissas {
                        scale: price.scale(),
                        keys: Vec::new(),
                    });
                }
                match self.mantissas.as_mut().map(|m| (mantissa_at(price, m.scale), m)) {
                    Some((Some(key), m)) => m.keys.insert(i, key),
                    Some((None, _)) => self.mantissas = None,
                    None => {}
                }
                self.levels.insert(i, (PriceKey(price), size));
                None
            }
        }
    }

    /// Remove a level: the size it had.
    pub fn remove(&mut self, price: Decimal) -> Option<Decimal> {
        let i = self.find(PriceKey(price)).ok()?;
        if let Some(m) = &mut self.mantissas {
            m.keys.remove(i);
        }
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
        let scale = kept.first().map_or(0, |(p, _)| p.0.scale());
        self.mantissas = kept
            .iter()
            .map(|(p, _)| mantissa_at(p.0, scale))
            .collect::<Option<Vec<i64>>>()
            .map(|keys| Mantissas { scale, keys });
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

    /// `tick` as a price: with one decimal, or (`other_scale`) the same value with two.
    fn price(tick: i64, other_scale: bool) -> Decimal {
        if other_scale {
            Decimal::new((1000 + tick) * 10, 2)
        } else {
            Decimal::new(1000 + tick, 1)
        }
    }

    proptest! {
        /// The same sizes, best and order as a map of the prices, whatever the sets, removes and
        /// replacements; with every price written one way (the integer search) or some written
        /// with another number of decimals (the search turns off, and back on at a replacement).
        #[test]
        fn keeps_the_levels_a_map_keeps(
            ops in prop::collection::vec((0i64..40, 0i64..4, 0u8..10), 0..200),
            replacements in prop::collection::vec(prop::collection::vec((0i64..40, 0i64..4), 0..12), 1..4),
            bids in any::<bool>(),
            mixed in any::<bool>(),
        ) {
            let mut ladder = if bids { Ladder::bids() } else { Ladder::asks() };
            let mut map: BTreeMap<PriceKey, Decimal> = BTreeMap::new();
            for (n, (tick, size, op)) in ops.into_iter().enumerate() {
                let price = price(tick, mixed && tick % 2 == 1);
                let size = Decimal::from(size);
                match op {
                    0 => {
                        let levels = &replacements[n % replacements.len()];
                        ladder.replace(levels.iter().map(|&(t, s)| (price_of(t, mixed), Decimal::from(s))));
                        map.clear();
                        // Zeros left out; then, of a price given twice, the last as written.
                        for &(t, s) in levels.iter().filter(|(_, s)| *s != 0) {
                            map.remove(&PriceKey(price_of(t, mixed)));
                            map.insert(PriceKey(price_of(t, mixed)), Decimal::from(s));
                        }
                    }
                    1..=3 => prop_assert_eq!(ladder.remove(price), map.remove(&PriceKey(price))),
                    _ => prop_assert_eq!(ladder.insert(price, size), map.insert(PriceKey(price), size)),
                }
                prop_assert_eq!(ladder.get(price), map.get(&PriceKey(price)).copied());
                let best = if bids { map.last_key_value() } else { map.first_key_value() };
                prop_assert_eq!(ladder.best(), best.map(|(p, s)| (p.0, *s)));
                let all: Vec<(Decimal, Decimal)> = map.iter().map(|(p, s)| (p.0, *s)).collect();
                let got: Vec<(Decimal, Decimal)> = ladder.ascending().collect();
                // The same prices as written (not only the same values).
                prop_assert_eq!(format!("{got:?}"), format!("{all:?}"));
            }
        }
    }

    /// A replacement's prices: written the second way on odd ticks when `mixed`.
    fn price_of(tick: i64, mixed: bool) -> Decimal {
        price(tick, mixed && tick % 3 == 1)
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
