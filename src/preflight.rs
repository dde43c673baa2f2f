//! The account as the exchange knows it, checked before the first order: the key (read-only,
//! trade permission, expiry), the account (unified, margin mode) and each symbol's position
//! mode. Each check is one row; a blocker stops the start (and makes `check-account` exit 1)
//! with the fix in its words, so a misconfigured account never reaches a loop of refusals.

use rust_decimal::Decimal;
use serde_json::Value;

use bybit_v5::rest::path;
use mmbot_actors::exchange::rest_client::{RestClient, RestError};
use mmbot_actors::market::quoting::{qty_for, Filters};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warn,
    Blocker,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "WARN",
            Verdict::Blocker => "BLOCKER",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub check: String,
    pub verdict: Verdict,
    pub detail: String,
}

fn row(check: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Row {
    Row {
        check: check.into(),
        verdict,
        detail: detail.into(),
    }
}

/// Days left under which an expiring key is a warning.
const EXPIRY_WARN_DAYS: i64 = 14;

/// The key as `/v5/user/query-api` describes it.
pub fn key_rows(api: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    let key = api["apiKey"].as_str().unwrap_or("");
    let shown: String = key.chars().take(4).collect::<String>() + "…";
    if api["readOnly"].as_i64() == Some(1) {
        rows.push(row(
            "key",
            Verdict::Blocker,
            format!("API key {shown} is read-only: create a key with Contract → Orders and Positions (read-write)"),
        ));
    } else {
        let trade = api["permissions"]["ContractTrade"].as_array().cloned().unwrap_or_default();
        let has = |p: &str| trade.iter().any(|v| v.as_str() == Some(p));
        if has("Order") && has("Position") {
            rows.push(row(
                "key",
                Verdict::Ok,
                format!("API key {shown}: read-write, Contract → Orders and Positions"),
            ));
        } else {
            rows.push(row(
                "key",
                Verdict::Blocker,
                format!("API key {shown} lacks the Contract → Orders and Positions permission: edit the key on Bybit and enable both"),
            ));
        }
    }
    let ips: Vec<&str> = api["ips"]
        .as_array()
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let unbound = ips.is_empty() || ips.contains(&"*");
    let days = api["deadlineDay"].as_i64().unwrap_or(-1);
    let expires = api["expiredAt"].as_str().unwrap_or("");
    if unbound && days >= 0 {
        let verdict = if days < EXPIRY_WARN_DAYS { Verdict::Warn } else { Verdict::Ok };
        rows.push(row(
            "key expiry",
            verdict,
            format!("no bound IPs: the key expires in {days} days ({expires}); the private stream's re-auth then fails and the bot stops — bind the key to this host's IP to keep it"),
        ));
    } else {
        rows.push(row(
            "key expiry",
            Verdict::Ok,
            format!("bound to {}: does not expire", ips.join(", ")),
        ));
    }
    rows
}

/// The account as `/v5/account/info` describes it.
pub fn account_rows(info: &Value) -> Vec<Row> {
    let status = info["unifiedMarginStatus"].as_i64().unwrap_or(0);
    let margin = info["marginMode"].as_str().unwrap_or("?");
    let unified = if (3..=6).contains(&status) {
        row("account", Verdict::Ok, format!("unified trading account (status {status})"))
    } else {
        row(
            "account",
            Verdict::Blocker,
            format!("not a unified trading account (unifiedMarginStatus {status}): upgrade the account to UTA on Bybit"),
        )
    };
    let margin = match margin {
        "REGULAR_MARGIN" => row("margin mode", Verdict::Ok, "cross margin (REGULAR_MARGIN)"),
        "ISOLATED_MARGIN" => row(
            "margin mode",
            Verdict::Warn,
            "isolated margin: each position carries only its own margin; the margin check below assumes it fits per symbol",
        ),
        other => row("margin mode", Verdict::Ok, other.to_string()),
    };
    vec![unified, margin]
}

/// Each symbol's position mode from its `/v5/position/list` rows: hedge mode shows rows with
/// positionIdx 1 and 2. The bot quotes one-way only.
pub fn position_mode_rows(symbols: &[String], positions: &Value) -> Vec<Row> {
    let list = positions["list"].as_array().cloned().unwrap_or_default();
    symbols
        .iter()
        .map(|s| {
            let hedge = list
                .iter()
                .filter(|p| p["symbol"].as_str() == Some(s))
                .any(|p| matches!(p["positionIdx"].as_i64(), Some(1 | 2)));
            if hedge {
                row(
                    format!("position mode {s}"),
                    Verdict::Blocker,
                    format!("{s} is in hedge mode; mmbot quotes one-way: with no position or order open on {s}, switch it to one-way (Bybit: Trade → Settings → Position Mode → One-Way, or POST /v5/position/switch-mode mode 0)"),
                )
            } else {
                row(format!("position mode {s}"), Verdict::Ok, "one-way")
            }
        })
        .collect()
}

/// What `order_notional` becomes at `price` once the instrument's minimum quantity, lot step
/// and minimum notional apply: a WARN when the real order is more than 1.5× the configured one.
pub fn size_row(symbol: &str, notional: Decimal, f: &Filters, price: Decimal) -> Row {
    let qty = qty_for(notional, f, price);
    let real = (qty * price).round_dp(2);
    let check = format!("order size {symbol}");
    if notional > Decimal::ZERO && real * Decimal::TWO > notional * Decimal::from(3) {
        row(
            check,
            Verdict::Warn,
            format!(
                "order_notional {notional} is below what {symbol} allows: each order is {qty} (≈ {real} USDT at {price}), {}× the configured size — raise order_notional or drop the symbol",
                (real / notional).round_dp(1)
            ),
        )
    } else {
        row(check, Verdict::Ok, format!("{qty} per order (≈ {real} USDT at {price})"))
    }
}

/// Run every check against the exchange. A read that fails is a blocker naming the read.
pub async fn run(client: &RestClient, symbols: &[String], sizes: &[(String, Decimal, Filters)]) -> Vec<Row> {
    let read = |what: &'static str, e: RestError| row(what, Verdict::Blocker, format!("could not read it: {e}"));
    let mut rows = match client.get(path::QUERY_API, "").await {
        Ok(a) => key_rows(&a.result),
        Err(e) => vec![read("key", e)],
    };
    rows.extend(match client.get(path::ACCOUNT_INFO, "").await {
        Ok(a) => account_rows(&a.result),
        Err(e) => vec![read("account", e)],
    });
    for s in symbols {
        rows.extend(
            match client.get(path::POSITION_LIST, &format!("category=linear&symbol={s}")).await {
                Ok(a) => position_mode_rows(std::slice::from_ref(s), &a.result),
                Err(e) => vec![read("position mode", e)],
            },
        );
    }
    for (symbol, notional, filters) in sizes {
        // A public read (IP budget only): the last price the size is judged at.
        let price = client
            .public_get(path::TICKERS, &format!("category=linear&symbol={symbol}"))
            .await
            .ok()
            .and_then(|a| a.result["list"][0]["lastPrice"].as_str().and_then(|p| p.parse::<Decimal>().ok()));
        if let Some(price) = price.filter(|p| *p > Decimal::ZERO) {
            rows.push(size_row(symbol, *notional, filters, price));
        }
    }
    rows
}

/// The table `check-account` prints and the start logs.
pub fn table(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.check.len()).max().unwrap_or(0);
    rows.iter()
        .map(|r| format!("{:<7} {:<width$}  {}\n", r.verdict.as_str(), r.check, r.detail))
        .collect()
}

pub fn blockers(rows: &[Row]) -> Vec<&Row> {
    rows.iter().filter(|r| r.verdict == Verdict::Blocker).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_only_key_is_a_blocker_and_expiry_warns() {
        let api = json!({"apiKey": "abcdef", "readOnly": 1, "ips": ["*"], "deadlineDay": 5, "expiredAt": "2026-12-07T00:00:00Z", "permissions": {}});
        let rows = key_rows(&api);
        assert_eq!(rows[0].verdict, Verdict::Blocker);
        assert!(
            rows[0].detail.contains("abcd…") && !rows[0].detail.contains("abcdef"),
            "{}",
            rows[0].detail
        );
        assert_eq!(rows[1].verdict, Verdict::Warn);
        let ok = json!({"apiKey": "k", "readOnly": 0, "ips": ["10.0.0.1"], "deadlineDay": -1,
                        "permissions": {"ContractTrade": ["Order", "Position"]}});
        assert!(key_rows(&ok).iter().all(|r| r.verdict == Verdict::Ok));
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_notional_below_the_minimum_warns_with_the_real_size() {
        let btc = Filters {
            tick_size: dec("0.1"),
            qty_step: dec("0.001"),
            min_qty: dec("0.001"),
            max_qty: dec("100"),
            min_notional: dec("5"),
        };
        let r = size_row("BTCUSDT", dec("20"), &btc, dec("95000"));
        assert_eq!(r.verdict, Verdict::Warn);
        assert!(
            r.detail.contains("0.001") && r.detail.contains("95.00") && r.detail.contains("4.8×"),
            "{}",
            r.detail
        );
        assert_eq!(size_row("BTCUSDT", dec("500"), &btc, dec("95000")).verdict, Verdict::Ok);
    }

    #[test]
    fn hedge_rows_block_with_the_fix() {
        let pos = json!({"list": [{"symbol": "BTCUSDT", "positionIdx": 1}, {"symbol": "BTCUSDT", "positionIdx": 2},
                                  {"symbol": "ETHUSDT", "positionIdx": 0}]});
        let rows = position_mode_rows(&["BTCUSDT".into(), "ETHUSDT".into()], &pos);
        assert_eq!(rows[0].verdict, Verdict::Blocker);
        assert!(rows[0].detail.contains("switch-mode"));
        assert_eq!(rows[1].verdict, Verdict::Ok);
        assert_eq!(account_rows(&json!({"unifiedMarginStatus": 1}))[0].verdict, Verdict::Blocker);
    }
}
