//! The fills as CSV, one row each, as pandas or polars read them: a header, then
//! `time_ms,symbol,side,price,qty,fee,mid,link_id`.

use std::fmt::Write;

use crate::venue::Fill;

pub fn fills_csv(fills: &[Fill]) -> String {
    let mut out = String::from("time_ms,symbol,side,price,qty,fee,mid,link_id\n");
    for f in fills {
        let side = match f.side {
            bybit_v5::Side::Buy => "Buy",
            bybit_v5::Side::Sell => "Sell",
        };
        let _ = writeln!(
            out,
            "{},{},{side},{},{},{},{},{}",
            f.at_ms,
            f.symbol,
            f.price,
            f.qty,
            // Without a product's trailing zeros (`0.0130000` is 0.013).
            f.fee.normalize(),
            f.mid.round_dp(8).normalize(),
            f.link_id
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_row_per_fill_with_its_numbers_as_written() {
        let fill = Fill {
            at_ms: 1_000,
            symbol: "BTCUSDT".into(),
            link_id: "bt-1".into(),
            side: bybit_v5::Side::Sell,
            price: dec!(65000.0),
            qty: dec!(0.001),
            fee: dec!(0.001) * dec!(65000.0) * dec!(0.00020),
            mid: dec!(64999.95),
        };
        assert_eq!(
            fills_csv(&[fill]),
            "time_ms,symbol,side,price,qty,fee,mid,link_id\n1000,BTCUSDT,Sell,65000.0,0.001,0.013,64999.95,bt-1\n"
        );
    }
}
