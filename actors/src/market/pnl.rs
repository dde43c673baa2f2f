//! PnL from the bot's own executions: position, average entry, realised PnL and fees per
//! symbol, unrealised PnL against the mid, and the drawdown from the best equity seen.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use bybit_v5::Side;

/// Money and prices in `/status`: at most 8 decimals, without trailing zeros (divisions leave
/// 28 digits otherwise).
fn rounded<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.round_dp(8).normalize().to_string())
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SymbolPnl {
    /// Signed position in base units.
    #[serde(serialize_with = "rounded")]
    pub position: Decimal,
    #[serde(serialize_with = "rounded")]
    pub avg_price: Decimal,
    #[serde(serialize_with = "rounded")]
    pub realised: Decimal,
    #[serde(serialize_with = "rounded")]
    pub fees: Decimal,
    #[serde(serialize_with = "rounded")]
    pub unrealised: Decimal,
    #[serde(serialize_with = "rounded")]
    pub volume: Decimal,
    /// Funding paid (positive) or received (negative): real money, on a line of its own.
    #[serde(serialize_with = "rounded")]
    pub funding: Decimal,
    /// The position the run started with, as the exchange listed it (marked from its entry price).
    #[serde(serialize_with = "rounded")]
    pub inherited: Decimal,
    /// Has had a mark price: an inherited position's PnL is known only from then.
    #[serde(skip)]
    pub marked: bool,
}

impl SymbolPnl {
    pub fn apply_fill(&mut self, side: Side, qty: Decimal, price: Decimal, fee: Decimal) {
        let signed = if side == Side::Buy { qty } else { -qty };
        self.fees += fee;
        self.volume += qty * price;
        if self.position.is_zero() || self.position.is_sign_positive() == signed.is_sign_positive() {
            let size = self.position + signed;
            self.avg_price = (self.position.abs() * self.avg_price + qty * price) / size.abs();
            self.position = size;
            return;
        }
        let closing = qty.min(self.position.abs());
        let direction = if self.position.is_sign_positive() {
            Decimal::ONE
        } else {
            -Decimal::ONE
        };
        self.realised += closing * (price - self.avg_price) * direction;
        let size = self.position + signed;
        if size.is_zero() {
            self.avg_price = Decimal::ZERO;
        } else if size.is_sign_positive() != self.position.is_sign_positive() {
            self.avg_price = price;
        }
        self.position = size;
    }

    pub fn mark(&mut self, mid: Decimal) {
        self.marked = true;
        self.unrealised = self.position * (mid - self.avg_price);
    }

    /// Realised + unrealised − fees.
    pub fn total(&self) -> Decimal {
        self.realised + self.unrealised - self.fees - self.funding
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Pnl {
    pub symbols: BTreeMap<String, SymbolPnl>,
    #[serde(serialize_with = "rounded")]
    pub peak: Decimal,
    #[serde(skip)]
    baseline_set: bool,
}

impl Pnl {
    pub fn fill(&mut self, symbol: &str, side: Side, qty: Decimal, price: Decimal, fee: Decimal) {
        self.symbols
            .entry(symbol.to_string())
            .or_default()
            .apply_fill(side, qty, price, fee);
        self.update_peak();
    }

    /// A position the run did not open: held at its entry price, so its PnL counts from there.
    pub fn inherit(&mut self, symbol: &str, size: Decimal, entry_price: Decimal) {
        let s = self.symbols.entry(symbol.to_string()).or_default();
        s.position = size;
        s.avg_price = if size.is_zero() { Decimal::ZERO } else { entry_price };
        s.inherited = size;
    }

    /// A funding execution: `fee` as Bybit sends it (positive paid, negative received).
    pub fn funding(&mut self, symbol: &str, fee: Decimal) {
        self.symbols.entry(symbol.to_string()).or_default().funding += fee;
        self.update_peak();
    }

    pub fn mark(&mut self, symbol: &str, mid: Decimal) {
        if let Some(s) = self.symbols.get_mut(symbol) {
            let before = s.unrealised;
            s.mark(mid);
            // Most marks are a size change at the touch or a flat position: the total is what it
            // was, and so is the peak (once the baseline is set, the peak is never below it).
            if self.baseline_set && s.unrealised == before {
                return;
            }
            self.update_peak();
        }
    }

    /// The drawdown counts from the equity at start: the first peak is the total once every
    /// inherited position has a mark (a loss the position carried before the start is not this
    /// run's drawdown); from then on, the best total seen.
    fn update_peak(&mut self) {
        if !self.baseline_set {
            if self.symbols.values().any(|s| !s.inherited.is_zero() && !s.marked) {
                return;
            }
            self.baseline_set = true;
            self.peak = self.total();
            return;
        }
        self.peak = self.peak.max(self.total());
    }

    pub fn total(&self) -> Decimal {
        self.symbols.values().map(SymbolPnl::total).sum()
    }

    /// How far equity is below the best it has been.
    pub fn drawdown(&self) -> Decimal {
        if !self.baseline_set {
            return Decimal::ZERO;
        }
        (self.peak - self.total()).max(Decimal::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn round_trip_with_fees_and_drawdown() {
        let mut p = Pnl::default();
        p.fill("X", Side::Buy, dec!(2), dec!(100), dec!(0.04));
        p.mark("X", dec!(105));
        assert_eq!(p.total(), dec!(9.96));
        p.mark("X", dec!(95));
        assert_eq!(p.total(), dec!(-10.04));
        assert_eq!(p.drawdown(), dec!(20));
        p.fill("X", Side::Sell, dec!(3), dec!(95), dec!(0.06));
        let s = &p.symbols["X"];
        assert_eq!((s.position, s.avg_price, s.realised), (dec!(-1), dec!(95), dec!(-10)));
        assert_eq!(s.fees, dec!(0.10));
    }

    #[test]
    fn inherited_inventory_is_marked_from_its_entry_and_funding_counts() {
        let mut p = Pnl::default();
        p.inherit("X", dec!(0.5), dec!(100));
        p.mark("X", dec!(110));
        assert_eq!(p.total(), dec!(5));
        p.funding("X", dec!(0.25));
        p.funding("X", dec!(-0.05));
        assert_eq!(p.symbols["X"].funding, dec!(0.20));
        assert_eq!(p.total(), dec!(4.80));
        // Closing the inherited long realises against the entry price.
        p.fill("X", Side::Sell, dec!(0.5), dec!(110), dec!(0));
        assert_eq!(p.symbols["X"].realised, dec!(5));
    }

    #[test]
    fn drawdown_counts_from_the_equity_at_start() {
        let mut p = Pnl::default();
        p.inherit("X", dec!(1), dec!(100));
        p.inherit("Y", dec!(-1), dec!(50));
        p.mark("X", dec!(90));
        assert_eq!(p.drawdown(), dec!(0), "not measurable before every inherited position is marked");
        p.mark("Y", dec!(50));
        assert_eq!(p.total(), dec!(-10));
        assert_eq!(p.drawdown(), dec!(0), "the loss carried in is not this run's drawdown");
        p.mark("X", dec!(85));
        p.funding("Y", dec!(1));
        assert_eq!(p.drawdown(), dec!(6), "the inherited inventory's move and funding count");
    }
}
