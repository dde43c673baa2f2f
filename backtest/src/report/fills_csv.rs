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
            f.fee,
            f.mid.round_dp(8),
            f.link_id
        );
    }
    out
}
