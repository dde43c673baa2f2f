//! The bot's orders as it knows them: one entry per order-link id, with its slot (side, level),
//! what was asked, and where it stands. Updated from REST answers and the private stream.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use bybit_v5::rest::OrderInfo;
use bybit_v5::{OrderStatus, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// Create sent, no answer yet.
    Creating,
    /// Accepted and resting (or believed to be).
    Live,
    Amending,
    Cancelling,
    /// A request about it failed in transport: it may or may not exist until the exchange says.
    Unknown,
}

impl Phase {
    /// A request about this order is outstanding: leave the slot alone.
    pub fn is_pending(self) -> bool {
        !matches!(self, Phase::Live)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackedOrder {
    pub link_id: String,
    pub order_id: Option<String>,
    pub symbol: String,
    pub side: Side,
    pub level: u32,
    pub price: Decimal,
    pub qty: Decimal,
    pub filled: Decimal,
    pub phase: Phase,
}

#[derive(Debug, Default, Clone)]
pub struct OrderTable {
    orders: BTreeMap<String, TrackedOrder>,
}

/// What a status update did to the table.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Updated,
    /// The order is closed (filled, cancelled, rejected) and left the table.
    Closed {
        status: OrderStatus,
        reason: String,
    },
    /// Not one of ours this table knows.
    Unknown,
}

impl OrderTable {
    pub fn insert(&mut self, order: TrackedOrder) {
        self.orders.insert(order.link_id.clone(), order);
    }

    pub fn get(&self, link_id: &str) -> Option<&TrackedOrder> {
        self.orders.get(link_id)
    }

    pub fn get_mut(&mut self, link_id: &str) -> Option<&mut TrackedOrder> {
        self.orders.get_mut(link_id)
    }

    pub fn remove(&mut self, link_id: &str) -> Option<TrackedOrder> {
        self.orders.remove(link_id)
    }

    pub fn for_symbol<'a>(&'a self, symbol: &'a str) -> impl Iterator<Item = &'a TrackedOrder> + 'a {
        self.orders.values().filter(move |o| o.symbol == symbol)
    }

    pub fn all(&self) -> impl Iterator<Item = &TrackedOrder> {
        self.orders.values()
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Apply an order's state as the exchange reports it.
    pub fn apply(&mut self, info: &OrderInfo) -> Change {
        let Some(o) = self.orders.get_mut(&info.order_link_id) else {
            return Change::Unknown;
        };
        if !info.order_status.is_open() {
            self.orders.remove(&info.order_link_id);
            let reason = if info.reject_reason.is_empty() || info.reject_reason == "EC_NoError" {
                info.cancel_type.clone()
            } else {
                info.reject_reason.clone()
            };
            return Change::Closed {
                status: info.order_status,
                reason,
            };
        }
        o.order_id = Some(info.order_id.clone());
        o.filled = info.cum_exec_qty;
        // A state report settles a pending create or an unknown outcome; pending amends and
        // cancels wait for their own answers.
        if matches!(o.phase, Phase::Creating | Phase::Unknown) {
            o.phase = Phase::Live;
        }
        if o.phase == Phase::Live {
            o.price = info.price;
            o.qty = info.qty;
        }
        Change::Updated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bybit_v5::{OrderType, TimeInForce};
    use rust_decimal_macros::dec;

    pub fn info(link: &str, status: OrderStatus) -> OrderInfo {
        OrderInfo {
            category: "linear".into(),
            symbol: "BTCUSDT".into(),
            order_id: "oid".into(),
            order_link_id: link.into(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            price: dec!(100),
            qty: dec!(1),
            leaves_qty: dec!(1),
            leaves_value: dec!(100),
            cum_exec_qty: dec!(0),
            cum_exec_value: dec!(0),
            cum_exec_fee: dec!(0),
            avg_price: String::new(),
            order_status: status,
            cancel_type: "UNKNOWN".into(),
            reject_reason: "EC_NoError".into(),
            time_in_force: TimeInForce::PostOnly,
            position_idx: 0,
            reduce_only: false,
            close_on_trigger: false,
            create_type: String::new(),
            created_time: "0".into(),
            updated_time: "0".into(),
        }
    }

    #[test]
    fn creating_becomes_live_then_closes() {
        let mut t = OrderTable::default();
        t.insert(TrackedOrder {
            link_id: "a".into(),
            order_id: None,
            symbol: "BTCUSDT".into(),
            side: Side::Buy,
            level: 0,
            price: dec!(100),
            qty: dec!(1),
            filled: dec!(0),
            phase: Phase::Creating,
        });
        assert_eq!(t.apply(&info("a", OrderStatus::New)), Change::Updated);
        assert_eq!(t.get("a").unwrap().phase, Phase::Live);
        assert_eq!(t.get("a").unwrap().order_id.as_deref(), Some("oid"));
        let mut c = info("a", OrderStatus::Cancelled);
        c.reject_reason = "EC_PostOnlyWillTakeLiquidity".into();
        assert_eq!(
            t.apply(&c),
            Change::Closed {
                status: OrderStatus::Cancelled,
                reason: "EC_PostOnlyWillTakeLiquidity".into()
            }
        );
        assert!(t.is_empty());
        assert_eq!(t.apply(&info("zzz", OrderStatus::New)), Change::Unknown);
    }
}
