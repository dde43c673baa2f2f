//! The exchange's dead-man switch as `/v5/account/query-dcp-info` reports it: an accepted
//! `set-dcp` is not proof (Bybit: DCP is for institutional accounts; confirm with the query).

use serde_json::Value;

use super::{row, Row, Verdict};

/// `window_s`: what the config asks (0: off). `scope_own`: say plainly that DCP reaches every
/// order on the account, not only this bot's.
pub fn dcp_row(info: &Value, window_s: u32, scope_own: bool) -> Row {
    if window_s == 0 {
        return row("dead-man switch", Verdict::Ok, "off (order_manager.dcp_window_s = 0)");
    }
    let armed = info["dcpInfos"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["product"].as_str() == Some("DERIVATIVES") && d["dcpStatus"].as_str() == Some("ON"));
    let reach = if scope_own {
        "; it is account-wide: when it fires it cancels every order on the account, manual and other bots' included, not only this bot's"
    } else {
        ""
    };
    match armed {
        Some(d) => row(
            "dead-man switch",
            Verdict::Ok,
            format!("armed (query-dcp-info: window {} s){reach}", d["timeWindow"].as_str().unwrap_or("?")),
        ),
        None => row(
            "dead-man switch",
            Verdict::Warn,
            "not in effect (query-dcp-info lists no DERIVATIVES window): DCP is for institutional accounts — ask Bybit to enable it; until then orders survive a crash until the next start reconciles them",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn armed_only_when_the_query_says_so() {
        let on = json!({"dcpInfos": [{"product": "DERIVATIVES", "dcpStatus": "ON", "timeWindow": "10"}]});
        let r = dcp_row(&on, 10, true);
        assert_eq!(r.verdict, Verdict::Ok);
        assert!(
            r.detail.contains("window 10 s") && r.detail.contains("account-wide"),
            "{}",
            r.detail
        );
        assert!(!dcp_row(&on, 10, false).detail.contains("account-wide"));
        assert_eq!(dcp_row(&json!({"dcpInfos": []}), 10, false).verdict, Verdict::Warn);
        assert_eq!(dcp_row(&json!({}), 0, false).verdict, Verdict::Ok);
    }
}
