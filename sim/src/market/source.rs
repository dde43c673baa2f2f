//! Where the market comes from: `synthetic` (a seeded random walk, the default), `replay` (a
//! recording in the market-data format, on the recording's clock) or `mirror` (a live Bybit
//! public stream, or another bybit-sim's), and how late its frames reach clients.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum MarketSource {
    #[default]
    Synthetic,
    Replay {
        files: Vec<PathBuf>,
        /// Exchange milliseconds per wall millisecond (1: real time).
        speed: f64,
    },
    Mirror {
        /// The public stream, e.g. `wss://stream.bybit.com/v5/public/linear`.
        ws_url: String,
        /// Where its instruments are read (`/v5/market/instruments-info`); the shipped table
        /// when absent.
        rest_url: Option<String>,
    },
}

impl MarketSource {
    pub fn name(&self) -> &'static str {
        match self {
            MarketSource::Synthetic => "synthetic",
            MarketSource::Replay { .. } => "replay",
            MarketSource::Mirror { .. } => "mirror",
        }
    }

    /// A real market: our orders do not move it; they fill by the queue model.
    pub fn is_real(&self) -> bool {
        !matches!(self, MarketSource::Synthetic)
    }
}

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
