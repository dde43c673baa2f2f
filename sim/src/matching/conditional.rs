//! Orders that wait for a price: conditional orders (`/v5/order/create` with `triggerPrice`,
//! `stopOrderType` `Stop`) and a position's take-profit and stop-loss
//! (`/v5/position/trading-stop`, `TakeProfit` / `StopLoss`, whole position). They rest off the
//! book, `Untriggered`, until the trigger price (last or mark) reaches them; then they run as a
//! market (or limit) order, reduce-only ones capped at the position. A position that goes flat
//! deactivates its TP/SL. `orderFilter` tells the kinds apart on cancel-all and the listings,
//! as Bybit documents it: omitted, every kind is taken.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use bybit_v5::rest::{CreateOrder, OrderIds, OrderInfo, TradingStop};
use bybit_v5::{OrderStatus, OrderType, Side, TimeInForce};

use crate::error::ApiError;
use crate::exchange::{Exchange, SimOrder};

/// Bybit's limit of active conditional orders per symbol.
pub const MAX_CONDITIONAL_PER_SYMBOL: usize = 10;

/// The kinds an `orderFilter` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// Active orders, on the book.
    Active,
    /// Conditional orders (`stopOrderType` `Stop`).
    Conditional,
    /// A position's take-profit or stop-loss.
    TpSl,
}

impl OrderKind {
    pub fn of(info: &OrderInfo) -> Self {
        match info.stop_order_type.as_str() {
            "" => OrderKind::Active,
            "TakeProfit" | "StopLoss" | "TrailingStop" | "PartialTakeProfit" | "PartialStopLoss" => OrderKind::TpSl,
            _ => OrderKind::Conditional,
        }
    }
}

/// Which kinds a cancel-all takes: omitted, every kind (Bybit's documented default).
pub fn cancel_all_kinds(order_filter: Option<&str>, stop_order_type: Option<&str>) -> Result<Vec<OrderKind>, ApiError> {
    Ok(match (order_filter.filter(|f| !f.is_empty()), stop_order_type) {
        (None, _) => vec![OrderKind::Active, OrderKind::Conditional, OrderKind::TpSl],
        (Some("Order" | "OpenOrder"), _) => vec![OrderKind::Active],
        (Some("StopOrder"), Some("Stop")) => vec![OrderKind::Conditional],
        (Some("StopOrder"), _) => vec![OrderKind::Conditional, OrderKind::TpSl],
        (Some(other), _) => return Err(ApiError::param(format!("params error: orderFilter {other} invalid"))),
    })
}

/// Which kinds an open-order listing shows: omitted, every kind.
pub fn listing_kinds(order_filter: Option<&str>) -> Result<Vec<OrderKind>, ApiError> {
    Ok(match order_filter.filter(|f| !f.is_empty()) {
        None => vec![OrderKind::Active, OrderKind::Conditional, OrderKind::TpSl],
        Some("Order") => vec![OrderKind::Active],
        Some("StopOrder") => vec![OrderKind::Conditional],
        Some("tpslOrder") => vec![OrderKind::TpSl],
        Some(other) => return Err(ApiError::param(format!("params error: orderFilter {other} invalid"))),
    })
}

impl Exchange {
    /// The price a waiting order compares with: the last trade's, or the mark (the mid here).
    fn trigger_reference(&self, symbol: &str, trigger_by: &str) -> Decimal {
        let m = &self.markets[symbol];
        match trigger_by {
            "MarkPrice" | "IndexPrice" => m.mid,
            _ => m.last_price,
        }
    }

    /// A waiting (conditional or TP/SL) order by its ids.
    pub fn find_waiting(&self, account: usize, order_id: Option<&str>, link_id: Option<&str>) -> Option<u64> {
        let seq = self.seq_by_ids(account, order_id, link_id)?;
        self.conditional.get(&seq).filter(|o| o.account == account).map(|o| o.seq)
    }

    /// A conditional order, waiting for its trigger price.
    pub fn create_conditional(&mut self, account: usize, req: &CreateOrder, now: u64) -> Result<OrderIds, ApiError> {
        let trigger = req.trigger_price.unwrap_or_default();
        let trigger_by = req.trigger_by.clone().unwrap_or_else(|| "LastPrice".into());
        let reference = self.trigger_reference(&req.symbol, &trigger_by);
        let direction = match req.trigger_direction {
            Some(d @ (1 | 2)) => d,
            Some(d) => return Err(ApiError::param(format!("params error: triggerDirection {d} invalid"))),
            None if trigger > reference => 1,
            None => 2,
        };
        if (direction == 1 && trigger <= reference) || (direction == 2 && trigger >= reference) {
            let expected = if direction == 1 { "above" } else { "below" };
            return Err(ApiError::param(format!(
                "params error: triggerPrice {trigger} must be {expected} the current {trigger_by} {reference}"
            )));
        }
        let waiting = self
            .conditional
            .values()
            .filter(|o| o.account == account && o.info.symbol == req.symbol && OrderKind::of(&o.info) == OrderKind::Conditional)
            .count();
        if waiting >= MAX_CONDITIONAL_PER_SYMBOL {
            return Err(ApiError::new(
                bybit_v5::RetCode::TooManyActiveOrders,
                "too many conditional orders for this symbol",
            ));
        }
        let mut info = OrderInfo::new_plain(
            &req.symbol,
            "",
            req.order_link_id.as_deref().unwrap_or(""),
            req.side,
            req.order_type,
        );
        info.price = req.price.unwrap_or_default();
        info.qty = req.qty;
        info.time_in_force = req.time_in_force.unwrap_or(TimeInForce::GTC);
        info.reduce_only = req.reduce_only == Some(true) || req.close_on_trigger == Some(true);
        info.close_on_trigger = req.close_on_trigger == Some(true);
        info.stop_order_type = "Stop".into();
        info.trigger_price = self.markets[&req.symbol].spec.fmt_price(trigger).to_string();
        info.trigger_direction = direction;
        info.trigger_by = trigger_by;
        Ok(self.wait(account, info, now))
    }

    /// Put a waiting order in place, under fresh ids.
    fn wait(&mut self, account: usize, mut info: OrderInfo, now: u64) -> OrderIds {
        let seq = self.next_seq;
        self.next_seq += 1;
        info.order_id = self.new_order_id();
        info.order_status = OrderStatus::Untriggered;
        info.leaves_qty = info.qty;
        info.last_price_on_created = self.markets[&info.symbol]
            .spec
            .fmt_price(self.markets[&info.symbol].last_price)
            .to_string();
        info.created_time = now.to_string();
        info.updated_time = now.to_string();
        let ids = OrderIds {
            order_id: info.order_id.clone(),
            order_link_id: info.order_link_id.clone(),
        };
        self.by_order_id.insert(ids.order_id.clone(), seq);
        if !ids.order_link_id.is_empty() {
            self.by_link_id.insert((account, ids.order_link_id.clone()), seq);
        }
        let opened = self.event();
        self.send_private(account, "order", vec![info.to_wire(bybit_v5::rest::OrderView::Stream)], now);
        self.conditional.insert(seq, SimOrder::opened(seq, account, info, opened));
        ids
    }

    /// `/v5/position/trading-stop`: set, replace (or with `0`, remove) the position's TP and SL.
    pub fn set_trading_stop(&mut self, account: usize, req: &TradingStop, now: u64) -> Result<(), ApiError> {
        let position = self.row_size(account, &req.symbol, req.position_idx.unwrap_or(0));
        if position.is_zero() {
            return Err(ApiError::param("can not set tp/sl/ts for zero position"));
        }
        if req.tpsl_mode.as_deref().is_some_and(|m| m != "Full") {
            return Err(ApiError::param("params error: the simulator keeps tpslMode Full only"));
        }
        let long = position > Decimal::ZERO;
        let base = self.markets[&req.symbol].last_price;
        for (kind, price, by) in [
            ("TakeProfit", req.take_profit, &req.tp_trigger_by),
            ("StopLoss", req.stop_loss, &req.sl_trigger_by),
        ] {
            let Some(price) = price else { continue };
            // A take-profit is beyond the price in the position's favour, a stop-loss against it.
            let rises = (kind == "TakeProfit") == long;
            if !price.is_zero() && ((rises && price <= base) || (!rises && price >= base)) {
                let side = if rises { "higher" } else { "lower" };
                return Err(ApiError::param(format!(
                    "{kind}:{price} set for {} position should be {side} than base_price:{base}",
                    if long { "Buy" } else { "Sell" }
                )));
            }
            self.drop_tpsl(account, &req.symbol, kind, OrderStatus::Deactivated, now);
            if price.is_zero() {
                continue;
            }
            let side = if long { Side::Sell } else { Side::Buy };
            let mut info = OrderInfo::new_plain(&req.symbol, "", "", side, OrderType::Market);
            info.qty = position.abs();
            info.time_in_force = TimeInForce::IOC;
            info.reduce_only = true;
            info.close_on_trigger = true;
            info.stop_order_type = kind.into();
            info.tpsl_mode = "Full".into();
            info.trigger_price = self.markets[&req.symbol].spec.fmt_price(price).to_string();
            info.trigger_direction = if rises { 1 } else { 2 };
            info.trigger_by = by.clone().unwrap_or_else(|| "LastPrice".into());
            self.wait(account, info, now);
        }
        Ok(())
    }

    /// The TP or SL price a position row shows (`""` when none is set).
    pub fn tpsl_price(&self, account: usize, symbol: &str, kind: &str) -> String {
        self.conditional
            .values()
            .find(|o| o.account == account && o.info.symbol == symbol && o.info.stop_order_type == kind)
            .map(|o| o.info.trigger_price.clone())
            .unwrap_or_default()
    }

    fn drop_tpsl(&mut self, account: usize, symbol: &str, kind: &str, status: OrderStatus, now: u64) {
        let seqs: Vec<u64> = self
            .conditional
            .values()
            .filter(|o| o.account == account && o.info.symbol == symbol && o.info.stop_order_type == kind)
            .map(|o| o.seq)
            .collect();
        for seq in seqs {
            self.finish_waiting(seq, status, "", now);
        }
    }

    /// Close a waiting order (cancelled by request, or deactivated) and tell its owner.
    pub fn finish_waiting(&mut self, seq: u64, status: OrderStatus, cancel_type: &str, now: u64) -> Option<OrderIds> {
        let mut order = self.conditional.remove(&seq)?;
        order.info.order_status = status;
        order.info.cancel_type = cancel_type.into();
        order.info.leaves_qty = Decimal::ZERO;
        order.info.updated_time = now.to_string();
        let ids = OrderIds {
            order_id: order.info.order_id.clone(),
            order_link_id: order.info.order_link_id.clone(),
        };
        let (account, info) = (order.account, order.info.clone());
        self.retire(order);
        self.send_private(account, "order", vec![info.to_wire(bybit_v5::rest::OrderView::Stream)], now);
        Some(ids)
    }

    /// Run the waiting orders of `symbol` whose trigger price was reached; deactivate the TP/SL
    /// of a position that went flat.
    pub fn trigger_waiting(&mut self, symbol: &str, now: u64) {
        let mut due = Vec::new();
        for o in self.conditional.values().filter(|o| o.info.symbol == symbol) {
            let reference = self.trigger_reference(symbol, &o.info.trigger_by);
            let trigger: Decimal = o.info.trigger_price.parse().unwrap_or_default();
            let reached = match o.info.trigger_direction {
                1 => reference >= trigger,
                _ => reference <= trigger,
            };
            let orphan = OrderKind::of(&o.info) == OrderKind::TpSl && self.row_size(o.account, symbol, o.info.position_idx).is_zero();
            if reached || orphan {
                due.push((o.seq, orphan && !reached));
            }
        }
        for (seq, orphan) in due {
            if orphan {
                self.finish_waiting(seq, OrderStatus::Deactivated, "", now);
            } else {
                self.run_triggered(seq, now);
            }
        }
    }

    /// A waiting order whose price was reached: it becomes an order like any other, at once.
    fn run_triggered(&mut self, seq: u64, now: u64) {
        let Some(mut order) = self.conditional.remove(&seq) else { return };
        let symbol = order.info.symbol.clone();
        let position = self.row_size(order.account, &symbol, order.info.position_idx);
        let mut qty = order.info.qty;
        if order.info.reduce_only {
            let reduces =
                (order.info.side == Side::Sell && position > Decimal::ZERO) || (order.info.side == Side::Buy && position < Decimal::ZERO);
            if !reduces {
                self.conditional.insert(seq, order);
                self.finish_waiting(seq, OrderStatus::Deactivated, "", now);
                return;
            }
            qty = qty.min(position.abs());
        }
        let m = &self.markets[&symbol];
        let price = if order.info.order_type == OrderType::Market {
            let band = if order.info.side == Side::Buy {
                m.mid * dec!(1.05)
            } else {
                m.mid * dec!(0.95)
            };
            (band / m.spec.tick_size).round() * m.spec.tick_size
        } else {
            order.info.price
        };
        order.info.order_status = OrderStatus::New;
        order.info.qty = qty;
        order.info.leaves_qty = qty;
        order.info.price = price;
        order.info.updated_time = now.to_string();
        if order.info.order_type == OrderType::Market {
            order.info.time_in_force = TimeInForce::IOC;
        }
        let (side, tif) = (order.info.side, order.info.time_in_force);
        order.opened = self.event();
        self.orders.insert(seq, order);
        self.emit_order(seq, now);
        self.take(Some(seq), &symbol, side, qty, price, now);
        if self.orders.contains_key(&seq) {
            if matches!(tif, TimeInForce::IOC | TimeInForce::FOK) {
                self.finish(seq, OrderStatus::Cancelled, "UNKNOWN", "EC_CancelForNoFullFill", now);
            } else {
                self.rest(seq);
            }
        }
        self.publish_book(&symbol, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_omitted_filter_takes_every_kind_order_only_the_active_ones() {
        use OrderKind::*;
        assert_eq!(cancel_all_kinds(None, None).unwrap(), vec![Active, Conditional, TpSl]);
        assert_eq!(cancel_all_kinds(Some("Order"), None).unwrap(), vec![Active]);
        assert_eq!(cancel_all_kinds(Some("StopOrder"), Some("Stop")).unwrap(), vec![Conditional]);
        assert_eq!(cancel_all_kinds(Some("StopOrder"), None).unwrap(), vec![Conditional, TpSl]);
        assert!(cancel_all_kinds(Some("Nope"), None).is_err());
        assert_eq!(listing_kinds(Some("tpslOrder")).unwrap(), vec![TpSl]);
        assert_eq!(listing_kinds(None).unwrap().len(), 3);
    }
}
