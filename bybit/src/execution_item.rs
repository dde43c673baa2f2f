//! One fill as `/v5/execution/list` (R) and the private `execution` topic (W) send it
//! (shared/bybit-v5-fields.md §10). [`Execution`] holds the union; [`Execution::to_wire`] gives
//! each view exactly its keys. Keys a client may not need default when absent.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{OrderType, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionView {
    Rest,
    Stream,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Execution {
    /// W only.
    pub category: String,
    pub symbol: String,
    /// W only: spot margin flag.
    #[serde(deserialize_with = "crate::lenient::text")]
    pub is_leverage: String,
    pub order_id: String,
    pub order_link_id: String,
    pub side: Side,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub order_price: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub order_qty: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub leaves_qty: Decimal,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub create_type: String,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub order_type: OrderType,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub stop_order_type: String,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub exec_fee: Decimal,
    pub exec_id: String,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub exec_price: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub exec_qty: Decimal,
    /// W only: PnL of a closing fill.
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub exec_pnl: Decimal,
    pub exec_type: String,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub exec_value: Decimal,
    pub exec_time: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub fee_currency: String,
    pub is_maker: bool,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub fee_rate: Decimal,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub trade_iv: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub mark_iv: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub mark_price: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub index_price: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub underlying_price: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub block_trade_id: String,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub closed_size: Decimal,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub seq: u64,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub extra_fees: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub market_unit: String,
}

impl Execution {
    /// The item with exactly the keys Bybit sends in `view`.
    pub fn to_wire(&self, view: ExecutionView) -> Value {
        let mut v = serde_json::to_value(self).expect("serialisable");
        if let (ExecutionView::Rest, Value::Object(m)) = (view, &mut v) {
            for k in ["category", "isLeverage", "execPnl"] {
                m.remove(k);
            }
        }
        v
    }
}
