//! The account, as `/v5/account/info` describes it: a unified trading account, and its margin
//! mode.

use serde_json::Value;

use super::{row, Row, Verdict};

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_classic_account_is_a_blocker() {
        assert_eq!(account_rows(&json!({"unifiedMarginStatus": 1}))[0].verdict, Verdict::Blocker);
        let uta = account_rows(&json!({"unifiedMarginStatus": 5, "marginMode": "REGULAR_MARGIN"}));
        assert!(uta.iter().all(|r| r.verdict == Verdict::Ok));
    }
}
