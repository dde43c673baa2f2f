//! The account's fee rates per symbol (`/v5/account/fee-rate`): what each fill costs, and
//! whether the inner quotes' spread covers the maker fee at all.

use rust_decimal::Decimal;
use serde_json::Value;

use super::{row, Row, Verdict};

pub fn fee_row(symbol: &str, rates: &Value, spread_bps: Decimal) -> Row {
    let check = format!("fees {symbol}");
    let item = rates["list"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["symbol"].as_str() == Some(symbol));
    let rate = |k: &str| item.and_then(|r| r[k].as_str()).and_then(|v| v.parse::<Decimal>().ok());
    let (Some(maker), Some(taker)) = (rate("makerFeeRate"), rate("takerFeeRate")) else {
        return row(check, Verdict::Warn, "the exchange listed no fee rate for it");
    };
    let bps = |r: Decimal| (r * Decimal::from(10_000)).round_dp(2).normalize();
    let detail = format!("maker {} bps, taker {} bps", bps(maker), bps(taker));
    if bps(maker) >= spread_bps {
        return row(
            check,
            Verdict::Warn,
            format!("{detail}: the inner quotes' {spread_bps} bps from the centre do not cover the maker fee — widen strategy.spread_bps"),
        );
    }
    row(check, Verdict::Ok, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_spread_inside_the_maker_fee_warns() {
        let rates = json!({"list": [{"symbol": "BTCUSDT", "makerFeeRate": "0.0002", "takerFeeRate": "0.00055"}]});
        let r = fee_row("BTCUSDT", &rates, Decimal::from(15));
        assert_eq!(r.verdict, Verdict::Ok);
        assert_eq!(r.detail, "maker 2 bps, taker 5.5 bps");
        assert_eq!(fee_row("BTCUSDT", &rates, Decimal::from(2)).verdict, Verdict::Warn);
        assert_eq!(fee_row("ETHUSDT", &rates, Decimal::from(15)).verdict, Verdict::Warn);
    }
}
