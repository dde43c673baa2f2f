//! A taker walking the opposite side of the book: resting orders first at each price (time
//! priority), then the rest of the market; the trades it makes, on the public stream.

use crate::exchange::Exchange;
use bybit_v5::ws::{TradeItem, TradeMessage, UpdateType};
use bybit_v5::Side;
use rust_decimal::Decimal;

/// Trades a market keeps for `/v5/market/recent-trade` (Bybit's linear maximum).
const RECENT_TRADES: usize = 1000;

impl Exchange {
    /// Walk the opposite side from the best price up to `limit`: resting user orders first at each
    /// price (time priority), then synthetic liquidity. Returns the filled quantity.
    ///
    /// A real market is not moved by it: the taker walks a copy of the market's book, and its
    /// trades are the account's own (the public stream carries the market's trades only).
    pub fn take(&mut self, taker: Option<u64>, symbol: &str, side: Side, qty: Decimal, limit: Decimal, now: u64) -> Decimal {
        let mut remaining = qty;
        let mut trades = Vec::new();
        let real = self.markets[symbol].real.is_some();
        let mut walked = real.then(|| self.markets[symbol].outside.clone());
        while remaining > Decimal::ZERO {
            let m = &self.markets[symbol];
            let outside = walked.as_ref().unwrap_or(&m.outside);
            let (user_best, synth_best) = match side {
                Side::Buy => (m.asks.keys().next().copied(), outside.best_ask()),
                Side::Sell => (m.bids.keys().next_back().copied(), outside.best_bid()),
            };
            let price = match (user_best, synth_best, side) {
                (Some(u), Some(s), Side::Buy) => u.min(s),
                (Some(u), Some(s), Side::Sell) => u.max(s),
                (u, s, _) => match u.or(s) {
                    Some(p) => p,
                    None => break,
                },
            };
            let beyond = match side {
                Side::Buy => price > limit,
                Side::Sell => price < limit,
            };
            if beyond {
                break;
            }
            let q;
            if user_best == Some(price) {
                let book = if side == Side::Buy {
                    &self.markets[symbol].asks
                } else {
                    &self.markets[symbol].bids
                };
                let maker = *book[&price].front().expect("non-empty level");
                q = remaining.min(self.orders[&maker].info.leaves_qty);
                self.fill(maker, price, q, true, now);
            } else {
                let m = self.markets.get_mut(symbol).expect("known symbol");
                let outside = walked.as_mut().unwrap_or(&mut m.outside);
                let book = if side == Side::Buy { &mut outside.asks } else { &mut outside.bids };
                let size = book.get_mut(&price).expect("level exists");
                q = remaining.min(*size);
                *size -= q;
                if size.is_zero() {
                    book.remove(&price);
                }
            }
            if let Some(t) = taker {
                self.fill(t, price, q, false, now);
            }
            remaining -= q;
            trades.push((price, q));
        }
        if !real {
            self.publish_trades(symbol, side, &trades, now);
        }
        qty - remaining
    }

    pub(crate) fn publish_trades(&mut self, symbol: &str, taker_side: Side, trades: &[(Decimal, Decimal)], now: u64) {
        let trades: Vec<PrintedTrade> = trades
            .iter()
            .map(|(p, q)| PrintedTrade {
                taker_side,
                price: *p,
                qty: *q,
                time_ms: now,
                id: self.new_order_id(),
            })
            .collect();
        self.print_trades(symbol, &trades, now);
    }

    /// Record trades on the market (last price, 24 h figures, recent trades) and publish them as
    /// one `publicTrade` frame stamped `ts`.
    pub(crate) fn print_trades(&mut self, symbol: &str, trades: &[PrintedTrade], ts: u64) {
        if trades.is_empty() {
            return;
        }
        let m = self.markets.get_mut(symbol).expect("known symbol");
        let mut items = Vec::with_capacity(trades.len());
        for t in trades {
            let p = t.price;
            // Bybit's tick direction: up or down from the previous trade, or unchanged after one.
            m.tick_direction = match p.cmp(&m.last_price) {
                std::cmp::Ordering::Greater => "PlusTick",
                std::cmp::Ordering::Less => "MinusTick",
                std::cmp::Ordering::Equal if m.tick_direction.starts_with("Plus") || m.tick_direction == "ZeroPlusTick" => "ZeroPlusTick",
                std::cmp::Ordering::Equal => "ZeroMinusTick",
            };
            m.last_price = p;
            m.high_price = m.high_price.max(p);
            m.low_price = m.low_price.min(p);
            m.volume24h += t.qty;
            m.turnover24h += p * t.qty;
            m.cross_seq += 1;
            let item = TradeItem {
                time: t.time_ms,
                s: symbol.to_string(),
                side: t.taker_side,
                v: m.spec.fmt_qty(t.qty),
                p: m.spec.fmt_price(p),
                tick_direction: m.tick_direction.into(),
                i: t.id.clone(),
                block_trade: false,
                rpi: false,
                seq: m.cross_seq,
            };
            m.recent_trades.push_front(item.clone());
            m.recent_trades.truncate(RECENT_TRADES);
            items.push(item);
        }
        let topic = format!("publicTrade.{symbol}");
        let msg = TradeMessage {
            topic: topic.clone(),
            kind: UpdateType::Snapshot,
            ts,
            data: items,
        };
        let text = serde_json::to_string(&msg).expect("serialisable");
        let _ = self.public_tx.send(crate::exchange::PublicEvent {
            topic,
            u: None,
            text: text.into(),
            visible_at: self.visible_at,
        });
    }
}

/// A trade as the public stream prints it.
#[derive(Debug, Clone)]
pub struct PrintedTrade {
    pub taker_side: Side,
    pub price: Decimal,
    pub qty: Decimal,
    pub time_ms: u64,
    pub id: String,
}
