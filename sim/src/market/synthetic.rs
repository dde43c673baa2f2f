//! Synthetic liquidity: the rest of the market around a seeded random walk. Level sizes stay
//! put while the mid moves so that deltas stay small, as on a real book; a few near-top levels
//! change size each tick so the stream is never silent.

use std::collections::BTreeMap;

use rand::Rng;
use rust_decimal::prelude::*;

use crate::market::instrument::InstrumentSpec;

#[derive(Debug, Clone, Copy)]
pub struct SyntheticParams {
    /// Levels per side.
    pub levels: usize,
    /// Empty ticks between the mid and the best synthetic level on each side.
    pub gap_ticks: u32,
    /// Typical level size as a multiple of the minimum order quantity.
    pub size_multiple: u32,
}

impl Default for SyntheticParams {
    fn default() -> Self {
        Self {
            levels: 200,
            gap_ticks: 2,
            size_multiple: 20,
        }
    }
}

/// The market's resting liquidity other than the accounts' orders: the random walk's synthetic
/// levels, or the real book of a replay or a mirror.
#[derive(Debug, Clone, Default)]
pub struct Liquidity {
    pub bids: BTreeMap<Decimal, Decimal>,
    pub asks: BTreeMap<Decimal, Decimal>,
}

impl Liquidity {
    /// Move the book to a new mid: drop levels that now sit inside the spread or too far out,
    /// fill missing levels with fresh sizes, and jitter a few sizes near the top.
    pub fn retarget(&mut self, spec: &InstrumentSpec, mid: Decimal, params: SyntheticParams, rng: &mut impl Rng) {
        let tick = spec.tick_size;
        let gap = Decimal::from(params.gap_ticks);
        let best_bid = (mid / tick).floor() * tick - gap * tick;
        let best_ask = (mid / tick).ceil() * tick + gap * tick;
        let n = Decimal::from(params.levels as u64);
        let lowest_bid = best_bid - (n - Decimal::ONE) * tick;
        let highest_ask = best_ask + (n - Decimal::ONE) * tick;
        self.bids.retain(|p, _| *p <= best_bid && *p >= lowest_bid);
        self.asks.retain(|p, _| *p >= best_ask && *p <= highest_ask);
        for k in 0..params.levels {
            let off = Decimal::from(k as u64) * tick;
            let bid = spec.fmt_price(best_bid - off);
            if bid > Decimal::ZERO {
                self.bids.entry(bid).or_insert_with(|| random_size(spec, params, rng));
            }
            let ask = spec.fmt_price(best_ask + off);
            self.asks.entry(ask).or_insert_with(|| random_size(spec, params, rng));
        }
        for _ in 0..3 {
            let k = Decimal::from(rng.gen_range(0..params.levels.min(20)) as u64) * tick;
            let side_is_bid = rng.gen_bool(0.5);
            let (book, price) = if side_is_bid {
                (&mut self.bids, best_bid - k)
            } else {
                (&mut self.asks, best_ask + k)
            };
            if let Some(size) = book.get_mut(&spec.fmt_price(price)) {
                *size = random_size(spec, params, rng);
            }
        }
    }

    pub fn best_bid(&self) -> Option<Decimal> {
        self.bids.keys().next_back().copied()
    }

    pub fn best_ask(&self) -> Option<Decimal> {
        self.asks.keys().next().copied()
    }
}

fn random_size(spec: &InstrumentSpec, params: SyntheticParams, rng: &mut impl Rng) -> Decimal {
    let lots = rng.gen_range(1..=params.size_multiple.max(1) * 2);
    spec.fmt_qty(spec.min_qty * Decimal::from(lots))
}

/// One step of a geometric random walk, `sigma_bps` per step, from a standard normal draw.
pub fn walk(mid: Decimal, sigma_bps: f64, rng: &mut impl Rng) -> Decimal {
    // Box-Muller: two uniforms give one standard normal.
    let u1: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.gen();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    let factor = (z * sigma_bps / 10_000.0).exp();
    let next = mid.to_f64().unwrap_or(0.0) * factor;
    Decimal::from_f64(next).unwrap_or(mid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::instrument::default_instruments;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rust_decimal_macros::dec;

    #[test]
    fn book_is_never_crossed_and_on_tick() {
        let spec = &default_instruments()[0];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut book = Liquidity::default();
        let mut mid = dec!(30000);
        for _ in 0..500 {
            mid = walk(mid, 2.0, &mut rng);
            book.retarget(spec, mid, SyntheticParams::default(), &mut rng);
            assert!(book.best_bid().unwrap() < mid && mid < book.best_ask().unwrap());
            assert!(book.bids.keys().chain(book.asks.keys()).all(|p| spec.on_tick(*p)));
            assert_eq!(book.bids.len(), 200);
        }
    }

    #[test]
    fn same_seed_same_walk() {
        let run = || {
            let mut rng = ChaCha8Rng::seed_from_u64(42);
            (0..100).fold(dec!(100), |m, _| walk(m, 1.0, &mut rng))
        };
        assert_eq!(run(), run());
    }
}
