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
    /// While an amend is in flight, the price and quantity the order had before it: what the
    /// order is again if the exchange refuses the amend. (`price`/`qty` already hold the
    /// amend's target, so nothing compares the next quote with a state that is on its way out.)
    #[serde(skip)]
    pub amend_from: Option<(Decimal, Decimal)>,
}

impl TrackedOrder {
    /// A create for quote `q` is on its way under `link_id`.
    pub fn creating(link_id: &str, symbol: &str, q: &crate::market::quoting::Quote) -> Self {
        Self {
            link_id: link_id.to_string(),
            order_id: None,
            symbol: symbol.to_string(),
            side: q.side,
            level: q.level,
            price: q.price,
            qty: q.qty,
            filled: Decimal::ZERO,
            phase: Phase::Creating,
            amend_from: None,
        }
    }

    /// An amend to `price`/`qty` is on its way: the order is judged by its target from now on.
    pub fn amend_sent(&mut self, price: Option<Decimal>, qty: Option<Decimal>) {
        self.amend_from = Some((self.price, self.qty));
        self.price = price.unwrap_or(self.price);
        self.qty = qty.unwrap_or(self.qty);
        self.phase = Phase::Amending;
    }

    /// The exchange accepted the amend: the target is the order's state. (A cancel sent
    /// meanwhile keeps the order Cancelling.)
    pub fn amend_done(&mut self) {
        self.amend_from = None;
        if self.phase == Phase::Amending {
            self.phase = Phase::Live;
        }
    }

    /// The exchange refused the amend: the order is as it was.
    pub fn amend_refused(&mut self) {
        if let Some((price, qty)) = self.amend_from.take() {
            self.price = price;
            self.qty = qty;
        }
        if self.phase == Phase::Amending {
            self.phase = Phase::Live;
        }
    }

    /// The exchange refused the cancel: the order rests, with its amend still on its way if it
    /// had one.
    pub fn cancel_refused(&mut self) {
        if self.phase == Phase::Cancelling {
            self.phase = if self.amend_from.is_some() { Phase::Amending } else { Phase::Live };
        }
    }
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
        // A state report settles a pending create or an unknown outcome: then, and only then,
        // its price and quantity are news. Otherwise only this bot's amends move them, and the
        // bot knows each one's fate from its answer — a report may be older than that answer
        // (the stream and REST race), and taking its price would undo an amend just made.
        if matches!(o.phase, Phase::Creating | Phase::Unknown) {
            o.phase = Phase::Live;
            o.price = info.price;
            o.qty = info.qty;
            o.amend_from = None;
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
        let mut i = OrderInfo::new_plain("BTCUSDT", "oid", link, Side::Buy, OrderType::Limit);
        i.price = dec!(100);
        i.qty = dec!(1);
        i.leaves_qty = dec!(1);
        i.leaves_value = dec!(100);
        i.order_status = status;
        i.time_in_force = TimeInForce::PostOnly;
        i.created_time = "0".into();
        i.updated_time = "0".into();
        i
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
            amend_from: None,
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

    fn live_order(price: Decimal) -> TrackedOrder {
        TrackedOrder {
            link_id: "a".into(),
            order_id: Some("oid".into()),
            symbol: "BTCUSDT".into(),
            side: Side::Buy,
            level: 0,
            price,
            qty: dec!(1),
            filled: dec!(0),
            phase: Phase::Live,
            amend_from: None,
        }
    }

    #[test]
    fn an_older_report_does_not_undo_an_accepted_amend() {
        let mut t = OrderTable::default();
        t.insert(live_order(dec!(100)));
        let o = t.get_mut("a").unwrap();
        o.amend_sent(Some(dec!(101)), None);
        assert_eq!((o.price, o.phase), (dec!(101), Phase::Amending));
        o.amend_done();
        // The stream's report of the create (price 100) arrives after the amend's answer.
        let mut late = info("a", OrderStatus::New);
        late.cum_exec_qty = dec!(0.2);
        t.apply(&late);
        let o = t.get("a").unwrap();
        assert_eq!((o.price, o.filled, o.phase), (dec!(101), dec!(0.2), Phase::Live));
    }

    #[test]
    fn a_refused_amend_restores_the_order() {
        let mut o = live_order(dec!(100));
        o.amend_sent(Some(dec!(99)), Some(dec!(2)));
        assert_eq!((o.price, o.qty), (dec!(99), dec!(2)));
        o.amend_refused();
        assert_eq!((o.price, o.qty, o.phase, o.amend_from), (dec!(100), dec!(1), Phase::Live, None));
    }

    #[test]
    fn an_unknown_outcome_takes_the_exchanges_word() {
        let mut t = OrderTable::default();
        let mut o = live_order(dec!(100));
        o.amend_sent(Some(dec!(105)), None);
        o.phase = Phase::Unknown;
        t.insert(o);
        t.apply(&info("a", OrderStatus::New));
        let o = t.get("a").unwrap();
        assert_eq!((o.price, o.phase, o.amend_from), (dec!(100), Phase::Live, None));
    }
}
