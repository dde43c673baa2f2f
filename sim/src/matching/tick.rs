//! The synthetic market's step: the random walk, its takers, a price shock, and resting orders
//! the market walked through.

use crate::exchange::Exchange;
use crate::market::synthetic::walk;
use bybit_v5::Side;
use rand::Rng;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::VecDeque;

impl Exchange {
    /// One step of the market: random walk, synthetic book follows, resting user orders the
    /// market walked through are filled, maybe a taker trade, then the book is published.
    pub fn tick(&mut self, now: u64) {
        if self.source.is_real() {
            // A real market moves by its source's events, not by the walk.
            self.check_dcp(now);
            return;
        }
        self.market_time_ms = now;
        let symbols: Vec<String> = self.markets.keys().cloned().collect();
        for symbol in symbols {
            let params = self.params.clone();
            {
                let m = self.markets.get_mut(&symbol).expect("known symbol");
                let mid = walk(m.mid, params.volatility_bps, &mut self.rng);
                m.mid = mid.max(m.spec.tick_size * dec!(10));
                let mid = m.mid;
                m.outside.retarget(&m.spec, mid, params.synthetic, &mut self.rng);
            }
            self.fill_walked_through(&symbol, now);
            if self.rng.gen_bool(params.trade_probability.clamp(0.0, 1.0)) {
                let side = if self.rng.gen_bool(0.5) { Side::Buy } else { Side::Sell };
                let lots = self.rng.gen_range(1..=params.max_trade_lots.max(1));
                let qty = self.markets[&symbol].spec.min_qty * Decimal::from(lots);
                self.market_trade(&symbol, side, qty, now);
            }
            self.trigger_waiting(&symbol, now);
            self.publish_book(&symbol, now);
        }
        self.check_dcp(now);
    }

    /// A price shock: the mid jumps by `bps`, the synthetic book follows, and resting orders the
    /// market jumped over are filled.
    pub fn shock(&mut self, symbol: &str, bps: f64, now: u64) {
        let params = self.params.synthetic;
        {
            let m = self.markets.get_mut(symbol).expect("known symbol");
            let factor = Decimal::from_f64_retain(1.0 + bps / 10_000.0).unwrap_or(Decimal::ONE);
            m.mid = (m.mid * factor).max(m.spec.tick_size * dec!(10));
            let mid = m.mid;
            m.outside.retarget(&m.spec, mid, params, &mut self.rng);
        }
        self.fill_walked_through(symbol, now);
        self.trigger_waiting(symbol, now);
        self.publish_book(symbol, now);
    }

    /// A taker order from the rest of the market.
    pub fn market_trade(&mut self, symbol: &str, side: Side, qty: Decimal, now: u64) -> Decimal {
        let mid = self.markets[symbol].mid;
        let limit = if side == Side::Buy { mid * dec!(1.05) } else { mid * dec!(0.95) };
        self.take(None, symbol, side, qty, limit, now)
    }

    pub(crate) fn fill_walked_through(&mut self, symbol: &str, now: u64) {
        loop {
            let m = &self.markets[symbol];
            let crossed_bid = match (m.bids.keys().next_back(), m.outside.best_ask()) {
                (Some(b), Some(a)) if *b >= a => Some(*b),
                _ => None,
            };
            let crossed_ask = match (m.asks.keys().next(), m.outside.best_bid()) {
                (Some(a), Some(b)) if *a <= b => Some(*a),
                _ => None,
            };
            let (price, book_side) = match (crossed_bid, crossed_ask) {
                (Some(p), _) => (p, Side::Buy),
                (None, Some(p)) => (p, Side::Sell),
                (None, None) => break,
            };
            let queue: VecDeque<u64> = {
                let m = self.markets.get_mut(symbol).expect("known symbol");
                let book = if book_side == Side::Buy { &mut m.bids } else { &mut m.asks };
                book.remove(&price).unwrap_or_default()
            };
            let mut trades = Vec::new();
            for seq in queue {
                if let Some(o) = self.orders.get(&seq) {
                    let q = o.info.leaves_qty;
                    // `fill` may call `unrest`, which no longer finds the order: it left the queue above.
                    self.fill(seq, price, q, true, now);
                    trades.push((price, q));
                }
            }
            self.publish_trades(symbol, book_side.opposite(), &trades, now);
        }
    }
}
