//! Creates whose outcome is unknown (the request timed out, the connection broke): each may still
//! land on the exchange until the receive window after it was sent has passed. A listing asked
//! for before then that does not show it proves nothing — forgetting it there would let the slot
//! be quoted again, and the late create would rest beside it: double size, untracked.

use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Default)]
pub struct CreatesInDoubt {
    /// Link id → the moment after which the create can no longer land.
    landing_by: HashMap<String, Instant>,
}

impl CreatesInDoubt {
    /// A create sent earlier whose outcome is unknown may land until `until`.
    pub fn record(&mut self, link_id: &str, until: Instant) {
        self.landing_by.insert(link_id.to_string(), until);
    }

    /// Whether a listing asked for at `asked` that does not show `link_id` proves it never
    /// landed: only once its window had closed when the listing was asked for.
    pub fn absence_proves_gone(&self, link_id: &str, asked: Instant) -> bool {
        self.landing_by.get(link_id).is_none_or(|until| asked >= *until)
    }

    /// Its fate is known (listed, closed, or proved gone).
    pub fn settled(&mut self, link_id: &str) {
        self.landing_by.remove(link_id);
    }

    /// Keep only the creates still tracked.
    pub fn retain(&mut self, mut tracked: impl FnMut(&str) -> bool) {
        self.landing_by.retain(|l, _| tracked(l));
    }

    pub fn len(&self) -> usize {
        self.landing_by.len()
    }

    pub fn is_empty(&self) -> bool {
        self.landing_by.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_listing_asked_inside_the_window_proves_nothing_one_after_it_does() {
        let t0 = Instant::now();
        let mut d = CreatesInDoubt::default();
        d.record("a", t0 + Duration::from_secs(5));
        assert!(!d.absence_proves_gone("a", t0 + Duration::from_secs(1)), "may still land");
        assert!(d.absence_proves_gone("a", t0 + Duration::from_secs(5)));
        assert!(d.absence_proves_gone("other", t0), "a cancel or amend in doubt: absence is gone");
        d.settled("a");
        assert!(d.absence_proves_gone("a", t0) && d.is_empty());
    }

    #[test]
    fn creates_no_longer_tracked_are_dropped() {
        let t0 = Instant::now();
        let mut d = CreatesInDoubt::default();
        d.record("a", t0);
        d.record("b", t0);
        d.retain(|l| l == "b");
        assert_eq!(d.len(), 1);
        assert!(!d.absence_proves_gone("b", t0 - Duration::from_millis(1)));
    }
}
