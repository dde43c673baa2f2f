//! `[paper]`: the embedded exchange's market — the random walk's parameters and budget, or a
//! replayed or mirrored real market with its queue model and latencies.

use serde::Deserialize;

/// The embedded simulator's market (paper mode without `exchange.rest_url`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaperConfig {
    pub seed: u64,
    pub volatility_bps: f64,
    pub trade_probability: f64,
    pub order_rate_limit: u32,
    /// Where the embedded exchange's market comes from: `synthetic` (the random walk),
    /// `replay` (`replay_files`, recordings in the market-data format) or `mirror` (the live
    /// public stream at `mirror_url`).
    pub market: String,
    pub replay_files: Vec<std::path::PathBuf>,
    /// Exchange milliseconds per wall millisecond.
    pub replay_speed: f64,
    pub mirror_url: String,
    /// The mirrored venue's REST API, for its real instruments; the shipped table when empty.
    pub mirror_rest_url: String,
    /// How our resting orders advance in their queues on a real market: `risk_averse` or
    /// `prob_power:N`.
    pub queue_model: String,
    /// Delay before the bot sees a market event: milliseconds, or `"recorded"` (a replay's own
    /// local − exchange times).
    pub feed_latency_ms: FeedLatencySetting,
    /// Delay before an order reaches the matching engine.
    pub order_latency_ms: u64,
}

/// `feed_latency_ms = 30` or `feed_latency_ms = "recorded"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum FeedLatencySetting {
    Ms(u64),
    Named(String),
}

impl FeedLatencySetting {
    pub fn as_arg(&self) -> String {
        match self {
            FeedLatencySetting::Ms(ms) => ms.to_string(),
            FeedLatencySetting::Named(s) => s.clone(),
        }
    }
}

impl Default for PaperConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            volatility_bps: 0.5,
            trade_probability: 0.3,
            order_rate_limit: 10,
            market: "synthetic".into(),
            replay_files: Vec::new(),
            replay_speed: 1.0,
            mirror_url: String::new(),
            mirror_rest_url: String::new(),
            queue_model: "risk_averse".into(),
            feed_latency_ms: FeedLatencySetting::Ms(0),
            order_latency_ms: 0,
        }
    }
}
