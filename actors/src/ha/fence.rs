//! Until when this instance may place orders. The elector moves it forward with every renewal
//! of the lease; the OrderManager asks it before every plan. It is a point in time, not a flag:
//! an instance that stalls (a paused process, a starved host) finds the fence behind it when it
//! wakes, before the elector has had a chance to run, and sends nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Instants as nanoseconds since a process-wide origin, so they fit an atomic.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn to_nanos(t: Instant) -> u64 {
    t.saturating_duration_since(origin()).as_nanos().min(u128::from(u64::MAX - 1)) as u64
}

const CLOSED: u64 = 0;
const ALWAYS: u64 = u64::MAX;

#[derive(Debug, Clone)]
pub struct Fence {
    until: Arc<AtomicU64>,
    ever_opened: Arc<AtomicBool>,
    /// The earliest moment the lease could lapse at etcd, by our clock: after the fence closes,
    /// a request that changes the account (a reduce-only close) must still land before it, or
    /// it may land after the next active has read what it inherits. Never reset by `close`.
    lease_until: Arc<AtomicU64>,
}

impl Fence {
    /// No lease: orders may always go (a single instance).
    pub fn always_open() -> Self {
        let _ = origin();
        Self {
            until: Arc::new(AtomicU64::new(ALWAYS)),
            ever_opened: Arc::new(AtomicBool::new(true)),
            lease_until: Arc::new(AtomicU64::new(ALWAYS)),
        }
    }

    /// A standby: no order until a lease is won.
    pub fn closed() -> Self {
        let _ = origin();
        Self {
            until: Arc::new(AtomicU64::new(CLOSED)),
            ever_opened: Arc::new(AtomicBool::new(false)),
            lease_until: Arc::new(AtomicU64::new(CLOSED)),
        }
    }

    /// Orders may go until `t` (never moved back by a late, older renewal).
    pub fn open_until(&self, t: Instant) {
        self.until.fetch_max(to_nanos(t).max(1), Ordering::SeqCst);
        self.ever_opened.store(true, Ordering::SeqCst);
    }

    /// The lease cannot lapse before `t` (a renewal's send time + TTL); never moved back.
    pub fn lease_holds_until(&self, t: Instant) {
        self.lease_until.fetch_max(to_nanos(t).max(1), Ordering::SeqCst);
    }

    /// Whether a request sent now lands, at the latest `land_within` later, before the lease
    /// could lapse: what a close at the stop must pass, the fence itself being closed by then.
    pub fn lands_under_lease(&self, land_within: std::time::Duration) -> bool {
        match self.lease_until.load(Ordering::SeqCst) {
            CLOSED => false,
            ALWAYS => true,
            until => to_nanos(Instant::now() + land_within) < until,
        }
    }

    /// No order from now on (the lease is given up or lost).
    pub fn close(&self) {
        self.until.store(CLOSED, Ordering::SeqCst);
    }

    /// Whether orders may go now; reads the clock only under a lease (the OrderManager asks
    /// before every plan).
    pub fn allows_now(&self) -> bool {
        self.allows_when(Instant::now)
    }

    pub fn allows(&self, now: Instant) -> bool {
        self.allows_when(|| now)
    }

    fn allows_when(&self, now: impl FnOnce() -> Instant) -> bool {
        match self.until.load(Ordering::SeqCst) {
            CLOSED => false,
            ALWAYS => true,
            until => to_nanos(now()) < until,
        }
    }

    /// Whether this instance was ever allowed to place an order: a standby that never was has
    /// nothing of its own to cancel or close at its stop.
    pub fn ever_opened(&self) -> bool {
        self.ever_opened.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_standby_is_closed_until_opened_and_closes_by_the_clock() {
        let f = Fence::closed();
        let now = Instant::now();
        assert!(!f.allows(now) && !f.allows_now() && !f.ever_opened());
        f.open_until(now + Duration::from_millis(100));
        assert!(f.allows(now) && f.ever_opened());
        assert!(!f.allows(now + Duration::from_millis(100)), "closed at the instant itself");
    }

    #[test]
    fn an_older_renewal_never_moves_it_back_and_close_is_final_until_reopened() {
        let f = Fence::closed();
        let now = Instant::now();
        f.open_until(now + Duration::from_secs(2));
        f.open_until(now + Duration::from_secs(1));
        assert!(f.allows(now + Duration::from_millis(1500)));
        f.close();
        assert!(!f.allows(now) && f.ever_opened());
    }

    #[test]
    fn a_request_must_land_before_the_lease_could_lapse_whether_or_not_the_fence_is_open() {
        let f = Fence::closed();
        let w = Duration::from_millis(500);
        assert!(!f.lands_under_lease(w), "no lease yet");
        f.lease_holds_until(Instant::now() + Duration::from_secs(2));
        f.close();
        assert!(f.lands_under_lease(w), "closed for quotes, still inside the lease");
        assert!(!f.lands_under_lease(Duration::from_secs(3)), "would land after it could lapse");
        assert!(Fence::always_open().lands_under_lease(Duration::from_secs(86_400)));
    }

    #[test]
    fn a_single_instance_is_always_open() {
        let f = Fence::always_open();
        assert!(f.allows(Instant::now() + Duration::from_secs(86_400)) && f.allows_now() && f.ever_opened());
    }
}
