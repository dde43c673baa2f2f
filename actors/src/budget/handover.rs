//! What an instance hands over with the account: the units it spent in the exchange's last
//! window, per endpoint. Two instances on one account share the exchange's per-second budgets,
//! and neither governor sees the other's requests: without this, a standby taking over the
//! moment the active stopped sent its first quotes into a window the active had filled
//! (measured: 6 of 8 creates refused with 10006, quoting ~1.1 s late).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::rate_governor::RateGovernor;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpentUnits {
    /// When it was taken (unix ms): its ages are as of then.
    pub at_unix_ms: u64,
    /// Per endpoint, each unit's age in milliseconds.
    pub endpoints: BTreeMap<String, Vec<u64>>,
}

impl SpentUnits {
    /// What `g` counts as spent now.
    pub fn of(g: &mut RateGovernor, now: Instant, unix_ms: u64) -> Self {
        Self {
            at_unix_ms: unix_ms,
            endpoints: g.spent_ages(now),
        }
    }

    /// Count these units in `g` too, aged by the time since they were taken (never negative:
    /// clocks of two hosts may disagree by a little); how many still count.
    pub fn charge(&self, g: &mut RateGovernor, now: Instant, unix_ms: u64) -> usize {
        let since = unix_ms.saturating_sub(self.at_unix_ms);
        let mut counted = 0;
        for (endpoint, ages) in &self.endpoints {
            let ages: Vec<Duration> = ages.iter().map(|a| Duration::from_millis(a + since)).collect();
            counted += g.charge(endpoint, &ages, now);
        }
        counted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::rate_governor::{Priority, RateLimitSettings};

    #[test]
    fn the_units_an_instance_spent_count_in_the_next_ones_window() {
        let now = Instant::now();
        let mut old = RateGovernor::new(RateLimitSettings::default());
        let create = "/v5/order/create-batch";
        let full = old.available(create, Priority::Quote, now);
        old.try_admit(create, 8, Priority::Quote, now).unwrap();
        old.settle(create, 8, now, now);
        let handed = SpentUnits::of(&mut old, now + Duration::from_millis(100), 1_000_100);
        assert_eq!(handed.endpoints[create].len(), 8);

        let mut new = RateGovernor::new(RateLimitSettings::default());
        let later = now + Duration::from_millis(120);
        assert_eq!(handed.charge(&mut new, later, 1_000_120), 8);
        assert_eq!(new.available(create, Priority::Quote, later), full - 8);
        // They leave the new window when they would have left the old one.
        let gone = now + Duration::from_secs(2);
        assert_eq!(new.available(create, Priority::Quote, gone), full);
    }

    #[test]
    fn a_stale_hand_over_charges_nothing() {
        let now = Instant::now();
        let handed = SpentUnits {
            at_unix_ms: 1_000,
            endpoints: BTreeMap::from([("/v5/order/create-batch".to_string(), vec![0; 8])]),
        };
        let mut g = RateGovernor::new(RateLimitSettings::default());
        let full = g.available("/v5/order/create-batch", Priority::Quote, now);
        assert_eq!(handed.charge(&mut g, now, 60_000), 0);
        assert_eq!(g.available("/v5/order/create-batch", Priority::Quote, now), full);
    }
}
