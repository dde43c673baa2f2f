//! How long to wait before the next reconnect: capped exponential backoff with full jitter
//! (100 ms × 2^failures, at most `max_ms`, a uniform draw below that), so that many clients cut
//! off together do not come back together.

use std::time::Duration;

use rand::Rng;

pub fn reconnect_wait(failures: u32, max_ms: u64) -> Duration {
    let cap = max_ms.min(100u64.saturating_mul(1 << failures.min(16)));
    Duration::from_millis(rand::thread_rng().gen_range(0..=cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_its_cap() {
        for _ in 0..200 {
            assert!(reconnect_wait(1, 5_000) <= Duration::from_millis(200));
            assert!(reconnect_wait(30, 5_000) <= Duration::from_millis(5_000));
        }
    }
}
