//! Quote computation: N post-only levels per side around the mid, spread and level step in basis
//! points, size from a notional, skewed against inventory, rounded to tick and lot step, and
//! never crossing the book. Pure functions; the Strategy actor only calls them.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

use bybit_v5::Side;

use crate::book::Top;

/// An instrument's trading filters, from `instruments-info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    pub tick_size: Decimal,
    pub qty_step: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub min_notional: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteParams {
    /// Levels per side.
    pub levels: u32,
    /// Distance of the first level from the mid, each side, in basis points.
    pub spread_bps: Decimal,
    /// Distance between consecutive levels, in basis points.
    pub level_step_bps: Decimal,
    /// Value of each order in quote currency (USDT).
    pub order_notional: Decimal,
    /// Shift of both sides per order-notional of inventory, in basis points: long inventory
    /// moves quotes down (sell sooner, buy later).
    pub inventory_skew_bps: Decimal,
}

impl Default for QuoteParams {
    fn default() -> Self {
        Self {
            levels: 4,
            spread_bps: dec!(8),
            level_step_bps: dec!(4),
            order_notional: dec!(100),
            inventory_skew_bps: dec!(2),
        }
    }
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

fn floor_to(x: Decimal, step: Decimal) -> Decimal {
    (x / step).floor() * step
}

fn ceil_to(x: Decimal, step: Decimal) -> Decimal {
    (x / step).ceil() * step
}

/// Size of one order: the notional at this price, rounded up to the lot step, at least the
/// minimum quantity and minimum notional.
pub fn order_qty(params: &QuoteParams, f: &Filters, price: Decimal) -> Decimal {
    if price <= Decimal::ZERO {
        return f.min_qty;
    }
    let wanted = params.order_notional.max(f.min_notional) / price;
    ceil_to(wanted, f.qty_step).max(f.min_qty).min(f.max_qty).normalize()
}

/// The quotes for one book top and inventory (signed position in base units).
pub fn compute_quotes(params: &QuoteParams, f: &Filters, top: &Top, inventory: Decimal) -> Vec<Quote> {
    let mid = top.mid();
    if mid <= Decimal::ZERO || f.tick_size <= Decimal::ZERO {
        return vec![];
    }
    let unit = order_qty(params, f, mid);
    let skew_units = if unit.is_zero() { Decimal::ZERO } else { inventory / unit };
    let center = mid * (Decimal::ONE - skew_units * params.inventory_skew_bps * BPS);
    let mut out = Vec::with_capacity(params.levels as usize * 2);
    for level in 0..params.levels {
        let off = (params.spread_bps + params.level_step_bps * Decimal::from(level)) * BPS;
        // Post-only must not cross: bids stay below the best ask, asks above the best bid.
        let bid = floor_to(center * (Decimal::ONE - off), f.tick_size).min(top.ask - f.tick_size);
        let ask = ceil_to(center * (Decimal::ONE + off), f.tick_size).max(top.bid + f.tick_size);
        if bid > Decimal::ZERO {
            out.push(Quote {
                side: Side::Buy,
                level,
                price: bid.normalize(),
                qty: order_qty(params, f, bid),
            });
        }
        out.push(Quote {
            side: Side::Sell,
            level,
            price: ask.normalize(),
            qty: order_qty(params, f, ask),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> Filters {
        Filters {
            tick_size: dec!(0.1),
            qty_step: dec!(0.001),
            min_qty: dec!(0.001),
            max_qty: dec!(100),
            min_notional: dec!(5),
        }
    }

    fn top(bid: Decimal, ask: Decimal) -> Top {
        Top {
            bid,
            bid_size: dec!(1),
            ask,
            ask_size: dec!(1),
        }
    }

    #[test]
    fn levels_on_tick_never_crossing() {
        let p = QuoteParams::default();
        let q = compute_quotes(&p, &btc(), &top(dec!(29999.9), dec!(30000.1)), Decimal::ZERO);
        assert_eq!(q.len(), 8);
        for x in &q {
            assert!((x.price % dec!(0.1)).is_zero());
            assert!((x.qty % dec!(0.001)).is_zero() && x.qty >= dec!(0.001));
            match x.side {
                Side::Buy => assert!(x.price < dec!(30000.1)),
                Side::Sell => assert!(x.price > dec!(29999.9)),
            }
        }
        // 8 bps from 30000 = 24 → first bid 29976.0, first ask 30024.0
        assert_eq!(q[0].price, dec!(29976));
        assert_eq!(q[1].price, dec!(30024));
        assert_eq!(q[0].qty, dec!(0.004));
    }

    #[test]
    fn inventory_skews_both_sides_down_when_long() {
        let p = QuoteParams::default();
        let t = top(dec!(29999.9), dec!(30000.1));
        let flat = compute_quotes(&p, &btc(), &t, Decimal::ZERO);
        let long = compute_quotes(&p, &btc(), &t, dec!(0.04));
        let short = compute_quotes(&p, &btc(), &t, dec!(-0.04));
        for i in 0..flat.len() {
            assert!(long[i].price < flat[i].price);
            assert!(short[i].price > flat[i].price);
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
        let q = compute_quotes(&p, &btc(), &top(dec!(100.0), dec!(100.1)), Decimal::ZERO);
        assert_eq!(q[0].price, dec!(100.0));
        assert_eq!(q[1].price, dec!(100.1));
    }
}
