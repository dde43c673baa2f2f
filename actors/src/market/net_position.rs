//! Position rows → one net position per symbol. One-way mode has one row per symbol; hedge mode
//! two (positionIdx 1 long, 2 short), which must add up, not overwrite each other.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use bybit_v5::rest::Position;

/// A symbol's net position and the average entry price of what is held.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NetPosition {
    /// Signed: positive long, negative short.
    pub size: Decimal,
    pub entry_price: Decimal,
}

/// The signed size of a row: `side` is "Buy", "Sell", or "" / "None" when flat.
pub fn signed_size(row: &Position) -> Decimal {
    if row.side == "Sell" {
        -row.size.abs()
    } else if row.side == "Buy" {
        row.size.abs()
    } else {
        Decimal::ZERO
    }
}

/// Net per symbol over every row; the entry price is the size-weighted average of the rows on
/// the net side.
pub fn net_positions(rows: &[Position]) -> BTreeMap<String, NetPosition> {
    let mut out: BTreeMap<String, (Decimal, Decimal, Decimal)> = BTreeMap::new();
    for row in rows {
        let signed = signed_size(row);
        let e = out.entry(row.symbol.clone()).or_default();
        e.0 += signed;
        if !signed.is_zero() {
            // (size, Σ |size|·price per side): kept per sign to price the net side.
            if signed.is_sign_positive() {
                e.1 += signed * row.avg_price;
            } else {
                e.2 += -signed * row.avg_price;
            }
        }
    }
    let mut net = BTreeMap::new();
    for (symbol, (size, long_value, short_value)) in out {
        let rows_on_side: Decimal = rows
            .iter()
            .filter(|r| r.symbol == symbol)
            .map(signed_size)
            .filter(|s| !s.is_zero() && s.is_sign_positive() == size.is_sign_positive())
            .map(|s| s.abs())
            .sum();
        let value = if size.is_sign_positive() { long_value } else { short_value };
        let entry_price = if size.is_zero() || rows_on_side.is_zero() {
            Decimal::ZERO
        } else {
            value / rows_on_side
        };
        net.insert(symbol, NetPosition { size, entry_price });
    }
    net
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn row(symbol: &str, idx: u8, side: &str, size: Decimal, price: Decimal) -> Position {
        Position {
            symbol: symbol.into(),
            position_idx: idx,
            side: side.into(),
            size,
            avg_price: price,
            ..Default::default()
        }
    }

    #[test]
    fn one_way_rows_are_signed() {
        let n = net_positions(&[
            row("BTCUSDT", 0, "Sell", dec!(0.012), dec!(30000)),
            row("ETHUSDT", 0, "", dec!(0), dec!(0)),
        ]);
        assert_eq!(
            n["BTCUSDT"],
            NetPosition {
                size: dec!(-0.012),
                entry_price: dec!(30000)
            }
        );
        assert_eq!(n["ETHUSDT"].size, dec!(0));
    }

    #[test]
    fn hedge_rows_add_up_instead_of_overwriting() {
        let n = net_positions(&[
            row("BTCUSDT", 1, "Buy", dec!(0.03), dec!(30000)),
            row("BTCUSDT", 2, "Sell", dec!(0.01), dec!(31000)),
        ]);
        assert_eq!(
            n["BTCUSDT"],
            NetPosition {
                size: dec!(0.02),
                entry_price: dec!(30000)
            }
        );
    }
}
