//! The contracts the simulator lists, with Bybit-like filters.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentSpec {
    pub symbol: String,
    pub base_coin: String,
    pub tick_size: Decimal,
    pub qty_step: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub min_notional: Decimal,
    /// Where the seeded random walk starts.
    pub start_price: Decimal,
}

impl InstrumentSpec {
    fn new(symbol: &str, base: &str, tick: Decimal, step: Decimal, min: Decimal, max: Decimal, start: Decimal) -> Self {
        Self {
            symbol: symbol.into(),
            base_coin: base.into(),
            tick_size: tick,
            qty_step: step,
            min_qty: min,
            max_qty: max,
            min_notional: dec!(5),
            start_price: start,
        }
    }

    /// Decimals used for every price string, so snapshots and deltas format levels identically.
    pub fn price_scale(&self) -> u32 {
        self.tick_size.normalize().scale().max(1)
    }

    pub fn qty_scale(&self) -> u32 {
        self.qty_step.normalize().scale()
    }

    pub fn fmt_price(&self, p: Decimal) -> Decimal {
        let mut p = p.round_dp(self.price_scale());
        p.rescale(self.price_scale());
        p
    }

    pub fn fmt_qty(&self, q: Decimal) -> Decimal {
        let mut q = q.round_dp(self.qty_scale());
        q.rescale(self.qty_scale());
        q
    }

    pub fn on_tick(&self, p: Decimal) -> bool {
        (p % self.tick_size).is_zero()
    }

    pub fn on_step(&self, q: Decimal) -> bool {
        (q % self.qty_step).is_zero()
    }
}

/// The default listing: four liquid USDT perpetuals with distinct tick and lot sizes.
pub fn default_instruments() -> Vec<InstrumentSpec> {
    vec![
        InstrumentSpec::new("BTCUSDT", "BTC", dec!(0.10), dec!(0.001), dec!(0.001), dec!(1190), dec!(30000)),
        InstrumentSpec::new("ETHUSDT", "ETH", dec!(0.01), dec!(0.01), dec!(0.01), dec!(7240), dec!(2000)),
        InstrumentSpec::new("SOLUSDT", "SOL", dec!(0.010), dec!(0.1), dec!(0.1), dec!(79770), dec!(100)),
        InstrumentSpec::new("XRPUSDT", "XRP", dec!(0.0001), dec!(1), dec!(1), dec!(3000000), dec!(0.5)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_fixed_scale() {
        let btc = &default_instruments()[0];
        assert_eq!(btc.fmt_price(dec!(30000)).to_string(), "30000.1".replace(".1", ".0"));
        assert_eq!(btc.fmt_qty(dec!(1)).to_string(), "1.000");
        assert!(btc.on_tick(dec!(30000.3)));
        assert!(!btc.on_tick(dec!(30000.35)));
        assert!(!btc.on_step(dec!(0.0005)));
    }
}
