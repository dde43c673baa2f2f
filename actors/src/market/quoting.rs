//! Quote computation: N post-only levels per side, rounded to tick and lot step, never crossing
//! the book, respecting minimum quantity and notional. Two models, selectable per symbol:
//!
//! - **fixed**: levels at a fixed spread and step (basis points) around the mid, shifted against
//!   inventory by `inventory_skew_bps` per order-size of position;
//! - **avellaneda**: Avellaneda–Stoikov. Reservation price `r = s − q·γ·σ²·T` and total spread
//!   `γ·σ²·T + (2/γ)·ln(1 + γ/k)`, with `q` the inventory in order sizes, `σ` the mid's
//!   volatility per √second estimated from the book, `T` the horizon in seconds; `spread_bps`
//!   is a floor on each side's distance.
//!
//! Pure functions; the Strategy actor only calls them.

use rust_decimal::prelude::*;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

use bybit_v5::Side;

use crate::market::book::Top;
use crate::market::exact::{max, min};
use crate::market::steps::{ceil_ratio_to, ceil_to, floor_to, whole_steps};

/// An instrument's trading filters, from `instruments-info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    pub tick_size: Decimal,
    pub qty_step: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub min_notional: Decimal,
}

impl Filters {
    /// BTCUSDT's, as Bybit lists them: a 0.1 tick, 0.001 lots, at least 5 USDT an order.
    pub fn btcusdt() -> Self {
        Self {
            tick_size: dec!(0.1),
            qty_step: dec!(0.001),
            min_qty: dec!(0.001),
            max_qty: dec!(100),
            min_notional: dec!(5),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    #[default]
    Fixed,
    Avellaneda,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuoteParams {
    pub model: Model,
    /// Levels per side.
    pub levels: u32,
    /// Distance of the first level from the center, each side, in basis points (a floor for avellaneda).
    pub spread_bps: Decimal,
    /// Distance between consecutive levels, in basis points.
    pub level_step_bps: Decimal,
    /// Value of the first level's order in quote currency (USDT).
    pub order_notional: Decimal,
    /// Each further level's size is the previous one's times this (1 = flat).
    pub size_growth: Decimal,
    /// fixed: shift of both sides per order-size of inventory, in basis points.
    pub inventory_skew_bps: Decimal,
    /// avellaneda: risk aversion γ (per order-size of inventory).
    pub risk_aversion: Decimal,
    /// avellaneda: horizon T in seconds.
    pub horizon_s: Decimal,
    /// avellaneda: order-arrival decay k (per unit of price distance, in bps of the mid).
    pub liquidity_k: Decimal,
}

impl Default for QuoteParams {
    fn default() -> Self {
        Self {
            model: Model::Fixed,
            levels: 4,
            spread_bps: dec!(8),
            level_step_bps: dec!(4),
            order_notional: dec!(100),
            size_growth: Decimal::ONE,
            inventory_skew_bps: dec!(2),
            risk_aversion: dec!(0.1),
            horizon_s: dec!(60),
            liquidity_k: dec!(1.5),
        }
    }
}

/// What the market and the book say right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarketState {
    pub top: Top,
    /// Mid volatility in price units per √second.
    pub sigma: f64,
    /// Signed position in base units.
    pub inventory: Decimal,
}

/// Which sides risk limits allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    pub buy: bool,
    pub sell: bool,
}

impl Sides {
    pub const BOTH: Sides = Sides { buy: true, sell: true };
}

/// One order the strategy wants resting: a slot (side, level) with a price and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Quote {
    pub side: Side,
    pub level: u32,
    pub price: Decimal,
    pub qty: Decimal,
}

const BPS: Decimal = dec!(0.0001);

/// What a symbol does when the instrument's minimums make its orders far larger than
/// `order_notional` (BTCUSDT's 0.001 makes a 20 USDT order ~100 USDT).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BelowMinimum {
    /// Quote the smallest order the instrument allows (warned at start and by check-config).
    #[default]
    RoundUp,
    /// Do not quote the symbol while its smallest order is over 1.5× `order_notional`.
    Skip,
}

/// The smallest order the instrument allows at `price` is more than 1.5× `notional`.
pub fn rounds_far_up(notional: Decimal, f: &Filters, price: Decimal) -> bool {
    let real = qty_for(notional, f, price) * price;
    notional > Decimal::ZERO && real * Decimal::TWO > notional * Decimal::from(3)
}

/// Size for a notional at a price: rounded up to the lot step, at least the minimum quantity
/// and minimum notional, at most the maximum quantity.
pub fn qty_for(notional: Decimal, f: &Filters, price: Decimal) -> Decimal {
    if price <= Decimal::ZERO {
        return f.min_qty;
    }
    let qty = ceil_ratio_to(max(notional, f.min_notional), price, f.qty_step);
    min(max(qty, f.min_qty), f.max_qty).normalize()
}

/// Size of a first-level order at this price.
pub fn order_qty(params: &QuoteParams, f: &Filters, price: Decimal) -> Decimal {
    qty_for(params.order_notional, f, price)
}

/// Center price and first-level half-spread (price units) for the model.
pub fn center_and_half_spread(params: &QuoteParams, f: &Filters, m: &MarketState) -> (Decimal, Decimal) {
    center_and_half_spread_at(params, f, m, m.top.mid())
}

/// `center_and_half_spread` with the top's mid worked out already.
fn center_and_half_spread_at(params: &QuoteParams, f: &Filters, m: &MarketState, mid: Decimal) -> (Decimal, Decimal) {
    let floor = params.spread_bps * BPS * mid;
    match params.model {
        // Flat or unskewed: the center is the mid (the same value; no size or product needed).
        Model::Fixed if m.inventory.is_zero() || params.inventory_skew_bps.is_zero() => (mid, floor),
        Model::Fixed => {
            let q = inventory_in_orders(params, f, m, mid);
            if q.is_zero() {
                (mid, floor)
            } else {
                (mid * (Decimal::ONE - q * params.inventory_skew_bps * BPS), floor)
            }
        }
        Model::Avellaneda => {
            let gamma = params.risk_aversion.to_f64().unwrap_or(0.1).max(1e-9);
            let t = params.horizon_s.to_f64().unwrap_or(60.0).max(0.0);
            let var = m.sigma * m.sigma;
            let q = inventory_in_orders(params, f, m, mid).to_f64().unwrap_or(0.0);
            let r = mid.to_f64().unwrap_or(0.0) - q * gamma * var * t;
            // k is given per bp of the mid, so the arrival term scales with the price.
            let k = params.liquidity_k.to_f64().unwrap_or(1.5).max(1e-9) / (mid.to_f64().unwrap_or(1.0) * 1e-4);
            let total = gamma * var * t + (2.0 / gamma) * (1.0 + gamma / k).ln();
            let half = Decimal::from_f64(total / 2.0).unwrap_or(Decimal::ZERO).max(floor);
            (Decimal::from_f64(r).unwrap_or(mid), half)
        }
    }
}

/// The inventory in first-level order sizes at the mid.
fn inventory_in_orders(params: &QuoteParams, f: &Filters, m: &MarketState, mid: Decimal) -> Decimal {
    let unit = order_qty(params, f, mid);
    if unit.is_zero() {
        return Decimal::ZERO;
    }
    // Most often a whole number of them, found without a division.
    whole_steps(m.inventory, unit)
        .and_then(|n| Decimal::try_from_i128_with_scale(n, 0).ok())
        .unwrap_or_else(|| m.inventory / unit)
}

/// The quotes for one symbol.
pub fn compute_quotes(params: &QuoteParams, f: &Filters, m: &MarketState, sides: Sides) -> Vec<Quote> {
    let top = &m.top;
    let mid = top.mid();
    if mid <= Decimal::ZERO || f.tick_size <= Decimal::ZERO {
        return vec![];
    }
    let (center, half) = center_and_half_spread_at(params, f, m, mid);
    // Prices and sizes are rounded to steps and normalized: only the values worked out here
    // matter, never how many decimals they carry, so a product known beforehand is skipped.
    let step = if params.levels > 1 {
        params.level_step_bps * BPS * mid
    } else {
        Decimal::ZERO
    };
    let mut out = Vec::with_capacity(params.levels as usize * 2);
    let mut notional = params.order_notional;
    for level in 0..params.levels {
        let off = if level == 0 { half } else { half + step * Decimal::from(level) };
        // Post-only must not cross: bids stay below the best ask, asks above the best bid.
        let bid = min(floor_to(center - off, f.tick_size), top.ask - f.tick_size);
        let ask = max(ceil_to(center + off, f.tick_size), top.bid + f.tick_size);
        if sides.buy && bid > Decimal::ZERO {
            out.push(Quote {
                side: Side::Buy,
                level,
                price: bid.normalize(),
                qty: qty_for(notional, f, bid),
            });
        }
        if sides.sell {
            out.push(Quote {
                side: Side::Sell,
                level,
                price: ask.normalize(),
                qty: qty_for(notional, f, ask),
            });
        }
        if level + 1 < params.levels {
            notional *= params.size_growth.max(Decimal::ZERO);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn btc() -> Filters {
        Filters::btcusdt()
    }

    fn state(bid: Decimal, ask: Decimal, inventory: Decimal) -> MarketState {
        MarketState {
            top: Top {
                bid,
                bid_size: dec!(1),
                ask,
                ask_size: dec!(1),
            },
            sigma: 3.0,
            inventory,
        }
    }

    #[test]
    fn levels_on_tick_never_crossing() {
        let p = QuoteParams::default();
        let q = compute_quotes(&p, &btc(), &state(dec!(29999.9), dec!(30000.1), Decimal::ZERO), Sides::BOTH);
        assert_eq!(q.len(), 8);
        // 8 bps from 30000 = 24 → first bid 29976.0, first ask 30024.0
        assert_eq!(q[0].price, dec!(29976));
        assert_eq!(q[1].price, dec!(30024));
        assert_eq!(q[0].qty, dec!(0.004));
    }

    #[test]
    fn inventory_skews_both_sides_down_when_long() {
        for model in [Model::Fixed, Model::Avellaneda] {
            let p = QuoteParams {
                model,
                ..Default::default()
            };
            let flat = compute_quotes(&p, &btc(), &state(dec!(29999.9), dec!(30000.1), Decimal::ZERO), Sides::BOTH);
            let long = compute_quotes(&p, &btc(), &state(dec!(29999.9), dec!(30000.1), dec!(0.04)), Sides::BOTH);
            let short = compute_quotes(&p, &btc(), &state(dec!(29999.9), dec!(30000.1), dec!(-0.04)), Sides::BOTH);
            for i in 0..flat.len() {
                assert!(long[i].price < flat[i].price, "{model:?}");
                assert!(short[i].price > flat[i].price, "{model:?}");
            }
        }
    }

    #[test]
    fn avellaneda_spread_widens_with_volatility_and_respects_the_floor() {
        let p = QuoteParams {
            model: Model::Avellaneda,
            ..Default::default()
        };
        let calm = MarketState {
            sigma: 0.0,
            ..state(dec!(29999.9), dec!(30000.1), Decimal::ZERO)
        };
        let wild = MarketState { sigma: 20.0, ..calm };
        let (_, h_calm) = center_and_half_spread(&p, &btc(), &calm);
        let (_, h_wild) = center_and_half_spread(&p, &btc(), &wild);
        assert!(h_calm >= dec!(24), "the floor: {h_calm}");
        assert!(h_wild > h_calm);
    }

    #[test]
    fn growth_and_sides() {
        let p = QuoteParams {
            size_growth: dec!(2),
            levels: 3,
            ..Default::default()
        };
        let q = compute_quotes(
            &p,
            &btc(),
            &state(dec!(29999.9), dec!(30000.1), Decimal::ZERO),
            Sides { buy: false, sell: true },
        );
        assert!(q.iter().all(|x| x.side == Side::Sell));
        assert!(q[1].qty > q[0].qty && q[2].qty > q[1].qty);
    }

    /// `compute_quotes` as it was before its shortcuts, every product worked out: the oracle.
    fn every_product(params: &QuoteParams, f: &Filters, m: &MarketState, sides: Sides) -> Vec<Quote> {
        let top = &m.top;
        let mid = top.mid();
        if mid <= Decimal::ZERO || f.tick_size <= Decimal::ZERO {
            return vec![];
        }
        let (center, half) = match params.model {
            Model::Fixed => {
                let unit = order_qty(params, f, mid);
                let q = if unit.is_zero() { Decimal::ZERO } else { m.inventory / unit };
                let floor = params.spread_bps * BPS * mid;
                (mid * (Decimal::ONE - q * params.inventory_skew_bps * BPS), floor)
            }
            Model::Avellaneda => center_and_half_spread_at(params, f, m, mid),
        };
        let step = params.level_step_bps * BPS * mid;
        let growth = params.size_growth.max(Decimal::ZERO);
        // Level by level: its distance and size; then each side's quote, buys first.
        let sized = (0..params.levels).scan(params.order_notional, |n, level| {
            let here = *n;
            *n *= growth;
            Some((level, half + step * Decimal::from(level), here))
        });
        let quote = |side, level, price: Decimal, notional| Quote {
            side,
            level,
            price: price.normalize(),
            qty: qty_for(notional, f, price),
        };
        sized
            .flat_map(|(level, off, notional)| {
                let bid = floor_to(center - off, f.tick_size).min(top.ask - f.tick_size);
                let ask = ceil_to(center + off, f.tick_size).max(top.bid + f.tick_size);
                let buy = (sides.buy && bid > Decimal::ZERO).then(|| quote(Side::Buy, level, bid, notional));
                let sell = sides.sell.then(|| quote(Side::Sell, level, ask, notional));
                buy.into_iter().chain(sell)
            })
            .collect()
    }

    proptest! {
        /// The same quotes, to the digit and the number of decimals, as with every product
        /// worked out: flat and not, skewed and not, one level and several.
        #[test]
        fn the_shortcuts_give_what_every_product_gives(
            bid_ticks in 1i64..2_000_000,
            spread_ticks in 1i64..40,
            inventory_lots in prop_oneof![Just(0i64), -50i64..50],
            skew in prop_oneof![Just(0i64), 0i64..400],
            spread in 0i64..200,
            step in 0i64..100,
            levels in 0u32..4,
            growth in prop_oneof![Just(10i64), 0i64..30],
            notional in 1i64..5_000,
            buy in any::<bool>(),
        ) {
            let f = btc();
            let m = MarketState {
                top: Top {
                    bid: Decimal::new(bid_ticks, 1),
                    bid_size: dec!(1),
                    ask: Decimal::new(bid_ticks + spread_ticks, 1),
                    ask_size: dec!(1),
                },
                sigma: 3.0,
                inventory: Decimal::new(inventory_lots, 3),
            };
            let p = QuoteParams {
                levels,
                spread_bps: Decimal::new(spread, 2),
                level_step_bps: Decimal::new(step, 2),
                inventory_skew_bps: Decimal::new(skew, 2),
                size_growth: Decimal::new(growth, 1),
                order_notional: Decimal::from(notional),
                ..Default::default()
            };
            let sides = Sides { buy, sell: true };
            let (got, want) = (compute_quotes(&p, &f, &m, sides), every_product(&p, &f, &m, sides));
            prop_assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
    }

    #[test]
    fn tight_spread_is_clamped_inside_the_book() {
        let p = QuoteParams {
            spread_bps: dec!(0),
            level_step_bps: dec!(0),
            levels: 1,
            ..Default::default()
        };
        let q = compute_quotes(&p, &btc(), &state(dec!(100.0), dec!(100.1), Decimal::ZERO), Sides::BOTH);
        assert_eq!(q[0].price, dec!(100.0));
        assert_eq!(q[1].price, dec!(100.1));
    }
}
