//! The contracts the simulator can list, with Bybit-like filters: a shipped table
//! (`sim/instruments.toml`, 35 USDT perpetuals) from which a run picks the ones that trade.

use rust_decimal::Decimal;
use serde::Deserialize;

/// The symbols that trade when nobody picks: four liquid perpetuals with distinct filters.
pub const DEFAULT_SYMBOLS: [&str; 4] = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"];

#[derive(Deserialize)]
struct Table {
    instruments: Vec<InstrumentSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentSpec {
    pub symbol: String,
    #[serde(rename = "base")]
    pub base_coin: String,
    #[serde(rename = "tick")]
    pub tick_size: Decimal,
    pub qty_step: Decimal,
    pub min_qty: Decimal,
    /// Largest Limit / PostOnly order.
    pub max_qty: Decimal,
    /// Largest Market order.
    pub max_mkt_qty: Decimal,
    /// Smallest order value in USDT.
    pub min_notional: Decimal,
    /// As Bybit writes it, e.g. `"100.00"`.
    pub max_leverage: String,
    /// Where the seeded random walk starts.
    pub start_price: Decimal,
    /// Listing time, ms since the epoch, as Bybit sends it.
    pub launch_time: String,
    /// Fee rates of a fill as maker and as taker (a negative maker fee is a rebate); Bybit's
    /// default (non-VIP) tier unless the table says otherwise.
    #[serde(default = "default_maker_fee")]
    pub maker_fee: Decimal,
    #[serde(default = "default_taker_fee")]
    pub taker_fee: Decimal,
}

fn default_maker_fee() -> Decimal {
    crate::exchange::MAKER_FEE
}

fn default_taker_fee() -> Decimal {
    crate::exchange::TAKER_FEE
}

impl InstrumentSpec {
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

/// Every instrument of the shipped table.
pub fn instrument_table() -> Vec<InstrumentSpec> {
    let table: Table = toml::from_str(include_str!("../../instruments.toml")).expect("sim/instruments.toml is valid (tested)");
    table.instruments
}

/// The instruments named in `symbols`, in that order; an unknown name is an error that lists
/// what the table has.
pub fn select<S: AsRef<str>>(symbols: &[S]) -> Result<Vec<InstrumentSpec>, String> {
    let table = instrument_table();
    symbols
        .iter()
        .map(|s| {
            table.iter().find(|i| i.symbol == s.as_ref()).cloned().ok_or_else(|| {
                format!(
                    "{} is not in the simulator's instrument table (sim/instruments.toml): {}",
                    s.as_ref(),
                    table.iter().map(|i| i.symbol.as_str()).collect::<Vec<_>>().join(", ")
                )
            })
        })
        .collect()
}

/// The default listing: [`DEFAULT_SYMBOLS`].
pub fn default_instruments() -> Vec<InstrumentSpec> {
    select(&DEFAULT_SYMBOLS).expect("the default symbols are in the table")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn formats_with_fixed_scale() {
        let btc = &default_instruments()[0];
        assert_eq!(btc.fmt_price(dec!(30000)).to_string(), "30000.0");
        assert_eq!(btc.fmt_qty(dec!(1)).to_string(), "1.000");
        assert!(btc.on_tick(dec!(30000.3)));
        assert!(!btc.on_tick(dec!(30000.35)));
        assert!(!btc.on_step(dec!(0.0005)));
    }

    #[test]
    fn the_table_is_consistent() {
        let table = instrument_table();
        assert!(table.len() >= 30, "{} instruments", table.len());
        let mut names: Vec<&str> = table.iter().map(|i| i.symbol.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), table.len(), "each symbol once");
        for i in &table {
            assert!(i.symbol.ends_with("USDT") && i.symbol.starts_with(&i.base_coin), "{}", i.symbol);
            assert!(i.tick_size > Decimal::ZERO && i.qty_step > Decimal::ZERO, "{}", i.symbol);
            assert!(
                i.on_step(i.min_qty) && i.min_qty <= i.max_mkt_qty && i.max_mkt_qty <= i.max_qty,
                "{}",
                i.symbol
            );
            assert!(i.on_tick(i.start_price), "{}: start price on the tick", i.symbol);
            // The smallest order is tradable, and the minimum notional reachable within max qty.
            assert!(i.start_price * i.max_qty > i.min_notional * Decimal::from(100), "{}", i.symbol);
            assert!(
                i.max_leverage.parse::<f64>().is_ok() && i.launch_time.parse::<u64>().is_ok(),
                "{}",
                i.symbol
            );
        }
        assert!(select(&["NOPEUSDT"]).unwrap_err().contains("BTCUSDT"));
        assert_eq!(select(&["DOGEUSDT"]).unwrap()[0].base_coin, "DOGE");
    }
}
