//! The key, as `/v5/user/query-api` describes it: read-write with the contract permissions, and
//! how long it lives (a key without bound IPs expires after 90 days; the private stream's
//! re-auth then fails mid-run).

use serde_json::Value;

use super::{row, Row, Verdict};

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
}
