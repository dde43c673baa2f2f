//! The simulated exchange: each symbol's book as recorded (continuity checked), the bot's
//! resting orders with their queue positions, and the fills the fill model gives — the rules
//! bybit-sim applies on a replay, from the same crate. Our orders never move the recorded book.
//! Funding is settled at the times the recorded tickers announce.

use std::collections::BTreeMap;

use bybit_v5::Side;
use fill_model::{QueueModel, Resting};
use market_data::{Aggressor, Book, BookFrame, Changes, Event, Kind};
use mmbot_actors::market::steps::{floor_to, whole_steps};
use mmbot_actors::orders::order_diff::Action;
use rust_decimal::prelude::*;

use crate::schedule::Outcome;
use crate::settings::Instrument;

#[derive(Debug, Clone)]
pub struct VenueOrder {
    pub symbol: String,
    pub side: Side,
    pub price: Decimal,
    pub qty: Decimal,
    pub leaves: Decimal,
    pub queue: Resting,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    pub at_ms: u64,
    pub symbol: String,
    pub link_id: String,
    pub side: Side,
    pub price: Decimal,
    pub qty: Decimal,
    pub fee: Decimal,
    /// The book's mid when it filled.
    pub mid: Decimal,
}

#[derive(Default)]
pub struct SymbolMarket {
    pub book: Book,
    pub ticker: BTreeMap<String, String>,
    /// The next funding time and rate the ticker announced (read once per ticker, not per event).
    pub funding: Option<(u64, Decimal)>,
    pub funding_settled_ms: u64,
    /// Our position at the venue (for funding).
    pub position: Decimal,
}

/// What one market event did at the venue.
#[derive(Default)]
pub struct Applied {
    pub fills: Vec<Fill>,
    pub funding: Vec<(String, Decimal)>,
    /// The event's symbol's book changed (or was lost: `lost`).
    pub book: bool,
    pub lost: bool,
}

pub struct Venue {
    pub model: QueueModel,
    pub instruments: BTreeMap<String, Instrument>,
    pub markets: BTreeMap<String, SymbolMarket>,
    /// Our resting orders by link id, in a stable order.
    pub orders: BTreeMap<String, VenueOrder>,
    /// What the last book frame changed (kept: no allocation per frame).
    changes: Changes,
}

fn model_side(s: Side) -> fill_model::Side {
    match s {
        Side::Buy => fill_model::Side::Buy,
        Side::Sell => fill_model::Side::Sell,
    }
}

fn f64_of(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

impl Venue {
    pub fn new(model: QueueModel, instruments: BTreeMap<String, Instrument>) -> Self {
        let markets = instruments.keys().map(|s| (s.clone(), SymbolMarket::default())).collect();
        Self {
            model,
            instruments,
            markets,
            orders: BTreeMap::new(),
            changes: Changes::default(),
        }
    }

    fn tick_of(&self, symbol: &str, price: Decimal) -> i64 {
        let tick = self.instruments[symbol].filters.tick_size;
        // A price on its tick (all the book's and ours) without a decimal division.
        match whole_steps(price, tick).and_then(|n| i64::try_from(n).ok()) {
            Some(n) => n,
            None => (price / tick).round().to_i64().unwrap_or(0),
        }
    }

    pub fn mid(&self, symbol: &str) -> Option<Decimal> {
        let b = &self.markets.get(symbol)?.book;
        Some((b.best_bid()? + b.best_ask()?) / Decimal::TWO)
    }

    /// Apply one recorded event at exchange time `at`.
    pub fn apply(&mut self, at: u64, event: &Event) -> Applied {
        let mut out = Applied::default();
        self.settle_funding(at, &mut out);
        match &event.kind {
            Kind::Book(f) => self.apply_book(f, at, &mut out),
            Kind::Trades { symbol, trades } if self.instruments.contains_key(symbol) => {
                for t in trades {
                    self.apply_trade(symbol, t.aggressor, t.price, t.qty, t.time_ms.max(at), &mut out);
                }
            }
            Kind::Ticker { symbol, fields } => {
                if let Some(m) = self.markets.get_mut(symbol) {
                    for (k, v) in fields.iter().filter(|(_, v)| !v.is_empty()) {
                        m.ticker.insert(k.clone(), v.clone());
                    }
                    m.funding = m
                        .ticker
                        .get("nextFundingTime")
                        .and_then(|t| t.parse::<u64>().ok())
                        .zip(m.ticker.get("fundingRate").and_then(|r| r.parse::<Decimal>().ok()));
                }
            }
            Kind::Gap { symbol, .. } => {
                if let Some(m) = self.markets.get_mut(symbol) {
                    m.book.lose();
                    out.book = true;
                    out.lost = true;
                }
            }
            Kind::Trades { .. } => {}
        }
        out
    }

    fn apply_book(&mut self, f: &BookFrame, at: u64, out: &mut Applied) {
        let model = self.model;
        let Some(m) = self.markets.get_mut(&f.symbol) else { return };
        if m.book.apply_into(f, &mut self.changes).is_err() {
            return;
        }
        let changes = &self.changes;
        for o in self.orders.values_mut().filter(|o| o.symbol == f.symbol) {
            let levels = if o.side == Side::Buy { &changes.bids } else { &changes.asks };
            if let Some((_, before, after)) = levels.iter().find(|(p, _, _)| *p == o.price) {
                o.queue.on_level(&model, f64_of(*before), f64_of(*after));
            }
        }
        out.book = true;
        // The other side's best reaching an order's price fills it.
        let (best_bid, best_ask) = (m.book.best_bid(), m.book.best_ask());
        let crossed: Vec<(String, i64)> = self
            .orders
            .iter()
            .filter(|(_, o)| o.symbol == f.symbol)
            .filter_map(|(id, o)| {
                let best = match o.side {
                    Side::Buy => best_ask.filter(|a| *a <= o.price)?,
                    Side::Sell => best_bid.filter(|b| *b >= o.price)?,
                };
                Some((id.clone(), self.tick_of(&f.symbol, best)))
            })
            .collect();
        for (id, best) in crossed {
            self.fill_by(&id, at, out, |r| r.on_opposite_best(best));
        }
    }

    fn apply_trade(&mut self, symbol: &str, aggressor: Aggressor, price: Decimal, qty: Decimal, at: u64, out: &mut Applied) {
        let model = self.model;
        let side = match aggressor {
            Aggressor::Buy => fill_model::Side::Buy,
            Aggressor::Sell => fill_model::Side::Sell,
        };
        let hit: Vec<String> = self
            .orders
            .iter()
            .filter(|(_, o)| {
                o.symbol == symbol
                    && match aggressor {
                        Aggressor::Buy => o.side == Side::Sell && o.price <= price,
                        Aggressor::Sell => o.side == Side::Buy && o.price >= price,
                    }
            })
            .map(|(id, _)| id.clone())
            .collect();
        if hit.is_empty() {
            return;
        }
        // Most trades meet none of our orders: their figures are worked out only for those that do.
        let (tick, qty, lot) = (
            self.tick_of(symbol, price),
            f64_of(qty),
            f64_of(self.instruments[symbol].filters.qty_step),
        );
        for id in hit {
            self.fill_by(&id, at, out, |r| r.on_trade(&model, side, tick, qty, lot));
        }
    }

    fn fill_by(&mut self, id: &str, at: u64, out: &mut Applied, rule: impl FnOnce(&mut Resting) -> f64) {
        let Some(o) = self.orders.get_mut(id) else { return };
        // `queue.leaves` is `leaves` as f64, set wherever `leaves` changes: a rule that fills
        // takes from it, and what it takes is rounded to whole lots below.
        let filled = rule(&mut o.queue);
        // Most trades and book changes fill nothing: no decimal worked out for them.
        if filled <= 0.0 {
            return;
        }
        let step = self.instruments[&o.symbol].filters.qty_step;
        let filled = Decimal::from_f64(filled).unwrap_or_default();
        let qty = floor_to(filled, step).min(o.leaves);
        if qty <= Decimal::ZERO {
            o.queue.leaves = f64_of(o.leaves);
            return;
        }
        o.leaves -= qty;
        o.queue.leaves = f64_of(o.leaves);
        let (symbol, side, price) = (o.symbol.clone(), o.side, o.price);
        if o.leaves.is_zero() {
            self.orders.remove(id);
        }
        let fee = (qty * price * self.instruments[&symbol].maker_fee).round_dp(8);
        let m = self.markets.get_mut(&symbol).expect("known symbol");
        m.position += if side == Side::Buy { qty } else { -qty };
        let mid = self.mid(&symbol).unwrap_or(price);
        out.fills.push(Fill {
            at_ms: at,
            symbol,
            link_id: id.to_string(),
            side,
            price,
            qty,
            fee,
            mid,
        });
    }

    /// Funding due at `at` on every symbol: our position pays (long, positive rate) or receives.
    fn settle_funding(&mut self, at: u64, out: &mut Applied) {
        if !self
            .markets
            .values()
            .any(|m| m.funding.is_some_and(|(t, _)| t > m.funding_settled_ms && at >= t))
        {
            return;
        }
        let symbols: Vec<String> = self.markets.keys().cloned().collect();
        for symbol in symbols {
            let mid = self.mid(&symbol);
            let m = self.markets.get_mut(&symbol).expect("known");
            let Some((time, rate)) = m.funding.filter(|(t, _)| *t > m.funding_settled_ms && at >= *t) else {
                continue;
            };
            m.funding_settled_ms = time;
            let mark = m.ticker.get("markPrice").and_then(|p| p.parse::<Decimal>().ok()).or(mid);
            if let (Some(mark), false) = (mark, m.position.is_zero()) {
                out.funding.push((symbol.clone(), (m.position * mark * rate).round_dp(8)));
            }
        }
    }

    /// A batch of the bot's order actions arrives: each one's outcome.
    pub fn arrive(&mut self, symbol: &str, actions: &[(String, Action)]) -> Vec<(String, Outcome)> {
        actions.iter().map(|(id, a)| (id.clone(), self.act(symbol, id, a))).collect()
    }

    fn crosses(&self, symbol: &str, side: Side, price: Decimal) -> bool {
        let b = &self.markets[symbol].book;
        match side {
            Side::Buy => b.best_ask().is_some_and(|a| price >= a),
            Side::Sell => b.best_bid().is_some_and(|bid| price <= bid),
        }
    }

    fn join(&self, symbol: &str, side: Side, price: Decimal, leaves: Decimal) -> Resting {
        let b = &self.markets[symbol].book;
        let level = match side {
            Side::Buy => b.bids.get(&price),
            Side::Sell => b.asks.get(&price),
        };
        Resting::join(
            &self.model,
            model_side(side),
            self.tick_of(symbol, price),
            f64_of(leaves),
            f64_of(level.copied().unwrap_or_default()),
        )
    }

    fn act(&mut self, symbol: &str, id: &str, action: &Action) -> Outcome {
        match action {
            Action::Create(q) => {
                if self.crosses(symbol, q.side, q.price) {
                    return Outcome::PostOnlyCancelled;
                }
                let queue = self.join(symbol, q.side, q.price, q.qty);
                self.orders.insert(
                    id.to_string(),
                    VenueOrder {
                        symbol: symbol.to_string(),
                        side: q.side,
                        price: q.price,
                        qty: q.qty,
                        leaves: q.qty,
                        queue,
                    },
                );
                Outcome::Done
            }
            Action::Amend { price, qty, .. } => {
                let Some(o) = self.orders.get(id).cloned() else {
                    return Outcome::NotFound;
                };
                let new_price = price.unwrap_or(o.price);
                let new_qty = qty.unwrap_or(o.qty);
                let filled = o.qty - o.leaves;
                if new_qty <= filled {
                    return Outcome::NotFound;
                }
                if new_price != o.price && self.crosses(symbol, o.side, new_price) {
                    self.orders.remove(id);
                    return Outcome::PostOnlyCancelled;
                }
                let leaves = new_qty - filled;
                // The place in the queue is kept only for the same price and no larger size.
                let queue = if new_price == o.price && new_qty <= o.qty {
                    Resting {
                        leaves: f64_of(leaves),
                        ..o.queue.clone()
                    }
                } else {
                    self.join(symbol, o.side, new_price, leaves)
                };
                self.orders.insert(
                    id.to_string(),
                    VenueOrder {
                        price: new_price,
                        qty: new_qty,
                        leaves,
                        queue,
                        ..o
                    },
                );
                Outcome::Done
            }
            Action::Cancel { .. } => match self.orders.remove(id) {
                Some(_) => Outcome::Done,
                None => Outcome::NotFound,
            },
        }
    }
}

#[cfg(test)]
#[path = "venue_tests.rs"]
mod tests;
