//! A symbol's last quotes and what they were worked out from. `compute_quotes` is a pure
//! function of the parameters and filters (fixed per symbol), the top's two prices, the
//! inventory, the sides risk allows and — avellaneda only — σ. Most quotes are asked for after
//! a size at the touch changed, not a price, or after the price came back to where it was: a
//! question asked before, answered without working it out again. The answers kept are bounded
//! (the oldest half is dropped when full), so a long run's memory stays flat.

use crate::market::bounded_memo::BoundedMemo;

use crate::market::quoting::{compute_quotes, Filters, MarketState, Model, Quote, QuoteParams, Sides};

/// What the quotes depend on, bit for bit: a decimal by its mantissa and scale (not its
/// value), σ by its bits. Equal keys are the very same inputs, so the answer kept is what
/// `compute_quotes` would give, down to how each number is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Inputs {
    bid: [u8; 16],
    ask: [u8; 16],
    inventory: [u8; 16],
    buy: bool,
    sell: bool,
    sigma: u64,
}

impl Inputs {
    fn of(params: &QuoteParams, m: &MarketState, sides: Sides) -> Self {
        Self {
            bid: m.top.bid.serialize(),
            ask: m.top.ask.serialize(),
            inventory: m.inventory.serialize(),
            buy: sides.buy,
            sell: sides.sell,
            // The fixed model never reads σ, which moves with every mid.
            sigma: match params.model {
                Model::Avellaneda => m.sigma.to_bits(),
                Model::Fixed => 0,
            },
        }
    }
}

/// Answers kept at most: a few hours of a busy symbol's distinct tops, a few MB.
const KEPT: usize = 8_192;

#[derive(Debug)]
pub struct QuoteMemo {
    last: Option<(Inputs, Vec<Quote>)>,
    /// Earlier answers.
    seen: BoundedMemo<Inputs, Vec<Quote>>,
}

impl Default for QuoteMemo {
    fn default() -> Self {
        Self {
            last: None,
            seen: BoundedMemo::new(KEPT),
        }
    }
}

impl QuoteMemo {
    /// `compute_quotes(params, f, m, sides)`, for the parameters and filters this memo is kept with.
    pub fn quotes(&mut self, params: &QuoteParams, f: &Filters, m: &MarketState, sides: Sides) -> Vec<Quote> {
        let inputs = Inputs::of(params, m, sides);
        if let Some((seen, quotes)) = &self.last {
            if *seen == inputs {
                return quotes.clone();
            }
        }
        let quotes = self.seen.get_or_work(inputs, || compute_quotes(params, f, m, sides));
        self.last = Some((inputs, quotes.clone()));
        quotes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::book::Top;
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    fn params(model: Model) -> QuoteParams {
        QuoteParams {
            model,
            levels: 2,
            inventory_skew_bps: dec!(3),
            ..Default::default()
        }
    }

    /// A walk that often repeats its last inputs, sometimes writes a price with another scale,
    /// and changes σ, sides and inventory now and then.
    fn states() -> impl Strategy<Value = Vec<(i64, i64, u32, i64, bool, bool, u8)>> {
        prop::collection::vec(
            (
                649_990i64..650_010,
                1i64..4,
                0u32..3,
                -3i64..4,
                any::<bool>(),
                any::<bool>(),
                0u8..3,
            ),
            1..60,
        )
    }

    #[test]
    fn a_full_memo_forgets_the_oldest_half_and_still_answers_what_compute_quotes_answers() {
        let (p, f) = (params(Model::Fixed), Filters::btcusdt());
        let mut memo = QuoteMemo::default();
        let state = |i: i64| MarketState {
            top: Top {
                bid: Decimal::new(600_000 + i, 1),
                bid_size: dec!(1),
                ask: Decimal::new(600_002 + i, 1),
                ask_size: dec!(1),
            },
            sigma: 0.5,
            inventory: Decimal::ZERO,
        };
        // Twice round more distinct tops than it keeps, then the newest again.
        for i in (0..KEPT as i64 + 500)
            .chain(0..KEPT as i64 + 500)
            .chain((KEPT as i64)..(KEPT as i64 + 500))
        {
            let m = state(i);
            same_quotes(memo.quotes(&p, &f, &m, Sides::BOTH), compute_quotes(&p, &f, &m, Sides::BOTH));
            assert!(memo.seen.len() <= KEPT, "{} kept", memo.seen.len());
        }
        assert!(memo.seen.len() > KEPT / 2, "the newest half stays");
    }

    fn same_quotes(got: Vec<Quote>, want: Vec<Quote>) {
        let printed = |q: &[Quote]| q.iter().map(|x| format!("{} {}", x.price, x.qty)).collect::<Vec<_>>();
        assert_eq!(printed(&got), printed(&want));
        assert_eq!(got, want);
    }

    proptest! {
        /// Asked in any order, with inputs repeated or not, the memo answers what
        /// `compute_quotes` answers, down to the printed digits.
        #[test]
        fn the_memo_answers_what_compute_quotes_answers(walk in states(), avellaneda in any::<bool>()) {
            let model = if avellaneda { Model::Avellaneda } else { Model::Fixed };
            let (p, f) = (params(model), Filters::btcusdt());
            let mut memo = QuoteMemo::default();
            let mut last: Option<(MarketState, Sides)> = None;
            for (bid_ticks, spread, rescale, inventory, buy, sell, repeat) in walk {
                let (m, sides) = match (repeat, last) {
                    // The same question again, as after a size change at the touch.
                    (0, Some(same)) => same,
                    _ => {
                        let bid = Decimal::new(bid_ticks, 1);
                        let ask = Decimal::new(bid_ticks + spread, 1);
                        let mut bid_written = bid;
                        // The same value with more decimals: the key tells them apart.
                        bid_written.rescale(1 + rescale);
                        let m = MarketState {
                            top: Top { bid: bid_written, bid_size: dec!(1), ask, ask_size: dec!(2) },
                            sigma: 0.5 + f64::from(repeat),
                            inventory: Decimal::new(inventory, 3),
                        };
                        (m, Sides { buy, sell })
                    }
                };
                let want = compute_quotes(&p, &f, &m, sides);
                let got = memo.quotes(&p, &f, &m, sides);
                prop_assert_eq!(&got, &want);
                let printed = |q: &[Quote]| q.iter().map(|x| format!("{} {}", x.price, x.qty)).collect::<Vec<_>>();
                prop_assert_eq!(printed(&got), printed(&want));
                last = Some((m, sides));
            }
        }
    }
}
