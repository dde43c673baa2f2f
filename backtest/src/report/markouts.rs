//! Markouts: where the mid went after each fill, in basis points of the fill price, signed so
//! that positive is good for us (a buy followed by a higher mid). A mean over the fills whose
//! horizon is inside the data; a negative mean is adverse selection.

use bybit_v5::Side;
use rust_decimal::prelude::*;

use crate::ratio_memo::RatioMemo;
use crate::venue::Fill;

pub const HORIZONS_MS: [(&str, u64); 4] = [("1s", 1_000), ("5s", 5_000), ("30s", 30_000), ("60s", 60_000)];

/// The mid at or before `t` from a symbol's mid changes (time ascending).
pub fn mid_at(mids: &[(u64, Decimal)], t: u64) -> Option<Decimal> {
    let i = mids.partition_point(|(at, _)| *at <= t);
    (i > 0).then(|| mids[i - 1].1)
}

/// One fill's markout at `horizon_ms`, if the data reaches that far.
pub fn markout_bps(f: &Fill, mids: &[(u64, Decimal)], horizon_ms: u64, data_end: u64) -> Option<f64> {
    markout_bps_with(&mut RatioMemo::default(), f, mids, horizon_ms, data_end)
}

/// `markout_bps`, each (edge, price) divided once in `memo`.
fn markout_bps_with(memo: &mut RatioMemo, f: &Fill, mids: &[(u64, Decimal)], horizon_ms: u64, data_end: u64) -> Option<f64> {
    let t = f.at_ms + horizon_ms;
    if t > data_end || f.price.is_zero() {
        return None;
    }
    let m = mid_at(mids, t)?;
    let edge = match f.side {
        Side::Buy => m - f.price,
        Side::Sell => f.price - m,
    };
    // NaN stands for a ratio with no f64 (none that a price gives): never kept as a number.
    let v = memo.get(edge, f.price, |e, p| (e / p * Decimal::from(10_000)).to_f64().unwrap_or(f64::NAN));
    (!v.is_nan()).then_some(v)
}

/// The mean markout per horizon, rounded to 0.0001 bps (None: no fill reached that far). One
/// tick of BTCUSDT is ~0.015 bps: a coarser rounding would hide the adverse selection of a
/// quote at the touch.
pub fn mean_markouts<'a>(
    fills: impl Iterator<Item = &'a Fill> + Clone,
    mids: impl Fn(&str) -> &'a [(u64, Decimal)],
    data_end: u64,
) -> Vec<(&'static str, Option<f64>)> {
    let mut memo = RatioMemo::default();
    HORIZONS_MS
        .iter()
        .map(|(name, h)| {
            let v: Vec<f64> = fills
                .clone()
                .filter_map(|f| markout_bps_with(&mut memo, f, mids(&f.symbol), *h, data_end))
                .collect();
            let mean = (!v.is_empty()).then(|| (v.iter().sum::<f64>() / v.len() as f64 * 10_000.0).round() / 10_000.0);
            (*name, mean)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn fill(side: Side, at: u64, price: Decimal) -> Fill {
        Fill {
            at_ms: at,
            symbol: "X".into(),
            link_id: "a".into(),
            side,
            price,
            qty: dec!(1),
            fee: dec!(0),
            mid: price,
        }
    }

    #[test]
    fn a_buy_before_the_mid_rises_marks_out_positive_and_the_horizon_stays_inside_the_data() {
        let mids = vec![(0, dec!(100)), (500, dec!(100.1)), (4_000, dec!(99.9))];
        let buy = fill(Side::Buy, 0, dec!(100));
        assert_eq!(markout_bps(&buy, &mids, 1_000, 10_000), Some(10.0));
        assert_eq!(markout_bps(&buy, &mids, 5_000, 10_000), Some(-10.0));
        assert_eq!(markout_bps(&buy, &mids, 60_000, 10_000), None, "past the data");
        let sell = fill(Side::Sell, 0, dec!(100));
        assert_eq!(markout_bps(&sell, &mids, 1_000, 10_000), Some(-10.0));
    }

    #[test]
    fn a_mean_keeps_a_fraction_of_a_tick() {
        // BTCUSDT's tick (0.1) at 65 000 is 0.0154 bps: one tick against each of two fills.
        let mids = [(0, dec!(64999.95)), (500, dec!(64999.9))];
        let fills = [fill(Side::Buy, 0, dec!(65000)), fill(Side::Buy, 0, dec!(65000))];
        let means = mean_markouts(fills.iter(), |_| &mids[..], 10_000);
        assert_eq!(means[0], ("1s", Some(-0.0154)));
    }
}
