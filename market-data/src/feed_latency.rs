//! How long after the exchange applied a recorded event a client sees it: none, a constant, or
//! each frame's own recorded local − exchange time. bybit-sim's replay and the backtest both
//! delay the market by it.

/// How long after the exchange applied an event a client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum FeedLatency {
    #[default]
    None,
    Constant(u64),
    /// Each frame's own local receive time less its exchange time, as recorded.
    Recorded,
}

impl FeedLatency {
    /// `N` (milliseconds) or `recorded`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "recorded" => Ok(FeedLatency::Recorded),
            n => n
                .parse::<u64>()
                .map(|ms| if ms == 0 { FeedLatency::None } else { FeedLatency::Constant(ms) })
                .map_err(|_| format!("feed latency {s:?}: expected milliseconds or `recorded`")),
        }
    }

    /// The delay of an event stamped `exchange_ms` and received at `local_ns`.
    pub fn of(self, exchange_ms: u64, local_ns: u64) -> u64 {
        match self {
            FeedLatency::None => 0,
            FeedLatency::Constant(ms) => ms,
            // Clamped: a recording host's clock behind the exchange's gives no negative delay,
            // and a stall longer than a minute is a gap, not a latency.
            FeedLatency::Recorded => (local_ns / 1_000_000).saturating_sub(exchange_ms).min(60_000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_latency_is_the_frames_own_clamped_to_a_minute_and_never_negative() {
        assert_eq!(FeedLatency::parse("recorded"), Ok(FeedLatency::Recorded));
        assert_eq!(FeedLatency::parse("0"), Ok(FeedLatency::None));
        assert_eq!(FeedLatency::parse("25"), Ok(FeedLatency::Constant(25)));
        assert!(FeedLatency::parse("soon").is_err());
        let r = FeedLatency::Recorded;
        assert_eq!(r.of(1_000, 1_007_000_000), 7, "received 7 ms after the exchange stamped it");
        assert_eq!(r.of(1_000, 990_000_000), 0, "a recording host's clock behind the exchange's");
        assert_eq!(r.of(1_000, 100_000_000_000), 60_000, "a stall is a gap, not a latency");
        assert_eq!(FeedLatency::Constant(25).of(1_000, 5), 25);
    }
}
