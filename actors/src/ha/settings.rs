//! `[ha]`: where the lease lives and how it is kept.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HaSettings {
    /// etcd's client URLs (the v3 JSON gateway, `http://host:2379`); tried in turn on failure.
    pub endpoints: Vec<String>,
    /// The key whose holder is active; empty: `/mmbot/<account>/active`, the account named by a
    /// SHA-256 of the exchange URL and API key (the key itself never leaves the process).
    pub key: String,
    /// The lease's time to live. etcd grants whole seconds, at least 2.
    pub lease_ttl_ms: u64,
    /// How often the active renews (and the standby tries to take the key as a backstop to its
    /// watch).
    pub renew_every_ms: u64,
    /// The active stops placing orders and flattens this long before its lease could lapse,
    /// counted from when the last successful renewal was *sent*. At least the exchange's
    /// `recv_window_ms`, so that no create sent before it can land after the lease lapsed.
    pub margin_ms: u64,
    /// Each etcd request gives up after this long.
    pub request_timeout_ms: u64,
}

impl Default for HaSettings {
    fn default() -> Self {
        Self {
            endpoints: vec!["http://127.0.0.1:2379".into()],
            key: String::new(),
            lease_ttl_ms: 10_000,
            renew_every_ms: 1_000,
            margin_ms: 6_000,
            request_timeout_ms: 500,
        }
    }
}

impl HaSettings {
    /// The key for an account: `/mmbot/<16 hex digits>/active`.
    pub fn key_for(&self, rest_url: &str, api_key: &str) -> String {
        if !self.key.is_empty() {
            return self.key.clone();
        }
        // A stable hash: two builds (a rolling update) must name the same key.
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(rest_url.as_bytes())
            .chain_update([0u8])
            .chain_update(api_key.as_bytes())
            .finalize();
        format!("/mmbot/{}/active", hex::encode(&digest[..8]))
    }

    /// Where a tripped kill switch is kept for the account: while it is there no instance takes
    /// the key (`mmbot clear-kill-switch` deletes it).
    pub fn kill_switch_key(active_key: &str) -> String {
        format!("{active_key}/kill-switch")
    }

    /// Where a releasing active leaves the units it spent in the exchange's last window, for
    /// the instance that takes over to count (`budget::handover`).
    pub fn spent_key(active_key: &str) -> String {
        format!("{active_key}/spent")
    }

    /// Everything wrong with these settings, each naming its key (`recv_window_ms`: the
    /// exchange's).
    pub fn problems(&self, recv_window_ms: u64) -> Vec<String> {
        let mut p = Vec::new();
        let mut need = |ok: bool, key: &str, expected: String| {
            if !ok {
                p.push(format!("ha.{key}: expected {expected}"));
            }
        };
        need(!self.endpoints.is_empty(), "endpoints", "at least one etcd URL".into());
        for e in &self.endpoints {
            need(
                e.starts_with("http://") || e.starts_with("https://"),
                "endpoints",
                format!("http(s):// URLs (etcd's JSON gateway), got {e:?}"),
            );
        }
        need(
            self.key.is_empty() || self.key.starts_with('/'),
            "key",
            "a key starting with '/', or empty for the account's".into(),
        );
        need(
            self.lease_ttl_ms >= 2_000 && self.lease_ttl_ms.is_multiple_of(1_000),
            "lease_ttl_ms",
            "whole seconds, at least 2000 (etcd grants leases in seconds)".into(),
        );
        need(
            self.margin_ms > recv_window_ms,
            "margin_ms",
            format!("more than exchange.recv_window_ms ({recv_window_ms}): a create sent before the active gives up could land until then"),
        );
        need(
            self.lease_ttl_ms > self.margin_ms + 2 * self.renew_every_ms,
            "lease_ttl_ms",
            "more than margin_ms + 2 × renew_every_ms (at least two renewals before giving up)".into(),
        );
        need(
            self.renew_every_ms >= 100 && self.request_timeout_ms >= 10 && self.request_timeout_ms <= self.renew_every_ms,
            "request_timeout_ms",
            "between 10 and renew_every_ms (≥ 100)".into(),
        );
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_against_the_default_receive_window() {
        assert_eq!(HaSettings::default().problems(5_000), Vec::<String>::new());
    }

    #[test]
    fn a_margin_inside_the_receive_window_is_refused() {
        let s = HaSettings {
            margin_ms: 5_000,
            ..HaSettings::default()
        };
        assert!(s.problems(5_000).iter().any(|p| p.starts_with("ha.margin_ms")));
    }

    #[test]
    fn fractional_and_too_short_leases_are_refused() {
        for ttl in [1_000, 7_500] {
            let s = HaSettings {
                lease_ttl_ms: ttl,
                ..HaSettings::default()
            };
            assert!(s.problems(5_000).iter().any(|p| p.starts_with("ha.lease_ttl_ms")), "{ttl}");
        }
    }

    #[test]
    fn the_key_is_derived_from_the_account_without_naming_it() {
        let s = HaSettings::default();
        let k = s.key_for("https://api.bybit.com", "KEY123");
        assert!(k.starts_with("/mmbot/") && k.ends_with("/active") && !k.contains("KEY123"), "{k}");
        assert_eq!(k, s.key_for("https://api.bybit.com", "KEY123"));
        assert_ne!(k, s.key_for("https://api.bybit.com", "KEY124"));
    }
}
