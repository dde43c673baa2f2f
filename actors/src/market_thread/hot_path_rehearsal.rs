//! A dry run of the book update → order request path on canned data: decode a book frame, apply
//! it, compute quotes, diff them against live orders, write the batch body and sign it. Nothing
//! is sent and no actor state is touched.
//!
//! Why: after ~20 ms between book updates the first update's path ran 2–3× slower than the next
//! one (caches, branch predictors and TLB cold; docs/benchmarks.md, "Tick to wire"). A busy-polling
//! market thread runs this between updates so that the real path finds its code and data warm.

use std::hint::black_box;

use rust_decimal::Decimal;

use bybit_v5::sign;
use bybit_v5::ws::{decode, Frame};

use crate::market::book::LocalBook;
use crate::market::quoting::{compute_quotes, Filters, MarketState, QuoteParams, Sides};
use crate::orders::batch_body::{batch_body, BatchItem};
use crate::orders::order_diff::{diff, Action};
use crate::orders::order_table::{Phase, TrackedOrder};

const SYMBOL: &str = "BTCUSDT";
/// Never a real credential: the rehearsal signs with it so that the HMAC code stays warm.
const REHEARSAL_SECRET: &str = "rehearsal-only-not-a-secret";

/// What one pass did; a pass that skipped a stage would show here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rehearsed {
    pub quotes: usize,
    pub actions: usize,
    pub body_bytes: usize,
    pub signature_chars: usize,
}

pub struct HotPathRehearsal {
    /// The book every pass decodes: a tick above the one the live orders were quoted on, so
    /// that each pass amends.
    frame: String,
    params: QuoteParams,
    filters: Filters,
    live: Vec<TrackedOrder>,
}

impl HotPathRehearsal {
    /// `params`: the quoting of one of the bot's symbols, so the rehearsal loops over as many
    /// levels as the real path.
    pub fn new(params: QuoteParams) -> Self {
        let filters = Filters::btcusdt();
        let mut me = Self {
            frame: frame(300_000),
            params,
            filters,
            live: Vec::new(),
        };
        me.live = me
            .quotes_for(&frame(299_990))
            .iter()
            .enumerate()
            .map(|(i, q)| TrackedOrder {
                link_id: format!("mmb-rehearse-{i}"),
                order_id: Some(i.to_string()),
                symbol: SYMBOL.into(),
                side: q.side,
                level: q.level,
                price: q.price,
                qty: q.qty,
                filled: Decimal::ZERO,
                phase: Phase::Live,
                amend_from: None,
            })
            .collect();
        me
    }

    fn quotes_for(&self, frame: &str) -> Vec<crate::market::quoting::Quote> {
        let Ok(Frame::Book(m)) = decode(black_box(frame)) else {
            return Vec::new();
        };
        let mut book = LocalBook::default();
        if book.apply(&m).is_err() {
            return Vec::new();
        }
        let Some(top) = book.top() else { return Vec::new() };
        let state = MarketState {
            top,
            sigma: 3.0,
            inventory: Decimal::ZERO,
        };
        compute_quotes(&self.params, &self.filters, black_box(&state), Sides::BOTH)
    }

    /// One pass of the path, a few microseconds warm.
    pub fn run(&mut self) -> Rehearsed {
        let quotes = self.quotes_for(&self.frame);
        let live: Vec<&TrackedOrder> = self.live.iter().collect();
        let actions = diff(&quotes, &live, Decimal::ZERO);
        let items: Vec<BatchItem> = actions
            .iter()
            .map(|a| match a {
                Action::Create(q) => BatchItem::post_only(SYMBOL, q.side, q.price, q.qty, "mmb-rehearse-new"),
                Action::Amend { link_id, price, qty } => BatchItem::amend(SYMBOL, link_id, *price, *qty),
                Action::Cancel { link_id } => BatchItem::cancel(SYMBOL, link_id),
            })
            .collect();
        let body = batch_body(items);
        let signature = sign::sign_rest(REHEARSAL_SECRET, 1_700_000_000_000, "rehearsal", "5000", black_box(&body));
        Rehearsed {
            quotes: quotes.len(),
            actions: actions.len(),
            body_bytes: body.len(),
            signature_chars: black_box(signature).len(),
        }
    }
}

/// A one-level `orderbook.1` snapshot around `bid_tenths` (in tenths of a dollar).
fn frame(bid_tenths: i64) -> String {
    format!(
        r#"{{"topic":"orderbook.1.{SYMBOL}","type":"snapshot","ts":1,"data":{{"s":"{SYMBOL}","b":[["{}","1.000"]],"a":[["{}","1.500"]],"u":1,"seq":1}},"cts":1}}"#,
        Decimal::new(bid_tenths, 1),
        Decimal::new(bid_tenths + 1, 1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pass_walks_the_whole_path() {
        let mut r = HotPathRehearsal::new(QuoteParams::default());
        for _ in 0..4 {
            let done = r.run();
            // 4 levels a side by default; the book moved a tick, so something is amended.
            assert_eq!(done.quotes, 8, "{done:?}");
            assert!(done.actions > 0, "{done:?}");
            assert!(done.body_bytes > 50, "{done:?}");
            assert_eq!(done.signature_chars, 64, "{done:?}");
        }
    }

    #[test]
    fn follows_the_configured_levels() {
        let mut r = HotPathRehearsal::new(QuoteParams {
            levels: 25,
            ..Default::default()
        });
        assert_eq!(r.run().quotes, 50);
    }
}
