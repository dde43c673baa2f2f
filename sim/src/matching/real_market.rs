//! The accounts' orders on a real market (replayed or mirrored): the market's events are
//! applied as the source sent them, and our orders do not move it. Each resting order keeps a
//! queue position (the `fill-model` crate, the backtest's too) that the market's trades and level
//! changes advance; a trade of the other side through our price, a trade at it past the queue
//! ahead, or the opposite best price crossing it fills the order at its own price, as a maker.
//! Funding is settled at the times the source's ticker announces, at its rate.

use bybit_v5::rest::{Execution, ExecutionView, PositionView};
use bybit_v5::Side;
use fill_model::Resting;
use market_data::{Aggressor, BookFrame, Event, Kind, Trade};
use rust_decimal::prelude::*;

use crate::exchange::Exchange;
use crate::market::real::RealMarket;
use crate::matching::take::PrintedTrade;

fn model_side(side: Side) -> fill_model::Side {
    match side {
        Side::Buy => fill_model::Side::Buy,
        Side::Sell => fill_model::Side::Sell,
    }
}

fn f64_of(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

impl Exchange {
    fn price_tick(&self, symbol: &str, price: Decimal) -> i64 {
        let tick = self.markets[symbol].spec.tick_size;
        (price / tick).round().to_i64().unwrap_or(0)
    }

    /// Apply every replayed event the clock has reached.
    pub fn catch_up(&mut self) {
        let Some(mut replay) = self.replay.take() else {
            return;
        };
        let now = self.clock.now_ms();
        while replay.tape.peek_ms().is_some_and(|t| t <= now) {
            let Some(item) = replay.tape.next() else { break };
            let delay = self.feed_latency.of(item.event.exchange_ms, item.local_ns);
            self.apply_market_event(item.at_ms, &item.event, delay);
        }
        self.replay = Some(replay);
    }

    /// Whether a replay has applied its last event.
    pub fn replay_ended(&self) -> bool {
        self.replay.as_ref().is_some_and(|r| r.tape.peek_ms().is_none())
    }

    /// One event of the real market at exchange time `at`, seen by clients `delay_ms` later.
    pub fn apply_market_event(&mut self, at: u64, event: &Event, delay_ms: u64) {
        self.market_time_ms = self.market_time_ms.max(at);
        self.settle_funding_due(at);
        let speed = match self.clock {
            crate::market::clock::Clock::Replay { speed, .. } => speed,
            crate::market::clock::Clock::Wall => 1.0,
        };
        self.visible_at =
            (delay_ms > 0).then(|| std::time::Instant::now() + std::time::Duration::from_secs_f64(delay_ms as f64 / 1000.0 / speed));
        match &event.kind {
            Kind::Book(frame) => self.apply_book(frame, at),
            Kind::Trades { symbol, trades } => self.apply_trades(symbol, trades, at),
            Kind::Ticker { symbol, fields } => self.apply_ticker(symbol, fields, at),
            Kind::Gap { symbol, .. } => {
                if let Some(real) = self.markets.get_mut(symbol).and_then(|m| m.real.as_mut()) {
                    real.book.lose();
                }
            }
        }
        self.visible_at = None;
    }

    fn apply_book(&mut self, frame: &BookFrame, at: u64) {
        let model = self.queue_model;
        let Some(m) = self.markets.get_mut(&frame.symbol) else {
            return;
        };
        let real = m.real.get_or_insert_with(RealMarket::default);
        let changes = match real.book.apply(frame) {
            Ok(c) => c,
            Err(why) => {
                log::debug!("{}: book frame u={} not applied: {why:?}", frame.symbol, frame.u);
                return;
            }
        };
        for (side, levels, ours) in [
            (&mut m.outside.bids, &changes.bids, &m.bids),
            (&mut m.outside.asks, &changes.asks, &m.asks),
        ] {
            for (price, before, after) in levels {
                if after.is_zero() {
                    side.remove(price);
                } else {
                    side.insert(*price, *after);
                }
                for seq in ours.get(price).into_iter().flatten() {
                    if let Some(r) = real.queues.get_mut(seq) {
                        r.on_level(&model, f64_of(*before), f64_of(*after));
                    }
                }
            }
        }
        if !real.ticker.contains_key("markPrice") {
            if let (Some(b), Some(a)) = (m.outside.best_bid(), m.outside.best_ask()) {
                m.mid = (b + a) / Decimal::TWO;
            }
        }
        let symbol = frame.symbol.clone();
        self.fill_crossed(&symbol, at);
        self.trigger_waiting(&symbol, at);
        self.publish_book(&symbol, at);
    }

    /// Resting orders the market's opposite best price reached or passed: filled whole.
    fn fill_crossed(&mut self, symbol: &str, at: u64) {
        let m = &self.markets[symbol];
        let (Some(real), best_ask, best_bid) = (&m.real, m.outside.best_ask(), m.outside.best_bid()) else {
            return;
        };
        if !real.book.is_known() {
            return;
        }
        let mut crossed: Vec<(u64, i64)> = Vec::new();
        if let Some(a) = best_ask {
            let levels = m.bids.range(a..).flat_map(|(_, q)| q.iter());
            crossed.extend(levels.map(|s| (*s, self.price_tick(symbol, a))));
        }
        if let Some(b) = best_bid {
            let levels = m.asks.range(..=b).flat_map(|(_, q)| q.iter());
            crossed.extend(levels.map(|s| (*s, self.price_tick(symbol, b))));
        }
        for (seq, best) in crossed {
            self.fill_by_model(seq, at, |r| r.on_opposite_best(best));
        }
    }

    /// Run `rule` on an order's queue position and fill what it says, at the order's price.
    fn fill_by_model(&mut self, seq: u64, at: u64, rule: impl FnOnce(&mut Resting) -> f64) {
        let Some(o) = self.orders.get(&seq) else { return };
        let (symbol, price, leaves) = (o.info.symbol.clone(), o.info.price, o.info.leaves_qty);
        let m = self.markets.get_mut(&symbol).expect("known symbol");
        let Some(r) = m.real.as_mut().and_then(|real| real.queues.get_mut(&seq)) else {
            return;
        };
        r.leaves = f64_of(leaves);
        let filled = rule(r);
        let qty = m.spec.fmt_qty(Decimal::from_f64(filled).unwrap_or_default()).min(leaves);
        if qty > Decimal::ZERO {
            self.fill(seq, price, qty, true, at);
        }
    }

    fn apply_trades(&mut self, symbol: &str, trades: &[Trade], at: u64) {
        let model = self.queue_model;
        let Some(m) = self.markets.get(symbol) else { return };
        let lot = f64_of(m.spec.qty_step);
        let mut printed = Vec::with_capacity(trades.len());
        for t in trades {
            let m = &self.markets[symbol];
            let (aggressor, hit) = match t.aggressor {
                // A buyer takes offers at or below its price; a seller, bids at or above.
                Aggressor::Buy => (
                    fill_model::Side::Buy,
                    m.asks.range(..=t.price).flat_map(|(_, q)| q.iter()).copied().collect::<Vec<_>>(),
                ),
                Aggressor::Sell => (
                    fill_model::Side::Sell,
                    m.bids
                        .range(t.price..)
                        .rev()
                        .flat_map(|(_, q)| q.iter())
                        .copied()
                        .collect::<Vec<_>>(),
                ),
            };
            let price_tick = self.price_tick(symbol, t.price);
            let qty = f64_of(t.qty);
            for seq in hit {
                self.fill_by_model(seq, t.time_ms.max(at), |r| r.on_trade(&model, aggressor, price_tick, qty, lot));
            }
            printed.push(PrintedTrade {
                taker_side: match t.aggressor {
                    Aggressor::Buy => Side::Buy,
                    Aggressor::Sell => Side::Sell,
                },
                price: t.price,
                qty: t.qty,
                time_ms: t.time_ms,
                id: t.id.clone(),
            });
        }
        self.print_trades(symbol, &printed, at);
        self.trigger_waiting(symbol, at);
        self.publish_ticker(symbol, at);
    }

    fn apply_ticker(&mut self, symbol: &str, fields: &[(String, String)], at: u64) {
        let Some(m) = self.markets.get_mut(symbol) else { return };
        let real = m.real.get_or_insert_with(RealMarket::default);
        for (k, v) in fields {
            if !v.is_empty() {
                real.ticker.insert(k.clone(), v.clone());
            }
        }
        if let Some(mark) = real.ticker.get("markPrice").and_then(|p| p.parse::<Decimal>().ok()) {
            m.mid = mark;
        }
        self.trigger_waiting(symbol, at);
        self.publish_ticker(symbol, at);
    }

    /// An order began to rest on a real market: it joins the back of its level's queue (or keeps
    /// its place, if it already had one there).
    pub(crate) fn queue_join(&mut self, seq: u64) {
        let o = &self.orders[&seq].info;
        let (symbol, side, price, leaves) = (o.symbol.clone(), o.side, o.price, o.leaves_qty);
        let tick = self.price_tick(&symbol, price);
        let m = self.markets.get_mut(&symbol).expect("known symbol");
        let level = match side {
            Side::Buy => m.outside.bids.get(&price),
            Side::Sell => m.outside.asks.get(&price),
        };
        let level = f64_of(level.copied().unwrap_or_default());
        let model = self.queue_model;
        if let Some(real) = m.real.as_mut() {
            real.queues
                .entry(seq)
                .or_insert_with(|| Resting::join(&model, model_side(side), tick, f64_of(leaves), level));
        }
    }

    /// An order left its place in the queue (closed, or amended to another price or a larger size).
    pub(crate) fn queue_leave(&mut self, seq: u64) {
        if let Some(o) = self.orders.get(&seq) {
            if let Some(real) = self.markets.get_mut(&o.info.symbol).and_then(|m| m.real.as_mut()) {
                real.queues.remove(&seq);
            }
        }
    }

    /// Settle funding on every real market whose announced funding time `at` has reached.
    fn settle_funding_due(&mut self, at: u64) {
        let due: Vec<(String, u64, Decimal)> = self
            .markets
            .iter()
            .filter_map(|(s, m)| {
                let real = m.real.as_ref()?;
                let time = real.ticker_ms("nextFundingTime")?;
                let rate = real.ticker.get("fundingRate")?.parse().ok()?;
                (time > real.funding_settled_ms && at >= time).then(|| (s.clone(), time, rate))
            })
            .collect();
        for (symbol, time, rate) in due {
            if let Some(real) = self.markets.get_mut(&symbol).and_then(|m| m.real.as_mut()) {
                real.funding_settled_ms = time;
            }
            self.settle_funding(&symbol, rate, time);
        }
    }

    /// Every position on `symbol` pays (long, positive rate) or receives its value × `rate`.
    fn settle_funding(&mut self, symbol: &str, rate: Decimal, time: u64) {
        let mark = self.markets[symbol].mid;
        let spec = self.markets[symbol].spec.clone();
        for account in 0..self.accounts.len() {
            let rows: Vec<(u8, Decimal)> = self.accounts[account]
                .positions
                .iter()
                .filter(|((s, _), p)| s == symbol && !p.size.is_zero())
                .map(|((_, idx), p)| (*idx, p.size))
                .collect();
            for (idx, size) in rows {
                let fee = (size * mark * rate).round_dp(8);
                let a = &mut self.accounts[account];
                a.wallet_balance -= fee;
                if let Some(p) = a.positions.get_mut(&(symbol.to_string(), idx)) {
                    p.cur_realised -= fee;
                    p.cum_realised -= fee;
                }
                let exec = Execution {
                    category: "linear".into(),
                    symbol: symbol.to_string(),
                    side: if size > Decimal::ZERO { Side::Buy } else { Side::Sell },
                    exec_type: "Funding".into(),
                    exec_fee: fee,
                    exec_id: self.new_order_id(),
                    exec_price: spec.fmt_price(mark),
                    exec_qty: spec.fmt_qty(size.abs()),
                    exec_value: (size.abs() * mark).round_dp(8),
                    exec_time: time.to_string(),
                    fee_rate: rate,
                    fee_currency: "USDT".into(),
                    mark_price: spec.fmt_price(mark).to_string(),
                    order_type: bybit_v5::OrderType::Unknown,
                    ..Default::default()
                };
                log::info!("funding {symbol} at {time}: account #{account} pays {fee} at rate {rate}");
                self.record_execution(account, exec.clone());
                self.send_private(account, "execution", vec![exec.to_wire(ExecutionView::Stream)], time);
                let pos = self.position_view(account, symbol, idx);
                self.send_private(account, "position", vec![pos.to_wire(PositionView::Stream)], time);
                let wallet = self.wallet_view(account);
                self.send_private(account, "wallet", vec![wallet], time);
            }
        }
    }
}
