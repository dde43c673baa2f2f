//! The session's history per symbol for the dashboard's charts: one sample a second of the book
//! top, the bot's quote levels, position and PnL, kept for the last 15 minutes, plus the fills.
//! Sampled from the status view, so it costs the trading path nothing.

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::messages::status::StatusView;
use bybit_v5::Side;

/// 15 minutes at one sample a second.
pub const SAMPLES_KEPT: usize = 900;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Unix milliseconds.
    pub t: u64,
    pub bid: Decimal,
    pub ask: Decimal,
    /// The bot's resting buy and sell prices, best first.
    pub buys: Vec<Decimal>,
    pub sells: Vec<Decimal>,
    pub position: Decimal,
    pub pnl: Decimal,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct History {
    pub symbols: BTreeMap<String, VecDeque<Sample>>,
}

impl History {
    /// Add one sample per symbol whose book is known.
    pub fn sample(&mut self, view: &StatusView, t: u64) {
        for symbol in &view.symbols {
            let Some(&(bid, ask)) = view.book_tops.get(symbol) else { continue };
            let mut buys: Vec<Decimal> = Vec::new();
            let mut sells: Vec<Decimal> = Vec::new();
            for o in view.open_orders.iter().filter(|o| &o.symbol == symbol) {
                match o.side {
                    Side::Buy => buys.push(o.price),
                    Side::Sell => sells.push(o.price),
                }
            }
            buys.sort_by(|a, b| b.cmp(a));
            sells.sort();
            let p = view.pnl.symbols.get(symbol);
            let samples = self.symbols.entry(symbol.clone()).or_default();
            if samples.len() == SAMPLES_KEPT {
                samples.pop_front();
            }
            samples.push_back(Sample {
                t,
                bid,
                ask,
                buys,
                sells,
                position: p.map_or(Decimal::ZERO, |p| p.position),
                pnl: p.map_or(Decimal::ZERO, |p| p.total().round_dp(8)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::order_table::{Phase, TrackedOrder};
    use rust_decimal_macros::dec;

    fn order(side: Side, price: Decimal) -> TrackedOrder {
        TrackedOrder {
            link_id: "x".into(),
            order_id: None,
            symbol: "BTCUSDT".into(),
            side,
            level: 0,
            price,
            qty: dec!(0.001),
            filled: dec!(0),
            phase: Phase::Live,
            amend_from: None,
        }
    }

    #[test]
    fn samples_the_book_and_quotes_and_keeps_a_bounded_window() {
        let mut view = StatusView {
            symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
            ..Default::default()
        };
        view.book_tops.insert("BTCUSDT".into(), (dec!(100), dec!(101)));
        view.open_orders = vec![order(Side::Buy, dec!(98)), order(Side::Buy, dec!(99)), order(Side::Sell, dec!(102))];
        let mut h = History::default();
        for t in 0..(SAMPLES_KEPT as u64 + 5) {
            h.sample(&view, t);
        }
        let s = &h.symbols["BTCUSDT"];
        assert_eq!(s.len(), SAMPLES_KEPT);
        assert_eq!(s.front().unwrap().t, 5);
        assert_eq!(s.back().unwrap().buys, vec![dec!(99), dec!(98)]);
        assert_eq!(s.back().unwrap().sells, vec![dec!(102)]);
        assert!(!h.symbols.contains_key("ETHUSDT"), "no book, no sample");
    }
}
