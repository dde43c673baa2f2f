//! A ratio in basis points worked out once per pair of decimals. The touch distance and the
//! markouts divide two prices on every sample; the prices revisit a few hundred ticks all day,
//! and a decimal division (then its conversion to f64) costs ten times a lookup. Keyed by each
//! decimal's bits, not its value: a hit is the very computation the miss would do.

use mmbot_actors::market::bounded_memo::BoundedMemo;
use rust_decimal::Decimal;

/// Pairs kept at most (the oldest half is dropped when full): memory stays flat on long runs.
const KEPT: usize = 16_384;

/// Two decimals by their bits.
type Pair = ([u8; 16], [u8; 16]);

#[derive(Debug)]
pub struct RatioMemo(BoundedMemo<Pair, f64>);

impl Default for RatioMemo {
    fn default() -> Self {
        Self(BoundedMemo::new(KEPT))
    }
}

impl RatioMemo {
    /// `work(a, b)`, from the memo when this pair was asked before.
    pub fn get(&mut self, a: Decimal, b: Decimal, work: impl FnOnce(Decimal, Decimal) -> f64) -> f64 {
        self.0.get_or_work((a.serialize(), b.serialize()), || work(a, b))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_what_the_work_answers_and_stays_bounded() {
        let mut memo = RatioMemo::default();
        let work = |a: Decimal, b: Decimal| rust_decimal::prelude::ToPrimitive::to_f64(&(a / b)).unwrap_or(f64::NAN);
        let mut calls = 0;
        for round in 0..3 {
            for i in 1..=(KEPT as i64 + 100) {
                let (a, b) = (Decimal::new(i, 1), Decimal::new(7, 0));
                let got = memo.get(a, b, |a, b| {
                    calls += 1;
                    work(a, b)
                });
                assert_eq!(got.to_bits(), work(a, b).to_bits());
                assert!(memo.len() <= KEPT, "round {round}: {} kept", memo.len());
            }
        }
        assert!(calls > KEPT + 100, "a full memo forgets, and works out again what it forgot");
        // The same value written with another scale is another key, worked out on its own.
        let before = calls;
        memo.get(Decimal::new(10, 1), Decimal::new(7, 0), |a, b| {
            calls += 1;
            work(a, b)
        });
        memo.get(Decimal::new(100, 2), Decimal::new(7, 0), |a, b| {
            calls += 1;
            work(a, b)
        });
        assert!(calls > before);
    }
}
