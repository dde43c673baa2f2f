//! One WARN line per symbol and refusal code per minute, carrying how many refusals it stands
//! for: a refusal loop is visible at once without writing a line per refused order.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const LOG_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Slot {
    logged_at: Instant,
    unlogged: u64,
}

#[derive(Debug, Default)]
pub struct RefusalLog {
    slots: HashMap<(String, i64), Slot>,
}

impl RefusalLog {
    /// A refusal happened: `Some(n)` when a line is due, standing for `n` refusals (this one and
    /// those since the last line); `None` while the minute since that line runs.
    pub fn note(&mut self, symbol: &str, code: i64, now: Instant) -> Option<u64> {
        let key = (symbol.to_string(), code);
        match self.slots.get_mut(&key) {
            Some(s) if now.saturating_duration_since(s.logged_at) < LOG_EVERY => {
                s.unlogged += 1;
                None
            }
            Some(s) => {
                let n = s.unlogged + 1;
                s.logged_at = now;
                s.unlogged = 0;
                Some(n)
            }
            None => {
                self.slots.insert(
                    key,
                    Slot {
                        logged_at: now,
                        unlogged: 0,
                    },
                );
                Some(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_minute_per_symbol_and_code() {
        let mut log = RefusalLog::default();
        let t = Instant::now();
        assert_eq!(log.note("BTCUSDT", 110007, t), Some(1));
        for i in 1..50 {
            assert_eq!(log.note("BTCUSDT", 110007, t + Duration::from_millis(i * 100)), None);
        }
        assert_eq!(log.note("BTCUSDT", 10001, t), Some(1), "another code has its own line");
        assert_eq!(log.note("ETHUSDT", 110007, t), Some(1), "another symbol too");
        assert_eq!(log.note("BTCUSDT", 110007, t + LOG_EVERY), Some(50), "the count of the minute");
        assert_eq!(log.note("BTCUSDT", 110007, t + LOG_EVERY + Duration::from_secs(1)), None);
    }
}
