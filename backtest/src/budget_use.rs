//! How close a run came to the exchange's budget: per endpoint the requests and order units it
//! sent and the busiest second's units, against that endpoint's per-second limit; and the
//! busiest 5 s of requests against the IP's limit. A configuration that backtests well but
//! would live at its limits is deferred and late in a live run: this says so before it is.

use std::collections::{BTreeMap, VecDeque};

use mmbot_actors::budget::rate_governor::RateLimitSettings;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointUse {
    pub requests: u64,
    /// Order changes carried (a batch of five is five units).
    pub units: u64,
    /// The most units in any one second.
    pub peak_units_per_s: u64,
    /// The endpoint's limit in units per second, when the run knew it.
    pub limit_per_s: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetReport {
    pub endpoints: BTreeMap<String, EndpointUse>,
    /// The most requests in any 5 s (Bybit's IP window).
    pub peak_requests_per_5s: u64,
    pub ip_limit_per_5s: Option<u32>,
}

/// A sliding window's running sum and its peak.
#[derive(Debug)]
struct Peak {
    span_ms: u64,
    q: VecDeque<(u64, u64)>,
    sum: u64,
    peak: u64,
}

impl Peak {
    fn new(span_ms: u64) -> Self {
        Self {
            span_ms,
            q: VecDeque::new(),
            sum: 0,
            peak: 0,
        }
    }

    fn add(&mut self, at_ms: u64, n: u64) {
        while let Some(&(t, k)) = self.q.front() {
            if t + self.span_ms > at_ms {
                break;
            }
            self.q.pop_front();
            self.sum -= k;
        }
        self.q.push_back((at_ms, n));
        self.sum += n;
        self.peak = self.peak.max(self.sum);
    }
}

/// Requests as they are sent, in time order.
#[derive(Debug)]
pub struct BudgetUse {
    /// A handful of endpoints, found by a walk (a request is sent for most plans).
    endpoints: Vec<(String, EndpointUse, Peak)>,
    ip: Peak,
    limits: Option<RateLimitSettings>,
}

impl BudgetUse {
    /// `limits`: the budget the run was held to (None when it is not known, as for a recorder
    /// file read afterwards).
    pub fn new(limits: Option<RateLimitSettings>) -> Self {
        Self {
            endpoints: Vec::new(),
            ip: Peak::new(5_000),
            limits,
        }
    }

    pub fn sent(&mut self, endpoint: &str, units: u64, at_ms: u64) {
        let i = match self.endpoints.iter().position(|(e, _, _)| e == endpoint) {
            Some(i) => i,
            None => {
                let limit = self.limits.as_ref().and_then(|l| l.limit_for(endpoint));
                let lane = EndpointUse {
                    limit_per_s: limit,
                    ..EndpointUse::default()
                };
                self.endpoints.push((endpoint.to_string(), lane, Peak::new(1_000)));
                self.endpoints.len() - 1
            }
        };
        let (_, lane, peak) = &mut self.endpoints[i];
        lane.requests += 1;
        lane.units += units;
        peak.add(at_ms, units);
        lane.peak_units_per_s = peak.peak;
        self.ip.add(at_ms, 1);
    }

    /// Requests sent, per endpoint.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.endpoints.iter().map(|(k, lane, _)| (k.clone(), lane.requests)).collect()
    }

    pub fn report(&self) -> BudgetReport {
        BudgetReport {
            endpoints: self.endpoints.iter().map(|(k, lane, _)| (k.clone(), lane.clone())).collect(),
            peak_requests_per_5s: self.ip.peak,
            ip_limit_per_5s: self.limits.as_ref().map(|l| l.ip_requests_per_5s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_second_and_five_seconds_are_found_and_a_unit_leaves_its_window_after_it() {
        let limits = RateLimitSettings::default();
        let mut b = BudgetUse::new(Some(limits.clone()));
        for (t, units) in [(0, 5), (400, 3), (999, 2), (1_000, 4), (1_999, 1), (6_500, 1)] {
            b.sent("/v5/order/create-batch", units, t);
        }
        let r = b.report();
        let create = &r.endpoints["/v5/order/create-batch"];
        // 0..999: 5+3+2 = 10; the unit at 0 leaves at 1 000: 3+2+4 = 9, then 2+4+1 (at 1 999; 400 gone).
        assert_eq!((create.requests, create.units, create.peak_units_per_s), (6, 16, 10));
        assert_eq!(create.limit_per_s, Some(limits.orders_per_sec));
        assert_eq!(r.ip_limit_per_5s, Some(limits.ip_requests_per_5s));
        assert_eq!(r.peak_requests_per_5s, 5, "the request at 6 500 is alone in its 5 s");
        let unknown = BudgetUse::new(None);
        assert_eq!(unknown.report().ip_limit_per_5s, None);
    }
}
