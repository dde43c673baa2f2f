//! Each symbol's position mode, from its `/v5/position/list` rows: hedge mode lists rows with
//! positionIdx 1 and 2. The bot quotes one-way; with `account.position_mode = "one-way"` the
//! start switches a hedge-mode symbol that holds no position (`/v5/position/switch-mode`).

use rust_decimal::Decimal;
use serde_json::Value;

use super::{row, Row, Verdict};

/// The symbol's rows in a position list.
pub fn rows_of<'a>(positions: &'a Value, symbol: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    positions["list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |p| p["symbol"].as_str() == Some(symbol))
}

pub fn is_hedge(positions: &Value, symbol: &str) -> bool {
    rows_of(positions, symbol).any(|p| matches!(p["positionIdx"].as_i64(), Some(1 | 2)))
}

/// Any row of the symbol with a size: a mode switch is refused then.
pub fn holds_position(positions: &Value, symbol: &str) -> bool {
    rows_of(positions, symbol).any(|p| {
        p["size"]
            .as_str()
            .and_then(|s| s.parse::<Decimal>().ok())
            .is_some_and(|s| !s.is_zero())
    })
}

/// `switch`: `account.position_mode = "one-way"` lets the start switch a hedge-mode symbol.
pub fn position_mode_row(symbol: &str, positions: &Value, switch: bool) -> Row {
    let check = format!("position mode {symbol}");
    if !is_hedge(positions, symbol) {
        return row(check, Verdict::Ok, "one-way");
    }
    if switch && !holds_position(positions, symbol) {
        return row(
            check,
            Verdict::Warn,
            format!("{symbol} is in hedge mode: the start switches it to one-way (account.position_mode = \"one-way\")"),
        );
    }
    let fix = if switch {
        format!("it holds a position, so it cannot be switched: close the {symbol} position, then start again")
    } else {
        format!("with no position or order open on {symbol}, switch it to one-way (Bybit: Trade → Settings → Position Mode → One-Way, or POST /v5/position/switch-mode mode 0), or set account.position_mode = \"one-way\" to let the start do it")
    };
    row(
        check,
        Verdict::Blocker,
        format!("{symbol} is in hedge mode; mmbot quotes one-way: {fix}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hedge_blocks_with_the_fix_unless_the_start_may_switch() {
        let pos = json!({"list": [{"symbol": "BTCUSDT", "positionIdx": 1, "size": "0"}, {"symbol": "BTCUSDT", "positionIdx": 2, "size": "0"},
                                  {"symbol": "ETHUSDT", "positionIdx": 0, "size": "1"}]});
        let blocked = position_mode_row("BTCUSDT", &pos, false);
        assert_eq!(blocked.verdict, Verdict::Blocker);
        assert!(blocked.detail.contains("switch-mode") && blocked.detail.contains("account.position_mode"));
        assert_eq!(position_mode_row("BTCUSDT", &pos, true).verdict, Verdict::Warn);
        assert_eq!(position_mode_row("ETHUSDT", &pos, false).verdict, Verdict::Ok);
        let open = json!({"list": [{"symbol": "BTCUSDT", "positionIdx": 1, "size": "0.01"}, {"symbol": "BTCUSDT", "positionIdx": 2, "size": "0"}]});
        let r = position_mode_row("BTCUSDT", &open, true);
        assert_eq!(r.verdict, Verdict::Blocker);
        assert!(r.detail.contains("holds a position"), "{}", r.detail);
    }
}
