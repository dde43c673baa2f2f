//! Recent round trips to the exchange, per endpoint and per transport: what "no answer yet"
//! means on this link. The shutdown passes a cancel path over when it has been silent for a few
//! times its usual round trip, instead of a fixed second (on loopback an answer takes ~1 ms, on
//! Bybit tens of ms: a fixed bound is either too slow for one or too eager for the other).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// Round trips kept per series: enough for a stable 99th percentile, small enough to follow a
/// link that got slower.
const KEEP: usize = 256;

/// Fewer answers than this on an endpoint: its own figure is noise, the transport's is used.
pub const MIN_SAMPLES: usize = 8;

/// The transports a request can take (their round trips differ: the trade socket skips the
/// HTTP handshake and the gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Rest,
    WebSocket,
}

#[derive(Debug, Default)]
struct Series(VecDeque<Duration>);

impl Series {
    fn push(&mut self, d: Duration) {
        if self.0.len() == KEEP {
            self.0.pop_front();
        }
        self.0.push_back(d);
    }

    /// The 99th percentile (nearest rank), once there are enough samples.
    fn p99(&self) -> Option<Duration> {
        if self.0.len() < MIN_SAMPLES {
            return None;
        }
        let mut v: Vec<Duration> = self.0.iter().copied().collect();
        v.sort_unstable();
        let rank = (v.len() * 99).div_ceil(100).max(1);
        Some(v[rank - 1])
    }
}

#[derive(Debug, Default)]
pub struct RoundTrips {
    by_endpoint: HashMap<(Transport, &'static str), Series>,
    by_transport: HashMap<Transport, Series>,
}

impl RoundTrips {
    /// An answer (any answer: a refusal took the same trip) came `d` after the request left.
    /// On every answer: no allocation once the endpoint has been seen.
    pub fn record(&mut self, transport: Transport, endpoint: &'static str, d: Duration) {
        self.by_endpoint.entry((transport, endpoint)).or_default().push(d);
        self.by_transport.entry(transport).or_default().push(d);
    }

    /// The endpoint's recent 99th percentile; the transport's when the endpoint has too few
    /// answers (cancel-all is rarely sent before the stop); None when nothing was measured.
    pub fn p99(&self, transport: Transport, endpoint: &'static str) -> Option<Duration> {
        self.by_endpoint
            .get(&(transport, endpoint))
            .and_then(Series::p99)
            .or_else(|| self.by_transport.get(&transport).and_then(Series::p99))
    }
}

/// How long a request may stay unanswered before it counts as hanging: `factor` × the recent
/// p99, within `[floor, cap]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilenceBounds {
    pub factor: u32,
    pub floor: Duration,
    pub cap: Duration,
}

impl SilenceBounds {
    /// The same bound whatever the link does (`factor` 0 or a floor at the cap).
    pub fn fixed(d: Duration) -> Self {
        Self {
            factor: 0,
            floor: d,
            cap: d,
        }
    }

    /// The bound for a link whose recent p99 is `p99`; the cap when nothing was measured (no
    /// evidence the link is fast) — and the cap wins over a floor above it.
    pub fn bound(&self, p99: Option<Duration>) -> Duration {
        match p99 {
            Some(p) => p.saturating_mul(self.factor).clamp(self.floor.min(self.cap), self.cap),
            None => self.cap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn p99_per_endpoint_then_per_transport_then_none() {
        let mut rt = RoundTrips::default();
        assert_eq!(rt.p99(Transport::Rest, "/v5/order/cancel-all"), None);
        for i in 1..=100 {
            rt.record(Transport::Rest, "/v5/order/create-batch", ms(i));
        }
        // Nearest rank: the 99th of 100.
        assert_eq!(rt.p99(Transport::Rest, "/v5/order/create-batch"), Some(ms(99)));
        // An endpoint never answered borrows the transport's figure.
        assert_eq!(rt.p99(Transport::Rest, "/v5/order/cancel-all"), Some(ms(99)));
        assert_eq!(rt.p99(Transport::WebSocket, "/v5/order/cancel-batch"), None);
        // A few answers are not enough for an endpoint's own figure.
        for _ in 0..MIN_SAMPLES - 1 {
            rt.record(Transport::Rest, "/v5/order/cancel", ms(500));
        }
        assert_eq!(rt.p99(Transport::Rest, "/v5/order/cancel"), Some(ms(500)));
        let mut alone = RoundTrips::default();
        for _ in 0..MIN_SAMPLES - 1 {
            alone.record(Transport::Rest, "/v5/order/cancel", ms(3));
        }
        assert_eq!(alone.p99(Transport::Rest, "/v5/order/cancel"), None);
    }

    #[test]
    fn old_round_trips_leave() {
        let mut rt = RoundTrips::default();
        for _ in 0..KEEP {
            rt.record(Transport::Rest, "/v5/order/amend-batch", ms(400));
        }
        for _ in 0..KEEP {
            rt.record(Transport::Rest, "/v5/order/amend-batch", ms(2));
        }
        assert_eq!(rt.p99(Transport::Rest, "/v5/order/amend-batch"), Some(ms(2)));
    }

    #[test]
    fn the_bound_is_a_multiple_of_p99_within_floor_and_cap() {
        let b = SilenceBounds {
            factor: 4,
            floor: ms(50),
            cap: ms(1000),
        };
        assert_eq!(b.bound(Some(ms(1))), ms(50));
        assert_eq!(b.bound(Some(ms(40))), ms(160));
        assert_eq!(b.bound(Some(ms(900))), ms(1000));
        assert_eq!(b.bound(None), ms(1000));
        // A floor above the cap: the cap wins (it is the operator's hard bound).
        let high_floor = SilenceBounds { floor: ms(2000), ..b };
        assert_eq!(high_floor.bound(Some(ms(1))), ms(1000));
        assert_eq!(SilenceBounds::fixed(ms(300)).bound(Some(ms(1))), ms(300));
    }
}
