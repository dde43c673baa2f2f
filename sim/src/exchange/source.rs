//! Switching the exchange to its market's source at start: a real market (replayed or
//! mirrored) starts with an empty book that its first snapshot fills, and a replay puts the
//! exchange's clock at the recording's first event.

use fill_model::QueueModel;

use super::Exchange;
use crate::market::clock::Clock;
use crate::market::real::RealMarket;
use crate::market::replay::Replay;
use crate::market::source::{FeedLatency, MarketSource};
use crate::market::synthetic::Liquidity;

impl Exchange {
    pub fn use_source(&mut self, source: &MarketSource, model: QueueModel, latency: FeedLatency) -> Result<(), String> {
        self.source = source.clone();
        self.queue_model = model;
        self.feed_latency = latency;
        if !source.is_real() {
            return Ok(());
        }
        for m in self.markets.values_mut() {
            m.outside = Liquidity::default();
            m.real = Some(RealMarket::default());
        }
        if let MarketSource::Replay { files, speed } = source {
            let (replay, first_ms) = Replay::open(files).map_err(|e| e.to_string())?;
            self.clock = Clock::replay(first_ms, *speed);
            self.market_time_ms = first_ms;
            self.replay = Some(replay);
        }
        let now = self.clock.now_ms();
        let symbols: Vec<String> = self.markets.keys().cloned().collect();
        for s in symbols {
            self.publish_book(&s, now);
        }
        Ok(())
    }

    /// The exchange's time now: what orders, executions and frames are stamped with.
    pub fn now(&self) -> u64 {
        self.clock.now_ms()
    }
}
