//! When the active must give up. etcd counts a lease's TTL from when its leader handled the
//! last keep-alive, which is after the request was sent: counting from the *send* time is the
//! side that never overestimates what is left, whatever the request's round trip.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct LeaseClock {
    ttl: Duration,
    margin: Duration,
    last_sent: Option<Instant>,
}

impl LeaseClock {
    pub fn new(ttl: Duration, margin: Duration) -> Self {
        Self {
            ttl,
            margin,
            last_sent: None,
        }
    }

    /// A grant or keep-alive sent at `sent` was answered with the lease alive.
    pub fn renewed(&mut self, sent: Instant) {
        self.last_sent = Some(self.last_sent.map_or(sent, |t| t.max(sent)));
    }

    /// Until when orders may go: the last renewal's send time + TTL − margin.
    pub fn give_up_at(&self) -> Option<Instant> {
        Some(self.last_sent? + self.ttl.saturating_sub(self.margin))
    }

    /// The earliest moment the lease could lapse at etcd.
    pub fn earliest_expiry(&self) -> Option<Instant> {
        Some(self.last_sent? + self.ttl)
    }

    pub fn must_give_up(&self, now: Instant) -> bool {
        self.give_up_at().is_none_or(|t| now >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_up_margin_before_the_ttl_counted_from_the_send() {
        let mut c = LeaseClock::new(Duration::from_secs(10), Duration::from_secs(6));
        let t0 = Instant::now();
        assert!(c.must_give_up(t0), "nothing renewed yet: nothing to stand on");
        c.renewed(t0);
        assert_eq!(c.give_up_at(), Some(t0 + Duration::from_secs(4)));
        assert_eq!(c.earliest_expiry(), Some(t0 + Duration::from_secs(10)));
        assert!(!c.must_give_up(t0 + Duration::from_millis(3_999)));
        assert!(c.must_give_up(t0 + Duration::from_secs(4)));
    }

    #[test]
    fn a_late_answer_to_an_older_renewal_does_not_move_it_back() {
        let mut c = LeaseClock::new(Duration::from_secs(10), Duration::from_secs(6));
        let t0 = Instant::now();
        c.renewed(t0 + Duration::from_secs(2));
        c.renewed(t0);
        assert_eq!(c.give_up_at(), Some(t0 + Duration::from_secs(6)));
    }
}
