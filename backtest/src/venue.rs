//! The simulated exchange: each symbol's book as recorded (continuity checked), the bot's
//! resting orders with their queue positions, and the fills the fill model gives — the rules
//! bybit-sim applies on a replay, from the same crate. Our orders never move the recorded book.
//! Funding is settled at the times the recorded tickers announce. Prices are compared as
//! `PriceKey`s: exact, and a pair of integers when both have the tick's decimals.

use std::collections::BTreeMap;

use bybit_v5::Side;
use fill_model::{QueueModel, Resting};
use market_data::{Aggressor, Book, BookFrame, Changes, Event, Kind, PriceKey};
use mmbot_actors::market::exact::{half, to_f64};
use mmbot_actors::market::steps::{floor_to, whole_steps};
use mmbot_actors::orders::order_diff::Action;
use rust_decimal::prelude::*;

use crate::resting_orders::RestingOrders;
use crate::schedule::Outcome;
use crate::settings::Instrument;

#[derive(Debug, Clone)]
pub struct VenueOrder {
    /// The symbol's index in the venue's `names`.
    pub sym: usize,
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
    /// By symbol index.
    pub funding: Vec<(usize, Decimal)>,
    /// The event's symbol's book changed (or was lost: `lost`).
    pub book: bool,
    pub lost: bool,
}

pub struct Venue {
    pub model: QueueModel,
    /// The symbols, in name order; everything else is by index in this (no name compared per event).
    pub names: Vec<String>,
    pub instruments: Vec<Instrument>,
    pub markets: Vec<SymbolMarket>,
    /// Our resting orders by link id, in a stable order.
    pub orders: RestingOrders,
    /// What the last book frame changed (kept: no allocation per frame).
    changes: Changes,
}

fn model_side(s: Side) -> fill_model::Side {
    match s {
        Side::Buy => fill_model::Side::Buy,
        Side::Sell => fill_model::Side::Sell,
    }
}

/// A price in ticks: a price on its tick (all the book's and ours) without a decimal division.
fn ticks(price: Decimal, tick: Decimal) -> i64 {
    match whole_steps(price, tick).and_then(|n| i64::try_from(n).ok()) {
        Some(n) => n,
        None => (price / tick).round().to_i64().unwrap_or(0),
    }
}

impl Venue {
    pub fn new(model: QueueModel, instruments: BTreeMap<String, Instrument>) -> Self {
        let markets = instruments.keys().map(|_| SymbolMarket::default()).collect();
        let (names, instruments) = instruments.into_iter().unzip();
        Self {
            model,
            names,
            instruments,
            markets,
            orders: RestingOrders::default(),
            changes: Changes::default(),
        }
    }

    /// A symbol's index, if the venue lists it.
    pub fn id(&self, symbol: &str) -> Option<usize> {
        self.names.iter().position(|n| n == symbol)
    }

    pub fn mid(&self, sym: usize) -> Option<Decimal> {
        let b = &self.markets.get(sym)?.book;
        Some(half(b.best_bid()? + b.best_ask()?))
    }

    /// Apply one recorded event of symbol `sym` (None: one the venue does not list) at exchange time `at`.
    pub fn apply(&mut self, at: u64, sym: Option<usize>, event: &Event) -> Applied {
        let mut out = Applied::default();
        self.settle_funding(at, &mut out);
        let Some(sym) = sym else { return out };
        match &event.kind {
            Kind::Book(f) => self.apply_book(sym, f, at, &mut out),
            Kind::Trades { trades, .. } => {
                for t in trades {
                    self.apply_trade(sym, t.aggressor, t.price, t.qty, t.time_ms.max(at), &mut out);
                }
            }
            Kind::Ticker { fields, .. } => {
                if let Some(m) = self.markets.get_mut(sym) {
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
            Kind::Gap { .. } => {
                if let Some(m) = self.markets.get_mut(sym) {
                    m.book.lose();
                    out.book = true;
                    out.lost = true;
                }
            }
        }
        out
    }

    fn apply_book(&mut self, sym: usize, f: &BookFrame, at: u64, out: &mut Applied) {
        let model = self.model;
        let m = &mut self.markets[sym];
        if m.book.apply_into(f, &mut self.changes).is_err() {
            return;
        }
        let changes = &self.changes;
        for o in self.orders.values_mut().filter(|o| o.sym == sym) {
            let levels = if o.side == Side::Buy { &changes.bids } else { &changes.asks };
            if let Some((_, before, after)) = levels.iter().find(|(p, _, _)| PriceKey(*p) == PriceKey(o.price)) {
                o.queue.on_level(&model, to_f64(*before), to_f64(*after));
            }
        }
        out.book = true;
        // The other side's best reaching an order's price fills it. The rules run on the orders
        // in place; only what filled is settled after (one order's rule reads nothing another's
        // settling changes).
        let (best_bid, best_ask) = (m.book.best_bid(), m.book.best_ask());
        let tick_size = self.instruments[sym].filters.tick_size;
        let (mut bid_tick, mut ask_tick) = (None, None);
        let mut filled: Vec<(String, f64)> = Vec::new();
        for (id, o) in self.orders.iter_mut().filter(|(_, o)| o.sym == sym) {
            let best = match o.side {
                Side::Buy => best_ask
                    .filter(|a| PriceKey(*a) <= PriceKey(o.price))
                    .map(|a| *ask_tick.get_or_insert_with(|| ticks(a, tick_size))),
                Side::Sell => best_bid
                    .filter(|b| PriceKey(*b) >= PriceKey(o.price))
                    .map(|b| *bid_tick.get_or_insert_with(|| ticks(b, tick_size))),
            };
            if let Some(best) = best {
                let f = o.queue.on_opposite_best(best);
                if f > 0.0 {
                    filled.push((id.to_string(), f));
                }
            }
        }
        for (id, f) in filled {
            self.settle(&id, f, at, out);
        }
    }

    fn apply_trade(&mut self, sym: usize, aggressor: Aggressor, price: Decimal, qty: Decimal, at: u64, out: &mut Applied) {
        let model = self.model;
        let side = match aggressor {
            Aggressor::Buy => fill_model::Side::Buy,
            Aggressor::Sell => fill_model::Side::Sell,
        };
        let filters = &self.instruments[sym].filters;
        // Most trades meet none of our orders: their figures are worked out once one does.
        let mut figures: Option<(i64, f64, f64)> = None;
        let mut filled: Vec<(String, f64)> = Vec::new();
        for (id, o) in self.orders.iter_mut() {
            let hit = o.sym == sym
                && match aggressor {
                    Aggressor::Buy => o.side == Side::Sell && PriceKey(o.price) <= PriceKey(price),
                    Aggressor::Sell => o.side == Side::Buy && PriceKey(o.price) >= PriceKey(price),
                };
            if !hit {
                continue;
            }
            let (tick, qty, lot) = *figures.get_or_insert_with(|| (ticks(price, filters.tick_size), to_f64(qty), to_f64(filters.qty_step)));
            let f = o.queue.on_trade(&model, side, tick, qty, lot);
            if f > 0.0 {
                filled.push((id.to_string(), f));
            }
        }
        for (id, f) in filled {
            self.settle(&id, f, at, out);
        }
    }

    /// An order's rule filled `filled` (as f64): its lots, its leaves, the fill.
    fn settle(&mut self, id: &str, filled: f64, at: u64, out: &mut Applied) {
        let Some(o) = self.orders.get_mut(id) else { return };
        // `queue.leaves` is `leaves` as f64, set wherever `leaves` changes: a rule that fills
        // takes from it, and what it takes is rounded to whole lots here.
        let step = self.instruments[o.sym].filters.qty_step;
        // A rule that took all the leaves took exactly them: nothing to read back from a float
        // (the costliest step of a fill, and the one that could land a hair under a lot).
        let filled = if filled >= to_f64(o.leaves) {
            o.leaves
        } else {
            Decimal::from_f64(filled).unwrap_or_default()
        };
        let qty = floor_to(filled, step).min(o.leaves);
        if qty <= Decimal::ZERO {
            o.queue.leaves = to_f64(o.leaves);
            return;
        }
        o.leaves -= qty;
        o.queue.leaves = to_f64(o.leaves);
        let (sym, side, price) = (o.sym, o.side, o.price);
        if o.leaves.is_zero() {
            self.orders.remove(id);
        }
        let fee = (qty * price * self.instruments[sym].maker_fee).round_dp(8);
        self.markets[sym].position += if side == Side::Buy { qty } else { -qty };
        let mid = self.mid(sym).unwrap_or(price);
        out.fills.push(Fill {
            at_ms: at,
            symbol: self.names[sym].clone(),
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
            .iter()
            .any(|m| m.funding.is_some_and(|(t, _)| t > m.funding_settled_ms && at >= t))
        {
            return;
        }
        for sym in 0..self.markets.len() {
            let mid = self.mid(sym);
            let m = &mut self.markets[sym];
            let Some((time, rate)) = m.funding.filter(|(t, _)| *t > m.funding_settled_ms && at >= *t) else {
                continue;
            };
            m.funding_settled_ms = time;
            let mark = m.ticker.get("markPrice").and_then(|p| p.parse::<Decimal>().ok()).or(mid);
            if let (Some(mark), false) = (mark, m.position.is_zero()) {
                out.funding.push((sym, (m.position * mark * rate).round_dp(8)));
            }
        }
    }

    /// A batch of the bot's order actions arrives: each one's outcome.
    pub fn arrive(&mut self, sym: usize, actions: &[(String, Action)]) -> Vec<(String, Outcome)> {
        actions.iter().map(|(id, a)| (id.clone(), self.act(sym, id, a))).collect()
    }

    fn crosses(&self, sym: usize, side: Side, price: Decimal) -> bool {
        let b = &self.markets[sym].book;
        match side {
            Side::Buy => b.best_ask().is_some_and(|a| price >= a),
            Side::Sell => b.best_bid().is_some_and(|bid| price <= bid),
        }
    }

    fn join(&self, sym: usize, side: Side, price: Decimal, leaves: Decimal) -> Resting {
        let level = self.markets[sym].book.size_at(side == Side::Buy, price);
        Resting::join(
            &self.model,
            model_side(side),
            ticks(price, self.instruments[sym].filters.tick_size),
            to_f64(leaves),
            to_f64(level),
        )
    }

    fn act(&mut self, sym: usize, id: &str, action: &Action) -> Outcome {
        match action {
            Action::Create(q) => {
                if self.crosses(sym, q.side, q.price) {
                    return Outcome::PostOnlyCancelled;
                }
                let queue = self.join(sym, q.side, q.price, q.qty);
                self.orders.insert(
                    id.to_string(),
                    VenueOrder {
                        sym,
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
                let Some(o) = self.orders.get(id) else {
                    return Outcome::NotFound;
                };
                let new_price = price.unwrap_or(o.price);
                let new_qty = qty.unwrap_or(o.qty);
                let filled = o.qty - o.leaves;
                if new_qty <= filled {
                    return Outcome::NotFound;
                }
                if new_price != o.price && self.crosses(sym, o.side, new_price) {
                    self.orders.remove(id);
                    return Outcome::PostOnlyCancelled;
                }
                let leaves = new_qty - filled;
                // The place in the queue is kept only for the same price and no larger size.
                let queue = if new_price == o.price && new_qty <= o.qty {
                    Resting {
                        leaves: to_f64(leaves),
                        ..o.queue.clone()
                    }
                } else {
                    self.join(sym, o.side, new_price, leaves)
                };
                let o = self.orders.get_mut(id).expect("looked up above");
                (o.price, o.qty, o.leaves, o.queue) = (new_price, new_qty, leaves, queue);
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
