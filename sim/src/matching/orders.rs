//! Order actions: create, amend and cancel with Bybit's checks, resting and leaving the book,
//! and the order's end.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use bybit_v5::rest::{AmendOrder, CancelOrder, CreateOrder, OrderIds, OrderInfo, OrderView};
use bybit_v5::{Category, OrderStatus, OrderType, RetCode, Side, TimeInForce};

use crate::error::ApiError;
use crate::exchange::{Exchange, SimOrder, MAX_OPEN_PER_SYMBOL};

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
    pub(crate) fn spec_checked(&self, symbol: &str) -> Result<(), ApiError> {
        if self.markets.contains_key(symbol) {
            Ok(())
        } else {
            Err(ApiError::param(format!("params error: symbol invalid: {symbol}")))
        }
    }

    pub(crate) fn check_qty(&self, symbol: &str, qty: Decimal) -> Result<(), ApiError> {
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

    pub(crate) fn check_price(&self, symbol: &str, side: Side, price: Decimal) -> Result<(), ApiError> {
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

    pub(crate) fn crosses(&self, symbol: &str, side: Side, price: Decimal) -> bool {
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

    pub(crate) fn liquidity_within(&self, symbol: &str, side: Side, limit: Decimal) -> Decimal {
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
        // On a real market the order keeps its place in the queue only for a smaller size.
        let larger = req.qty.is_some_and(|q| spec.fmt_qty(q) > self.orders[&seq].info.qty);
        if !same_price || larger {
            self.queue_leave(seq);
        }
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
        if m.real.is_some() {
            self.queue_join(seq);
        }
    }

    pub(crate) fn unrest(&mut self, seq: u64) {
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
        self.queue_leave(seq);
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
            self.accounts[account].flat_at_us = Some(crate::server::state::now_us());
        }
        self.send_private(account, "order", vec![info.to_wire(OrderView::Stream)], now);
        ids
    }

    pub(crate) fn emit_order(&mut self, seq: u64, now: u64) {
        let o = &self.orders[&seq];
        let (account, info) = (o.account, o.info.clone());
        self.send_private(account, "order", vec![info.to_wire(OrderView::Stream)], now);
    }
}
