//! One order as Bybit shows it: `/v5/order/realtime` (R), `/v5/order/history` (H) and the private
//! `order` topic (W) send the same item with slightly different key sets (shared/bybit-v5-fields.md
//! §9). [`OrderInfo`] holds the union; [`OrderInfo::to_wire`] gives each view exactly its keys.
//! Every key a client may not need defaults when absent, so decoding stays lenient.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{OrderStatus, OrderType, Side, TimeInForce};

/// Where an order item is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderView {
    Realtime,
    History,
    Stream,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderInfo {
    /// W only.
    pub category: String,
    pub order_id: String,
    pub order_link_id: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub parent_order_link_id: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub block_trade_id: String,
    pub symbol: String,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub price: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub qty: Decimal,
    pub side: Side,
    /// Spot margin flag; `""` for linear.
    #[serde(deserialize_with = "crate::lenient::text")]
    pub is_leverage: String,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub position_idx: u8,
    pub order_status: OrderStatus,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub create_type: String,
    pub cancel_type: String,
    pub reject_reason: String,
    /// `""` while nothing has filled, as on the wire.
    pub avg_price: String,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub leaves_qty: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub leaves_value: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub cum_exec_qty: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub cum_exec_value: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub cum_exec_fee: Decimal,
    /// Fee per coin; `{}` while nothing has filled.
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub cum_fee_detail: BTreeMap<String, String>,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub time_in_force: TimeInForce,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub order_type: OrderType,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub stop_order_type: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub order_iv: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub market_unit: String,
    /// H and W.
    #[serde(deserialize_with = "crate::lenient::text")]
    pub slippage_tolerance_type: String,
    /// H and W.
    #[serde(deserialize_with = "crate::lenient::text")]
    pub slippage_tolerance: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub trigger_price: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub take_profit: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub stop_loss: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub tpsl_mode: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub tp_limit_price: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub sl_limit_price: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub tp_trigger_by: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub sl_trigger_by: String,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub trigger_direction: u8,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub trigger_by: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub last_price_on_created: String,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub reduce_only: bool,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub close_on_trigger: bool,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub place_type: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub smp_type: String,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub smp_group: u32,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub smp_order_id: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub created_time: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub updated_time: String,
    /// H only.
    #[serde(deserialize_with = "crate::lenient::text")]
    pub extra_fees: String,
    /// H and W.
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub rpi_taker_access: bool,
    /// H and W.
    #[serde(deserialize_with = "crate::lenient::text")]
    pub rpi_matched_qty: String,
    /// W only.
    #[serde(deserialize_with = "crate::lenient::text")]
    pub closed_pnl: String,
    /// W only (deprecated spot fee coin).
    #[serde(deserialize_with = "crate::lenient::text")]
    pub fee_currency: String,
    /// W only.
    #[serde(deserialize_with = "crate::lenient::text")]
    pub broker_order_price: String,
}

impl OrderInfo {
    /// A new plain order's item with Bybit's empty values (§9 "plain limit / empty").
    pub fn new_plain(symbol: &str, order_id: &str, order_link_id: &str, side: Side, order_type: OrderType) -> Self {
        Self {
            category: "linear".into(),
            order_id: order_id.into(),
            order_link_id: order_link_id.into(),
            symbol: symbol.into(),
            side,
            order_type,
            create_type: "CreateByUser".into(),
            cancel_type: "UNKNOWN".into(),
            reject_reason: "EC_NoError".into(),
            slippage_tolerance_type: "UNKNOWN".into(),
            slippage_tolerance: "0".into(),
            tp_limit_price: "0".into(),
            sl_limit_price: "0".into(),
            smp_type: "None".into(),
            rpi_matched_qty: "0".into(),
            closed_pnl: "0".into(),
            ..Default::default()
        }
    }

    /// The item with exactly the keys Bybit sends in `view`.
    pub fn to_wire(&self, view: OrderView) -> Value {
        let mut v = serde_json::to_value(self).expect("serialisable");
        let drop: &[&str] = match view {
            OrderView::Realtime => &[
                "category",
                "closedPnl",
                "feeCurrency",
                "brokerOrderPrice",
                "slippageToleranceType",
                "slippageTolerance",
                "rpiTakerAccess",
                "rpiMatchedQty",
                "extraFees",
            ],
            OrderView::History => &["category", "closedPnl", "feeCurrency", "brokerOrderPrice"],
            OrderView::Stream => &["extraFees"],
        };
        if let Value::Object(m) = &mut v {
            for k in drop {
                m.remove(*k);
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_differ_only_where_bybit_does() {
        let o = OrderInfo::new_plain("BTCUSDT", "id", "l", Side::Buy, OrderType::Limit);
        let r = o.to_wire(OrderView::Realtime);
        let h = o.to_wire(OrderView::History);
        let w = o.to_wire(OrderView::Stream);
        assert!(r.get("category").is_none() && w["category"] == "linear");
        assert!(r.get("extraFees").is_none() && h["extraFees"] == "" && w.get("extraFees").is_none());
        assert_eq!(w["cumFeeDetail"], serde_json::json!({}));
        assert_eq!((r["positionIdx"].as_u64(), r["smpType"].as_str()), (Some(0), Some("None")));
        // Decoding is lenient: a minimal item still decodes.
        let min: OrderInfo = serde_json::from_str(r#"{"symbol":"X","orderId":"1","orderStatus":"New","price":"1","qty":"1"}"#).unwrap();
        assert_eq!(min.order_status, OrderStatus::New);
    }
}
