//! What a backtest runs with: the bot's own settings (as `mmbot run` reads them from its
//! config), the instruments' filters and fees, and the venue's model and latencies.

use std::collections::BTreeMap;

use fill_model::QueueModel;
use market_data::FeedLatency;
use mmbot_actors::budget::rate_governor::RateLimitSettings;
use mmbot_actors::market::quoting::Filters;
use mmbot_actors::market::risk::RiskLimits;
use mmbot_actors::strategy::StrategySettings;
use rust_decimal::Decimal;

#[derive(Debug, Clone)]
pub struct Instrument {
    pub filters: Filters,
    /// Fee rates as maker and taker (a negative maker fee is a rebate).
    pub maker_fee: Decimal,
    pub taker_fee: Decimal,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub symbols: Vec<String>,
    pub instruments: BTreeMap<String, Instrument>,
    pub strategy: StrategySettings,
    pub risk: RiskLimits,
    pub requote_tolerance_bps: Decimal,
    pub rate_limits: RateLimitSettings,
    pub queue_model: QueueModel,
    /// An order request's way to the venue, and its answer's way back, each.
    pub order_latency_ms: u64,
    /// A market event's (and a fill's) way from the venue to the bot: a constant, or each
    /// frame's recorded local − exchange time.
    pub feed_latency: FeedLatency,
}
