//! Each symbol's instrument (`/v5/market/instruments-info`): a USDT-settled linear perpetual
//! that is trading now. Anything else the bot would quote wrongly or not at all.

use serde_json::Value;

use super::{row, Row, Verdict};

pub fn instrument_row(symbol: &str, info: &Value) -> Row {
    let item = &info["list"][0];
    let field = |k: &str| item[k].as_str().unwrap_or("?");
    let (status, contract, settle) = (field("status"), field("contractType"), field("settleCoin"));
    let check = format!("instrument {symbol}");
    if contract != "LinearPerpetual" || settle != "USDT" {
        return row(
            check,
            Verdict::Blocker,
            format!("{symbol} is a {contract} settled in {settle}: mmbot quotes USDT linear perpetuals only — drop it from symbols"),
        );
    }
    if status != "Trading" {
        return row(
            check,
            Verdict::Warn,
            format!(
                "{symbol} is {status}, not Trading: the exchange refuses creates until it trades (quoting halts, then resumes by itself)"
            ),
        );
    }
    row(check, Verdict::Ok, "USDT linear perpetual, trading")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_trading_usdt_perpetual_passes() {
        let ok = json!({"list": [{"status": "Trading", "contractType": "LinearPerpetual", "settleCoin": "USDT"}]});
        assert_eq!(instrument_row("BTCUSDT", &ok).verdict, Verdict::Ok);
        let future = json!({"list": [{"status": "Trading", "contractType": "LinearFutures", "settleCoin": "USDT"}]});
        assert_eq!(instrument_row("BTC-27DEC", &future).verdict, Verdict::Blocker);
        let settling = json!({"list": [{"status": "Settling", "contractType": "LinearPerpetual", "settleCoin": "USDT"}]});
        assert_eq!(instrument_row("BTCUSDT", &settling).verdict, Verdict::Warn);
    }
}
