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

/// How long after the exchange applied an event a client sees it (one type with the backtest's).
pub use market_data::FeedLatency;
