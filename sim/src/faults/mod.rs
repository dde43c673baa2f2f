//! Faults an operator or a test switches on, at start (flags) or at run time (`/sim/faults`):
//! latency per endpoint, endpoints that hang, answer 5xx or answer with rate-limit errors.
//! Dropping WebSocket connections and refusing connections are one-shot actions (see `admin`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Faults {
    /// Added delay before answering, by path; `"*"` applies to every `/v5/` path.
    pub latency_ms: BTreeMap<String, u64>,
    /// A random delay of 0 to this many milliseconds on every request (REST and the trade
    /// socket), before it is counted: a real network, where requests sent a window apart can
    /// arrive bunched.
    pub latency_jitter_ms: u64,
    /// Paths that accept the request and never answer.
    pub hang: BTreeSet<String>,
    /// Paths that answer `502 Bad Gateway` with a non-JSON body.
    pub error_5xx: BTreeSet<String>,
    /// Paths that answer retCode 10006 whatever the budget.
    pub rate_limit: BTreeSet<String>,
    /// The private stream refuses every `auth` (as for a revoked key).
    pub reject_ws_auth: bool,
    /// Every amend (single and batch items) is refused with a permanent error (10001).
    pub refuse_amends: bool,
    /// Stretch (or shorten) how long a cancel-all's orders stay on the book after its answer.
    pub cancel_all_delay_ms: Option<u64>,
    /// The private stream pushes nothing (order, execution, position, wallet) while set: the
    /// fills happen and REST shows them, the socket stays open and answers pings.
    pub withhold_private: bool,
    /// The private socket goes silent while set: no pushes, no pongs, no answer to anything; the
    /// connection stays open (a half-open socket).
    pub silent_private: bool,
    /// Every `/v5/` path answers HTTP 403 with an HTML page, as a CDN refusing a region or a
    /// firewall does (not Bybit's rate ban).
    pub forbidden: bool,
}

/// What to do with a request before it reaches its handler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Proceed,
    Hang,
    BadGateway,
    RateLimited,
}

impl Faults {
    pub fn latency_for(&self, path: &str) -> u64 {
        let fixed = self.latency_ms.get(path).or_else(|| self.latency_ms.get("*")).copied().unwrap_or(0);
        let jitter = if self.latency_jitter_ms > 0 {
            rand::Rng::gen_range(&mut rand::thread_rng(), 0..=self.latency_jitter_ms)
        } else {
            0
        };
        fixed + jitter
    }

    pub fn verdict(&self, path: &str) -> Verdict {
        let hit = |set: &BTreeSet<String>| set.contains(path) || set.contains("*");
        if hit(&self.hang) {
            Verdict::Hang
        } else if hit(&self.error_5xx) {
            Verdict::BadGateway
        } else if hit(&self.rate_limit) {
            Verdict::RateLimited
        } else {
            Verdict::Proceed
        }
    }

    /// Parse a `PATH=MS` flag value.
    pub fn parse_latency(spec: &str) -> Result<(String, u64), String> {
        let (path, ms) = spec.split_once('=').ok_or_else(|| format!("expected PATH=MS, got {spec:?}"))?;
        let ms = ms
            .parse()
            .map_err(|_| format!("latency in {spec:?} is not a number of milliseconds"))?;
        Ok((path.to_string(), ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_path_wins_over_wildcard() {
        let mut f = Faults::default();
        f.latency_ms.insert("*".into(), 5);
        f.latency_ms.insert("/v5/order/create".into(), 50);
        assert_eq!(f.latency_for("/v5/order/create"), 50);
        assert_eq!(f.latency_for("/v5/order/cancel"), 5);
        f.latency_jitter_ms = 30;
        let seen: Vec<u64> = (0..200).map(|_| f.latency_for("/v5/order/cancel")).collect();
        assert!(seen.iter().all(|l| (5..=35).contains(l)), "{seen:?}");
        assert!(seen.iter().any(|l| *l != seen[0]), "random");
        f.hang.insert("/v5/order/cancel-all".into());
        assert_eq!(f.verdict("/v5/order/cancel-all"), Verdict::Hang);
        assert_eq!(f.verdict("/v5/order/cancel"), Verdict::Proceed);
        assert_eq!(Faults::parse_latency("/v5/order/create=20"), Ok(("/v5/order/create".into(), 20)));
        assert!(Faults::parse_latency("x").is_err());
    }
}
