//! Who may use the control port. Off loopback every endpoint but the probes (`/healthz`,
//! `/readyz`) and `/metrics` needs the bearer token — `/status`, `/events`, `/history` and the
//! dashboard hand out equity, positions, orders and fills. Wrong tokens are throttled per client
//! address (10 a minute, then 429 with `Retry-After`) and counted; the right token from the
//! loopback address always works, so an operator on the host is never locked out.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};

use crate::exchange::secret::Secret;

/// Wrong tokens a client may present per minute before it gets 429s.
pub const FAILURES_PER_MINUTE: usize = 10;
const MINUTE: Duration = Duration::from_secs(60);

/// When the read endpoints need the token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadAuth {
    /// Only when the server listens on anything but loopback (on loopback the token file is
    /// 0600 already and only this host can connect).
    #[default]
    OffLoopback,
    /// Always.
    Always,
}

/// What the server asks of each request, decided once from its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthPolicy {
    /// `/`, `/status`, `/events`, `/history` need the token.
    pub reads: bool,
    /// `/metrics` needs it too.
    pub metrics: bool,
}

impl AuthPolicy {
    pub fn new(listen: IpAddr, read_auth: ReadAuth, metrics_auth: bool) -> Self {
        let reads = read_auth == ReadAuth::Always || !listen.is_loopback();
        Self {
            reads,
            metrics: metrics_auth,
        }
    }
}

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 401: no token, or a wrong one.
    Unauthorized,
    /// 429: this address presented too many wrong tokens this minute.
    TooMany { retry_after: Duration },
}

/// The token, the policy and the throttle: every request that needs the token passes here.
pub struct Gate {
    token: Secret,
    pub policy: AuthPolicy,
    throttle: Mutex<FailureThrottle>,
    failures: Counter,
}

impl Gate {
    pub fn new(token: Secret, policy: AuthPolicy, failures: Counter) -> Self {
        Self {
            token,
            policy,
            throttle: Mutex::default(),
            failures,
        }
    }

    /// Let the request in, or say why not. Only a presented wrong token counts as a failure: a
    /// browser's first visit without one is not an attack.
    pub fn check(&self, req: &HttpRequest) -> Result<(), Refusal> {
        let ip = req.peer_addr().map(|a| a.ip());
        let presented = bearer(req);
        let right = presented.is_some_and(|t| token_matches(&self.token, t));
        if right && ip.is_some_and(|ip| ip.is_loopback()) {
            return Ok(());
        }
        let now = Instant::now();
        let mut throttle = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(retry_after) = ip.and_then(|ip| throttle.blocked(ip, now)) {
            return Err(Refusal::TooMany { retry_after });
        }
        if right {
            return Ok(());
        }
        if presented.is_some() {
            self.failures.inc();
            if let Some(n) = ip.and_then(|ip| throttle.failed(ip, now)) {
                let from = ip.map_or("unknown".into(), |ip| ip.to_string());
                log::warn!(client = from.as_str(); "control port: wrong bearer token from {from} ({n} since the last line for it, {} path)", req.path());
            }
        }
        Err(Refusal::Unauthorized)
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

fn token_matches(expected: &Secret, given: &str) -> bool {
    let (a, b) = (expected.expose().as_bytes(), given.as_bytes());
    // Constant time over the expected length: a wrong token takes as long as a right one.
    !a.is_empty() && a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Failed authentications per client address over the last minute.
#[derive(Debug, Default)]
pub struct FailureThrottle {
    failures: HashMap<IpAddr, VecDeque<Instant>>,
    /// When the WARN line for an address was last written, and failures since.
    logged: HashMap<IpAddr, (Instant, u64)>,
}

impl FailureThrottle {
    /// `Some(retry_after)` while the address has used up its failures for the minute.
    pub fn blocked(&mut self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let q = self.failures.get_mut(&ip)?;
        while q.front().is_some_and(|t| now.saturating_duration_since(*t) >= MINUTE) {
            q.pop_front();
        }
        if q.len() < FAILURES_PER_MINUTE {
            return None;
        }
        let oldest = *q.front()?;
        Some((oldest + MINUTE).saturating_duration_since(now).max(Duration::from_secs(1)))
    }

    /// A wrong token from `ip`: `Some(n)` when a WARN line is due (once a minute per address),
    /// standing for `n` failures.
    pub fn failed(&mut self, ip: IpAddr, now: Instant) -> Option<u64> {
        self.failures.entry(ip).or_default().push_back(now);
        // An address that stops trying is forgotten with its minute.
        self.failures
            .retain(|_, q| q.back().is_some_and(|t| now.saturating_duration_since(*t) < MINUTE));
        // So is its log line's count (already in the failures counter): many source addresses
        // must not grow this without bound.
        self.logged
            .retain(|k, (at, _)| *k == ip || now.saturating_duration_since(*at) < MINUTE);
        match self.logged.get_mut(&ip) {
            None => {
                self.logged.insert(ip, (now, 0));
                Some(1)
            }
            Some((at, n)) => {
                *n += 1;
                if now.saturating_duration_since(*at) < MINUTE {
                    return None;
                }
                let count = *n;
                *at = now;
                *n = 0;
                Some(count)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_the_token_off_loopback_or_when_asked() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        assert!(!AuthPolicy::new(lo, ReadAuth::OffLoopback, false).reads);
        assert!(AuthPolicy::new(any, ReadAuth::OffLoopback, false).reads);
        assert!(AuthPolicy::new(lo, ReadAuth::Always, false).reads);
        assert!(AuthPolicy::new("::1".parse().unwrap(), ReadAuth::OffLoopback, true).metrics);
    }

    #[test]
    fn ten_failures_a_minute_then_429_until_the_oldest_ages_out() {
        let mut t = FailureThrottle::default();
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        let t0 = Instant::now();
        let mut lines = Vec::new();
        for i in 0..FAILURES_PER_MINUTE as u64 {
            assert_eq!(t.blocked(ip, t0), None);
            lines.extend(t.failed(ip, t0 + Duration::from_millis(i)));
        }
        assert_eq!(lines, vec![1], "one WARN line, not one per failure");
        let retry = t.blocked(ip, t0 + Duration::from_secs(1)).expect("throttled");
        assert!(retry <= Duration::from_secs(59) && retry >= Duration::from_secs(58), "{retry:?}");
        assert_eq!(t.blocked(other, t0), None, "per address");
        assert_eq!(t.blocked(ip, t0 + Duration::from_secs(61)), None, "a minute later");
        assert_eq!(t.failed(ip, t0 + Duration::from_secs(61)), Some(10), "the next line counts them");
    }

    #[test]
    fn addresses_that_stop_trying_are_forgotten_with_their_minute() {
        let mut t = FailureThrottle::default();
        let t0 = Instant::now();
        for i in 0..1_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            t.failed(ip, t0);
            t.failed(ip, t0 + Duration::from_millis(1));
        }
        assert_eq!(t.logged.len(), 1_000);
        t.failed("10.9.9.9".parse().unwrap(), t0 + Duration::from_secs(61));
        assert_eq!((t.failures.len(), t.logged.len()), (1, 1), "bounded by the last minute's addresses");
    }
}
