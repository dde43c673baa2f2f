//! One position as `/v5/position/list` (R) and the private `position` topic (W) send it
//! (shared/bybit-v5-fields.md §11, §20): the stream adds `category` and calls the entry price
//! `entryPrice` where REST says `avgPrice`. Keys a client may not need default when absent.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionView {
    Rest,
    Stream,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Position {
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub position_idx: u8,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub risk_id: u32,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub risk_limit_value: String,
    pub symbol: String,
    /// `Buy`, `Sell` or `""` when flat.
    pub side: String,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub size: Decimal,
    /// The entry price (REST `avgPrice`; the stream's `entryPrice` decodes here too).
    #[serde(alias = "entryPrice")]
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub avg_price: Decimal,
    /// `""` when flat.
    #[serde(deserialize_with = "crate::lenient::text")]
    pub position_value: String,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub trade_mode: u8,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub auto_add_margin: u8,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub position_status: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub leverage: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub break_even_price: String,
    #[serde(deserialize_with = "crate::lenient::decimal")]
    pub mark_price: Decimal,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub liq_price: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub bust_price: String,
    #[serde(rename = "positionIM")]
    #[serde(deserialize_with = "crate::lenient::text")]
    pub position_im: String,
    #[serde(rename = "positionIMByMp")]
    #[serde(deserialize_with = "crate::lenient::text")]
    pub position_im_by_mp: String,
    #[serde(rename = "positionMM")]
    #[serde(deserialize_with = "crate::lenient::text")]
    pub position_mm: String,
    #[serde(rename = "positionMMByMp")]
    #[serde(deserialize_with = "crate::lenient::text")]
    pub position_mm_by_mp: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub position_balance: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub tpsl_mode: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub take_profit: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub stop_loss: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub trailing_stop: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub session_avg_price: String,
    /// `""` when flat.
    #[serde(deserialize_with = "crate::lenient::text")]
    pub unrealised_pnl: String,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub cur_realised_pnl: Decimal,
    #[serde(deserialize_with = "crate::lenient::decimal_or_zero")]
    pub cum_realised_pnl: Decimal,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub adl_rank_indicator: u8,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub created_time: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub updated_time: String,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub open_time: u64,
    /// Cross sequence of the fill that last moved it; -1 if it never traded.
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub seq: i64,
    #[serde(deserialize_with = "crate::lenient::or_default")]
    pub is_reduce_only: bool,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub mmr_sys_updated_time: String,
    #[serde(deserialize_with = "crate::lenient::text")]
    pub leverage_sys_updated_time: String,
}

impl Position {
    /// The item with exactly the keys Bybit sends in `view`.
    pub fn to_wire(&self, view: PositionView) -> Value {
        let mut v = serde_json::to_value(self).expect("serialisable");
        if let (PositionView::Stream, Value::Object(m)) = (view, &mut v) {
            if let Some(p) = m.remove("avgPrice") {
                m.insert("entryPrice".into(), p);
            }
            m.insert("category".into(), Value::from("linear"));
        }
        v
    }
}
