//! Order actions and matching: create, amend, cancel, cancel-all, taker walks through the book,
//! fills with positions and balances, the market's tick, and DCP.

use std::collections::VecDeque;

use rand::Rng;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use bybit_v5::rest::{
    AmendOrder, CancelOrder, CreateOrder, Execution, ExecutionView, OrderIds, OrderInfo, OrderView, PositionView, CANCEL_ALL_CAP,
};
use bybit_v5::ws::{TradeItem, TradeMessage, UpdateType};
use bybit_v5::{Category, OrderStatus, OrderType, RetCode, Side, TimeInForce};

use crate::cancel_all::CancelAllScope;
use crate::conditional::OrderKind;
use crate::error::ApiError;
use crate::exchange::{Exchange, SimOrder, MAKER_FEE, MAX_OPEN_PER_SYMBOL, TAKER_FEE};
use crate::synthetic::walk;

/// Trades a market keeps for `/v5/market/recent-trade` (Bybit's linear maximum).
const RECENT_TRADES: usize = 1000;

pub const EC_POST_ONLY: &str = "EC_PostOnlyWillTakeLiquidity";

/// How an amend or cancel names its order.
#[derive(Clone, Copy)]
struct OrderRef<'a> {
    category: Option<Category>,
    symbol: &'a str,
    order_id: Option<&'a str>,
    order_link_id: Option<&'a str>,
}

fn valid_link_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 36 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_category(category: Option<Category>) -> Result<(), ApiError> {
    match category {
        Some(Category::Linear) => Ok(()),
        Some(_) => Err(ApiError::param("params error: the simulator trades category linear only")),
        None => Err(ApiError::param("params error: category is required")),
    }
}

impl Exchange {
    fn spec_checked(&self, symbol: &str) -> Result<(), ApiError> {
        if self.markets.contains_key(symbol) {
            Ok(())
        } else {
            Err(ApiError::param(format!("params error: symbol invalid: {symbol}")))
        }
    }

    fn check_qty(&self, symbol: &str, qty: Decimal) -> Result<(), ApiError> {
        let spec = &self.markets[symbol].spec;
        if qty <= Decimal::ZERO || !spec.on_step(qty) {
            return Err(ApiError::param(format!(
                "params error: qty {qty} is not a positive multiple of qtyStep {}",
                spec.qty_step
            )));
        }
        if qty < spec.min_qty || qty > spec.max_qty {
            return Err(ApiError::param(format!(
                "params error: qty {qty} outside [{}, {}]",
                spec.min_qty, spec.max_qty
            )));
        }
        Ok(())
    }

    fn check_price(&self, symbol: &str, side: Side, price: Decimal) -> Result<(), ApiError> {
        let m = &self.markets[symbol];
        if price <= Decimal::ZERO || !m.spec.on_tick(price) {
            return Err(ApiError::param(format!(
                "params error: price {price} is not a positive multiple of tickSize {}",
                m.spec.tick_size
            )));
        }
        let too_far = match side {
            Side::Buy => price > m.mid * dec!(1.1),
            Side::Sell => price < m.mid * dec!(0.9),
        };
        if too_far {
            return Err(ApiError::new(RetCode::PriceOutOfRange, "order price is out of permissible range"));
        }
        Ok(())
    }

    fn crosses(&self, symbol: &str, side: Side, price: Decimal) -> bool {
        match side {
            Side::Buy => self.best_ask(symbol).is_some_and(|a| price >= a),
            Side::Sell => self.best_bid(symbol).is_some_and(|b| price <= b),
        }
    }

    pub fn create_order(&mut self, account: usize, req: &CreateOrder, now: u64) -> Result<OrderIds, ApiError> {
        check_category(req.category)?;
        self.spec_checked(&req.symbol)?;
        self.check_qty(&req.symbol, req.qty)?;
        let status = &self.markets[&req.symbol].status;
        if status != "Trading" {
            return Err(ApiError::new(
                RetCode::Other(110074),
                format!("{} is not trading (status {status})", req.symbol),
            ));
        }
        let (row, closes_row) = self.row_for_order(account, &req.symbol, req.position_idx, req.side)?;
        let link_id = req.order_link_id.clone().unwrap_or_default();
        if !link_id.is_empty() {
            if !valid_link_id(&link_id) {
                return Err(ApiError::param(
                    "params error: orderLinkId must be at most 36 characters of [A-Za-z0-9_-]",
                ));
            }
            if self.by_link_id.contains_key(&(account, link_id.clone())) {
                return Err(ApiError::new(RetCode::DuplicateOrderLinkId, "OrderLinkedID is duplicate"));
            }
        }
        if req.trigger_price.is_some_and(|p| p > Decimal::ZERO) {
            return self.create_conditional(account, req, now);
        }
        let mid = self.markets[&req.symbol].mid;
        let tif = if req.order_type == OrderType::Market {
            TimeInForce::IOC
        } else {
            req.time_in_force.unwrap_or_default()
        };
        let price = match (req.order_type, req.price) {
            (OrderType::Limit, Some(p)) => {
                self.check_price(&req.symbol, req.side, p)?;
                p
            }
            (OrderType::Limit, None) => return Err(ApiError::param("params error: price is required for Limit orders")),
            // Market orders run as IOC limits inside a 5% slippage band.
            (OrderType::Market, _) => {
                let spec = &self.markets[&req.symbol].spec;
                let band = if req.side == Side::Buy {
                    mid * dec!(1.05)
                } else {
                    mid * dec!(0.95)
                };
                (band / spec.tick_size).round() * spec.tick_size
            }
            (OrderType::Unknown, _) => return Err(ApiError::param("params error: orderType must be Limit or Market")),
        };
        if req.qty * price < self.markets[&req.symbol].spec.min_notional && req.reduce_only != Some(true) {
            return Err(ApiError::new(RetCode::NotionalTooSmall, "order value below the minimum notional"));
        }
        let open_here = self
            .orders
            .values()
            .filter(|o| o.account == account && o.info.symbol == req.symbol)
            .count();
        if open_here >= MAX_OPEN_PER_SYMBOL {
            return Err(ApiError::new(
                RetCode::TooManyActiveOrders,
                "too many active orders for this symbol",
            ));
        }
        let position = self.row_size(account, &req.symbol, row);
        let reduce_only = req.reduce_only == Some(true) || closes_row;
        if reduce_only {
            let reduces = (req.side == Side::Sell && position > Decimal::ZERO) || (req.side == Side::Buy && position < Decimal::ZERO);
            if !reduces {
                return Err(ApiError::new(
                    RetCode::ReduceOnlyTruncated,
                    "reduce-only order would increase the position",
                ));
            }
        } else if req.qty * price / self.leverage(account, &req.symbol) > self.available_balance(account) {
            return Err(ApiError::new(RetCode::InsufficientBalance, "ab not enough for new order"));
        }

        let seq = self.next_seq;
        self.next_seq += 1;
        let order_id = self.new_order_id();
        let spec = self.markets[&req.symbol].spec.clone();
        let last = spec.fmt_price(self.markets[&req.symbol].last_price).to_string();
        let mut info = OrderInfo::new_plain(&req.symbol, &order_id, &link_id, req.side, req.order_type);
        info.price = spec.fmt_price(price);
        info.qty = spec.fmt_qty(req.qty);
        info.leaves_qty = spec.fmt_qty(req.qty);
        info.leaves_value = (req.qty * price).round_dp(8);
        info.cum_exec_qty = spec.fmt_qty(Decimal::ZERO);
        info.time_in_force = tif;
        info.reduce_only = reduce_only;
        info.position_idx = row;
        info.last_price_on_created = last;
        info.created_time = now.to_string();
        info.updated_time = now.to_string();
        let opened = self.event();
        self.orders.insert(seq, SimOrder::opened(seq, account, info, opened));
        self.accounts[account].flat_at_us = None;
        self.by_order_id.insert(order_id.clone(), seq);
        if !link_id.is_empty() {
            self.by_link_id.insert((account, link_id.clone()), seq);
        }
        let ids = OrderIds {
            order_id,
            order_link_id: link_id,
        };

        if tif == TimeInForce::PostOnly && self.crosses(&req.symbol, req.side, price) {
            self.finish(seq, OrderStatus::Cancelled, "UNKNOWN", EC_POST_ONLY, now);
            return Ok(ids);
        }
        if tif == TimeInForce::FOK && self.liquidity_within(&req.symbol, req.side, price) < req.qty {
            self.finish(seq, OrderStatus::Cancelled, "UNKNOWN", "EC_NoImmediateQtyToFill", now);
            return Ok(ids);
        }
        self.emit_order(seq, now);
        if tif != TimeInForce::PostOnly {
            self.take(Some(seq), &req.symbol, req.side, req.qty, price, now);
        }
        if self.orders.contains_key(&seq) {
            if matches!(tif, TimeInForce::IOC | TimeInForce::FOK) {
                self.finish(seq, OrderStatus::Cancelled, "UNKNOWN", "EC_CancelForNoFullFill", now);
            } else {
                self.rest(seq);
            }
        }
        self.publish_book(&req.symbol, now);
        Ok(ids)
    }

    fn liquidity_within(&self, symbol: &str, side: Side, limit: Decimal) -> Decimal {
        let (bids, asks) = self.aggregated(symbol);
        match side {
            Side::Buy => asks.range(..=limit).map(|(_, s)| *s).sum(),
            Side::Sell => bids.range(limit..).map(|(_, s)| *s).sum(),
        }
    }

    /// The open order an amend or cancel names (by orderId or orderLinkId, on this symbol).
    fn locate(&self, account: usize, ids: OrderRef<'_>, too_late: &str) -> Result<u64, ApiError> {
        check_category(ids.category)?;
        self.spec_checked(ids.symbol)?;
        if ids.order_id.is_none() && ids.order_link_id.is_none() {
            return Err(ApiError::param("params error: orderId or orderLinkId is required"));
        }
        self.find_open(account, ids.order_id, ids.order_link_id)
            .filter(|s| self.orders[s].info.symbol == ids.symbol)
            .ok_or_else(|| ApiError::new(RetCode::OrderNotFound, too_late))
    }

    pub fn amend_order(&mut self, account: usize, req: &AmendOrder, now: u64) -> Result<OrderIds, ApiError> {
        let named = OrderRef {
            category: req.category,
            symbol: &req.symbol,
            order_id: req.order_id.as_deref(),
            order_link_id: req.order_link_id.as_deref(),
        };
        let seq = self.locate(account, named, "order not exists or too late to replace")?;
        let (side, old_price, cum) = {
            let o = &self.orders[&seq].info;
            (o.side, o.price, o.cum_exec_qty)
        };
        if let Some(q) = req.qty {
            self.check_qty(&req.symbol, q)?;
            if q <= cum {
                return Err(ApiError::new(
                    RetCode::Other(110064),
                    "the modified contract quantity cannot be less than or equal to the filled quantity",
                ));
            }
        }
        if let Some(p) = req.price {
            self.check_price(&req.symbol, side, p)?;
        }
        if req.qty.is_none() && req.price.is_none() {
            return Err(ApiError::param("params error: nothing to amend"));
        }
        let spec = &self.markets[&req.symbol].spec;
        let same_price = req.price.is_none_or(|p| spec.fmt_price(p) == old_price);
        let same_qty = req.qty.is_none_or(|q| spec.fmt_qty(q) == self.orders[&seq].info.qty);
        if same_price && same_qty {
            self.accounts[account].amends_unchanged += 1;
        }
        let spec = self.markets[&req.symbol].spec.clone();
        self.unrest(seq);
        let new_price = req.price.map(|p| spec.fmt_price(p)).unwrap_or(old_price);
        {
            let o = &mut self.orders.get_mut(&seq).expect("open order").info;
            if let Some(q) = req.qty {
                o.qty = spec.fmt_qty(q);
                o.leaves_qty = spec.fmt_qty(q - o.cum_exec_qty);
            }
            o.price = new_price;
            o.leaves_value = (o.leaves_qty * o.price).round_dp(8);
            o.updated_time = now.to_string();
        }
        let ids = OrderIds {
            order_id: self.orders[&seq].info.order_id.clone(),
            order_link_id: self.orders[&seq].info.order_link_id.clone(),
        };
        let tif = self.orders[&seq].info.time_in_force;
        if tif == TimeInForce::PostOnly && self.crosses(&req.symbol, side, new_price) {
            self.finish(seq, OrderStatus::Cancelled, "UNKNOWN", EC_POST_ONLY, now);
        } else {
            let leaves = self.orders[&seq].info.leaves_qty;
            self.emit_order(seq, now);
            if tif != TimeInForce::PostOnly {
                self.take(Some(seq), &req.symbol, side, leaves, new_price, now);
            }
            if self.orders.contains_key(&seq) {
                self.rest(seq);
            }
        }
        self.publish_book(&req.symbol, now);
        Ok(ids)
    }

    pub fn cancel_order(&mut self, account: usize, req: &CancelOrder, now: u64) -> Result<OrderIds, ApiError> {
        let named = OrderRef {
            category: req.category,
            symbol: &req.symbol,
            order_id: req.order_id.as_deref(),
            order_link_id: req.order_link_id.as_deref(),
        };
        let seq = match self.locate(account, named, "order not exists or too late to cancel") {
            Err(e) => {
                let waiting = self.find_waiting(account, named.order_id, named.order_link_id);
                let ids = waiting.and_then(|seq| self.finish_waiting(seq, OrderStatus::Cancelled, "CancelByUser", now));
                return ids.ok_or(e);
            }
            Ok(seq) => seq,
        };
        let ids = self.finish(seq, OrderStatus::Cancelled, "CancelByUser", "EC_PerCancelRequest", now);
        self.publish_book(&req.symbol, now);
        Ok(ids)
    }

    pub(crate) fn rest(&mut self, seq: u64) {
        let o = &self.orders[&seq].info;
        let (symbol, side, price) = (o.symbol.clone(), o.side, o.price);
        let m = self.markets.get_mut(&symbol).expect("known symbol");
        let book = if side == Side::Buy { &mut m.bids } else { &mut m.asks };
        book.entry(price).or_default().push_back(seq);
    }

    fn unrest(&mut self, seq: u64) {
        let Some(o) = self.orders.get(&seq) else {
            return;
        };
        let (symbol, side, price) = (o.info.symbol.clone(), o.info.side, o.info.price);
        let m = self.markets.get_mut(&symbol).expect("known symbol");
        let book = if side == Side::Buy { &mut m.bids } else { &mut m.asks };
        if let Some(q) = book.get_mut(&price) {
            q.retain(|s| *s != seq);
            if q.is_empty() {
                book.remove(&price);
            }
        }
    }

    /// Close an open order with a final status and tell its owner.
    pub fn finish(&mut self, seq: u64, status: OrderStatus, cancel_type: &str, reject: &str, now: u64) -> OrderIds {
        self.unrest(seq);
        let mut order = self.orders.remove(&seq).expect("open order");
        order.info.order_status = status;
        order.info.cancel_type = cancel_type.into();
        order.info.reject_reason = reject.into();
        order.info.updated_time = now.to_string();
        if status != OrderStatus::Filled {
            order.info.leaves_qty = self.markets[&order.info.symbol].spec.fmt_qty(Decimal::ZERO);
            order.info.leaves_value = Decimal::ZERO;
        }
        let ids = OrderIds {
            order_id: order.info.order_id.clone(),
            order_link_id: order.info.order_link_id.clone(),
        };
        let account = order.account;
        let info = order.info.clone();
        self.retire(order);
        if !self.orders.values().any(|o| o.account == account) {
            self.accounts[account].flat_at_us = Some(crate::state::now_us());
        }
        self.send_private(account, "order", vec![info.to_wire(OrderView::Stream)], now);
        ids
    }

    pub(crate) fn emit_order(&mut self, seq: u64, now: u64) {
        let o = &self.orders[&seq];
        let (account, info) = (o.account, o.info.clone());
        self.send_private(account, "order", vec![info.to_wire(OrderView::Stream)], now);
    }

    /// Walk the opposite side from the best price up to `limit`: resting user orders first at each
    /// price (time priority), then synthetic liquidity. Returns the filled quantity.
    pub fn take(&mut self, taker: Option<u64>, symbol: &str, side: Side, qty: Decimal, limit: Decimal, now: u64) -> Decimal {
        let mut remaining = qty;
        let mut trades = Vec::new();
        while remaining > Decimal::ZERO {
            let m = &self.markets[symbol];
            let (user_best, synth_best) = match side {
                Side::Buy => (m.asks.keys().next().copied(), m.synthetic.best_ask()),
                Side::Sell => (m.bids.keys().next_back().copied(), m.synthetic.best_bid()),
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
                let book = if side == Side::Buy {
                    &mut m.synthetic.asks
                } else {
                    &mut m.synthetic.bids
                };
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
        self.publish_trades(symbol, side, &trades, now);
        qty - remaining
    }

    fn publish_trades(&mut self, symbol: &str, taker_side: Side, trades: &[(Decimal, Decimal)], now: u64) {
        if trades.is_empty() {
            return;
        }
        let spec = self.markets[symbol].spec.clone();
        let mut items = Vec::with_capacity(trades.len());
        for (p, q) in trades {
            let id = self.new_order_id();
            let m = self.markets.get_mut(symbol).expect("known symbol");
            // Bybit's tick direction: up or down from the previous trade, or unchanged after one.
            m.tick_direction = match p.cmp(&m.last_price) {
                std::cmp::Ordering::Greater => "PlusTick",
                std::cmp::Ordering::Less => "MinusTick",
                std::cmp::Ordering::Equal if m.tick_direction.starts_with("Plus") || m.tick_direction == "ZeroPlusTick" => "ZeroPlusTick",
                std::cmp::Ordering::Equal => "ZeroMinusTick",
            };
            m.last_price = *p;
            m.high_price = m.high_price.max(*p);
            m.low_price = m.low_price.min(*p);
            m.volume24h += *q;
            m.turnover24h += *p * *q;
            m.cross_seq += 1;
            let item = TradeItem {
                time: now,
                s: symbol.to_string(),
                side: taker_side,
                v: spec.fmt_qty(*q),
                p: spec.fmt_price(*p),
                tick_direction: m.tick_direction.into(),
                i: id,
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
            ts: now,
            data: items,
        };
        let text = serde_json::to_string(&msg).expect("serialisable");
        let _ = self.public_tx.send(crate::exchange::PublicEvent {
            topic,
            u: None,
            text: text.into(),
        });
    }

    /// Apply a fill of `qty` at `price` to an open order: order state, execution, position, wallet.
    fn fill(&mut self, seq: u64, price: Decimal, qty: Decimal, is_maker: bool, now: u64) {
        let rate = if is_maker { MAKER_FEE } else { TAKER_FEE };
        let fee = (qty * price * rate).round_dp(8);
        let (account, symbol, side, info) = {
            let o = self.orders.get_mut(&seq).expect("open order");
            let i = &mut o.info;
            i.cum_exec_qty += qty;
            i.leaves_qty -= qty;
            i.cum_exec_value = (i.cum_exec_value + qty * price).round_dp(8);
            i.cum_exec_fee = (i.cum_exec_fee + fee).round_dp(8);
            i.cum_fee_detail.insert("USDT".into(), i.cum_exec_fee.to_string());
            i.avg_price = (i.cum_exec_value / i.cum_exec_qty).round_dp(8).to_string();
            i.leaves_value = (i.leaves_qty * i.price).round_dp(8);
            i.order_status = if i.leaves_qty.is_zero() {
                OrderStatus::Filled
            } else {
                OrderStatus::PartiallyFilled
            };
            i.updated_time = now.to_string();
            (o.account, i.symbol.clone(), i.side, i.clone())
        };
        let spec = self.markets[&symbol].spec.clone();
        let exec_id = self.new_order_id();
        let seq_no = {
            let m = self.markets.get_mut(&symbol).expect("known symbol");
            m.cross_seq += 1;
            m.cross_seq
        };
        let closes = {
            let held = self.row_size(account, &symbol, info.position_idx);
            let signed = if side == Side::Buy { qty } else { -qty };
            if held.is_zero() || held.is_sign_positive() == signed.is_sign_positive() {
                Decimal::ZERO
            } else {
                qty.min(held.abs())
            }
        };
        let mark = spec.fmt_price(self.markets[&symbol].mid).to_string();
        let mut exec = Execution {
            category: "linear".into(),
            symbol: symbol.clone(),
            is_leverage: "0".into(),
            order_id: info.order_id.clone(),
            order_link_id: info.order_link_id.clone(),
            side,
            order_price: info.price,
            order_qty: info.qty,
            leaves_qty: info.leaves_qty,
            create_type: info.create_type.clone(),
            order_type: info.order_type,
            stop_order_type: "UNKNOWN".into(),
            exec_fee: fee,
            exec_id,
            exec_price: spec.fmt_price(price),
            exec_qty: spec.fmt_qty(qty),
            exec_type: "Trade".into(),
            exec_value: (qty * price).round_dp(8),
            exec_time: now.to_string(),
            fee_currency: "USDT".into(),
            is_maker,
            fee_rate: rate,
            mark_price: mark,
            closed_size: spec.fmt_qty(closes),
            seq: seq_no,
            ..Default::default()
        };
        let a = &mut self.accounts[account];
        let pos = a.positions.entry((symbol.clone(), info.position_idx)).or_default();
        let realised = pos.apply_fill(side, qty, price, fee, now);
        pos.seq = seq_no as i64;
        exec.exec_pnl = realised.round_dp(8);
        a.wallet_balance += realised - fee;
        self.record_execution(account, exec.clone());
        if info.order_status == OrderStatus::Filled {
            self.finish(seq, OrderStatus::Filled, "UNKNOWN", "EC_NoError", now);
        } else {
            self.send_private(account, "order", vec![info.to_wire(OrderView::Stream)], now);
        }
        self.send_private(account, "execution", vec![exec.to_wire(ExecutionView::Stream)], now);
        let pos = self.position_view(account, &symbol, info.position_idx);
        self.send_private(account, "position", vec![pos.to_wire(PositionView::Stream)], now);
        let wallet = self.wallet_view(account);
        self.send_private(account, "wallet", vec![wallet], now);
    }

    /// One step of the market: random walk, synthetic book follows, resting user orders the
    /// market walked through are filled, maybe a taker trade, then the book is published.
    pub fn tick(&mut self, now: u64) {
        let symbols: Vec<String> = self.markets.keys().cloned().collect();
        for symbol in symbols {
            let params = self.params.clone();
            {
                let m = self.markets.get_mut(&symbol).expect("known symbol");
                let mid = walk(m.mid, params.volatility_bps, &mut self.rng);
                m.mid = mid.max(m.spec.tick_size * dec!(10));
                let mid = m.mid;
                m.synthetic.retarget(&m.spec, mid, params.synthetic, &mut self.rng);
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
            m.synthetic.retarget(&m.spec, mid, params, &mut self.rng);
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

    fn fill_walked_through(&mut self, symbol: &str, now: u64) {
        loop {
            let m = &self.markets[symbol];
            let crossed_bid = match (m.bids.keys().next_back(), m.synthetic.best_ask()) {
                (Some(b), Some(a)) if *b >= a => Some(*b),
                _ => None,
            };
            let crossed_ask = match (m.asks.keys().next(), m.synthetic.best_bid()) {
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

    /// Enable, change or (window 0) disable DCP for an account.
    pub fn set_dcp(&mut self, account: usize, window_s: u32) {
        self.accounts[account].dcp_window_s = Some(window_s);
    }

    /// A private connection subscribed to `dcp.*` came or went.
    pub fn dcp_connection(&mut self, account: usize, up: bool, now: u64) {
        let a = &mut self.accounts[account];
        if up {
            a.dcp_connections += 1;
            a.dcp_alive_at_ms = Some(now);
        } else {
            a.dcp_connections = a.dcp_connections.saturating_sub(1);
            if a.dcp_connections == 0 {
                a.dcp_alive_at_ms = Some(now);
            }
        }
    }

    /// A message from a `dcp.*`-subscribed connection: it is alive (and DCP armed again, if it
    /// had fired).
    pub fn dcp_heartbeat(&mut self, account: usize, now: u64) {
        self.accounts[account].dcp_alive_at_ms = Some(now);
    }

    /// Fire DCP for every account whose protected connections have all been silent or gone for
    /// longer than its window.
    pub fn check_dcp(&mut self, now: u64) {
        for account in 0..self.accounts.len() {
            let a = &self.accounts[account];
            let (Some(window), Some(lost)) = (a.dcp_window_s, a.dcp_alive_at_ms) else {
                continue;
            };
            if now.saturating_sub(lost) > u64::from(window) * 1000 {
                self.accounts[account].dcp_alive_at_ms = None;
                // Every order goes: the 500 cap is the cancel-all API's, not the dead-man switch's.
                let mut cancelled = 0;
                loop {
                    let n = self
                        .cancel_all(account, CancelAllScope::default(), &[OrderKind::Active], "CancelByDCP", now)
                        .len();
                    cancelled += n;
                    if n < CANCEL_ALL_CAP {
                        break;
                    }
                }
                self.accounts[account].dcp_fired += 1;
                log::warn!("DCP fired for account #{account}: {cancelled} orders cancelled");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::MarketParams;
    use crate::instrument::default_instruments;

    fn exchange() -> Exchange {
        let params = MarketParams {
            trade_probability: 0.0,
            ..Default::default()
        };
        Exchange::new(default_instruments(), vec![("k".into(), "s".into())], params, 1, dec!(100000))
    }

    fn limit(side: Side, price: Decimal, qty: Decimal, tif: TimeInForce, link: &str) -> CreateOrder {
        CreateOrder {
            category: Some(Category::Linear),
            symbol: "BTCUSDT".into(),
            side,
            order_type: OrderType::Limit,
            qty,
            price: Some(price),
            time_in_force: Some(tif),
            order_link_id: Some(link.into()),
            reduce_only: None,
            position_idx: None,
            ..Default::default()
        }
    }

    #[test]
    fn post_only_crossing_is_cancelled_and_resting_one_rests() {
        let mut ex = exchange();
        let ask = ex.best_ask("BTCUSDT").unwrap();
        ex.create_order(0, &limit(Side::Buy, ask, dec!(0.01), TimeInForce::PostOnly, "a"), 1)
            .unwrap();
        assert!(ex.orders.is_empty());
        assert_eq!(ex.closed.back().unwrap().info.reject_reason, EC_POST_ONLY);
        ex.create_order(0, &limit(Side::Buy, ask - dec!(1), dec!(0.01), TimeInForce::PostOnly, "b"), 1)
            .unwrap();
        assert_eq!(ex.orders.len(), 1);
        let err = ex
            .create_order(0, &limit(Side::Buy, ask - dec!(1), dec!(0.01), TimeInForce::PostOnly, "b"), 1)
            .unwrap_err();
        assert_eq!(err.code, RetCode::DuplicateOrderLinkId);
    }

    #[test]
    fn market_trade_fills_resting_order_partially_then_fully() {
        let mut ex = exchange();
        let bid = ex.best_bid("BTCUSDT").unwrap() + dec!(0.1);
        ex.create_order(0, &limit(Side::Buy, bid, dec!(0.010), TimeInForce::PostOnly, "m"), 1)
            .unwrap();
        ex.market_trade("BTCUSDT", Side::Sell, dec!(0.004), 2);
        let o = ex.orders.values().next().unwrap();
        assert_eq!(o.info.order_status, OrderStatus::PartiallyFilled);
        assert_eq!(ex.accounts[0].positions[&("BTCUSDT".to_string(), 0)].size, dec!(0.004));
        ex.market_trade("BTCUSDT", Side::Sell, dec!(0.010), 3);
        assert!(ex.orders.is_empty());
        assert_eq!(ex.accounts[0].positions[&("BTCUSDT".to_string(), 0)].size, dec!(0.010));
        assert!(ex.accounts[0].wallet_balance < dec!(100000));
    }

    #[test]
    fn bad_steps_are_param_errors() {
        let mut ex = exchange();
        let bid = ex.best_bid("BTCUSDT").unwrap();
        let e = ex
            .create_order(0, &limit(Side::Buy, bid + dec!(0.05), dec!(0.01), TimeInForce::GTC, "x"), 1)
            .unwrap_err();
        assert_eq!(e.code, RetCode::ParamError);
        let e = ex
            .create_order(0, &limit(Side::Buy, bid, dec!(0.0015), TimeInForce::GTC, "y"), 1)
            .unwrap_err();
        assert_eq!(e.code, RetCode::ParamError);
    }

    #[test]
    fn cancel_all_caps_at_500() {
        let mut ex = exchange();
        let bid = ex.best_bid("BTCUSDT").unwrap();
        ex.markets.get_mut("BTCUSDT").unwrap().spec.min_notional = Decimal::ZERO;
        for sym in ["BTCUSDT", "ETHUSDT"] {
            let b = ex.best_bid(sym).unwrap();
            let step = ex.markets[sym].spec.min_qty;
            for i in 0..300 {
                let mut o = limit(Side::Buy, b, step * dec!(3), TimeInForce::PostOnly, &format!("{sym}{i}"));
                o.symbol = sym.into();
                ex.create_order(0, &o, 1).unwrap();
            }
        }
        let _ = bid;
        let usdt = CancelAllScope {
            settle_coin: Some("USDT"),
            ..Default::default()
        };
        assert_eq!(ex.cancel_all(0, usdt, &[OrderKind::Active], "CancelByUser", 2).len(), 500);
        assert_eq!(ex.orders.len(), 100);
        assert_eq!(ex.cancel_all(0, usdt, &[OrderKind::Active], "CancelByUser", 3).len(), 100);
    }

    #[test]
    fn dcp_cancels_every_order_past_the_cancel_all_cap() {
        let mut ex = exchange();
        for sym in ["BTCUSDT", "ETHUSDT"] {
            let b = ex.best_bid(sym).unwrap();
            let step = ex.markets[sym].spec.min_qty;
            ex.markets.get_mut(sym).unwrap().spec.min_notional = Decimal::ZERO;
            for i in 0..300 {
                let mut o = limit(Side::Buy, b, step * dec!(3), TimeInForce::PostOnly, &format!("{sym}{i}"));
                o.symbol = sym.into();
                ex.create_order(0, &o, 1).unwrap();
            }
        }
        assert_eq!(ex.orders.len(), 600);
        ex.set_dcp(0, 3);
        ex.dcp_connection(0, true, 0);
        ex.dcp_connection(0, false, 1000);
        ex.check_dcp(4_001);
        assert!(ex.orders.is_empty(), "{} left", ex.orders.len());
    }

    #[test]
    fn dcp_fires_after_window_only_when_all_connections_gone() {
        let mut ex = exchange();
        let bid = ex.best_bid("BTCUSDT").unwrap();
        ex.create_order(0, &limit(Side::Buy, bid, dec!(0.01), TimeInForce::PostOnly, "d"), 1)
            .unwrap();
        ex.set_dcp(0, 3);
        ex.dcp_connection(0, true, 0);
        ex.dcp_connection(0, true, 0);
        ex.dcp_connection(0, false, 1000);
        // The other connection is alive: it keeps sending (pings) inside the window.
        for t in [3_000, 6_000, 9_000] {
            ex.dcp_heartbeat(0, t);
            ex.check_dcp(t + 500);
        }
        ex.check_dcp(10_000);
        assert_eq!(ex.orders.len(), 1);
        ex.dcp_connection(0, false, 10_000);
        ex.check_dcp(12_000);
        assert_eq!(ex.orders.len(), 1);
        ex.check_dcp(13_001);
        assert!(ex.orders.is_empty());
        assert_eq!(ex.closed.back().unwrap().info.cancel_type, "CancelByDCP");
    }

    #[test]
    fn dcp_fires_for_an_open_connection_that_went_silent() {
        let mut ex = exchange();
        let bid = ex.best_bid("BTCUSDT").unwrap();
        ex.create_order(0, &limit(Side::Buy, bid, dec!(0.01), TimeInForce::PostOnly, "s"), 1)
            .unwrap();
        ex.set_dcp(0, 3);
        ex.dcp_connection(0, true, 0);
        ex.dcp_heartbeat(0, 2_000);
        ex.check_dcp(5_000);
        assert_eq!(ex.orders.len(), 1, "within the window of the last heartbeat");
        ex.check_dcp(5_001);
        assert!(ex.orders.is_empty(), "silent for the window, connection open: fired");
    }
}
