//! A real market's state beside the exchange's: its book as the source sent it (continuity
//! checked), where each of the accounts' resting orders stands in its level's queue, and the
//! ticker the source sent (mark price, funding rate and time).

use std::collections::BTreeMap;

use fill_model::Resting;
use market_data::Book;

#[derive(Debug, Default)]
pub struct RealMarket {
    pub book: Book,
    /// Resting orders of the accounts, by order sequence number.
    pub queues: BTreeMap<u64, Resting>,
    /// The source's ticker fields, as last sent.
    pub ticker: BTreeMap<String, String>,
    /// The funding time last settled (ms), so one is never settled twice.
    pub funding_settled_ms: u64,
}

impl RealMarket {
    pub fn ticker_ms(&self, key: &str) -> Option<u64> {
        self.ticker.get(key)?.parse().ok()
    }
}
