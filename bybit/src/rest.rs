//! Typed REST requests and answers (the `result` part of the envelope), for the endpoints a
//! linear market maker and its simulator use. Field names follow the wire (camelCase);
//! every price and quantity is a `Decimal` carried as a string.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{Category, OrderType, Side, TimeInForce};

/// REST paths, so client and server cannot drift apart.
pub mod path {
    pub const TIME: &str = "/v5/market/time";
    pub const INSTRUMENTS: &str = "/v5/market/instruments-info";
    pub const ORDERBOOK: &str = "/v5/market/orderbook";
    pub const TICKERS: &str = "/v5/market/tickers";
    pub const RECENT_TRADE: &str = "/v5/market/recent-trade";
    pub const ORDER_CREATE: &str = "/v5/order/create";
    pub const ORDER_AMEND: &str = "/v5/order/amend";
    pub const ORDER_CANCEL: &str = "/v5/order/cancel";
    pub const ORDER_CANCEL_ALL: &str = "/v5/order/cancel-all";
    pub const ORDER_CREATE_BATCH: &str = "/v5/order/create-batch";
    pub const ORDER_AMEND_BATCH: &str = "/v5/order/amend-batch";
    pub const ORDER_CANCEL_BATCH: &str = "/v5/order/cancel-batch";
    pub const ORDER_REALTIME: &str = "/v5/order/realtime";
    pub const ORDER_HISTORY: &str = "/v5/order/history";
    pub const EXECUTION_LIST: &str = "/v5/execution/list";
    pub const POSITION_LIST: &str = "/v5/position/list";
    pub const WALLET_BALANCE: &str = "/v5/account/wallet-balance";
    pub const FEE_RATE: &str = "/v5/account/fee-rate";
    pub const ACCOUNT_INFO: &str = "/v5/account/info";
    pub const QUERY_API: &str = "/v5/user/query-api";
    pub const COIN_INFO: &str = "/v5/asset/coin/query-info";
    pub const DCP: &str = "/v5/order/disconnected-cancel-all";
    pub const DCP_INFO: &str = "/v5/account/query-dcp-info";
    pub const SWITCH_MODE: &str = "/v5/position/switch-mode";
    pub const SET_LEVERAGE: &str = "/v5/position/set-leverage";
    pub const TRADING_STOP: &str = "/v5/position/trading-stop";
}

/// The order-entry WebSocket's op for a REST order endpoint (`/v5/trade` takes the same body as
/// `args[0]` and spends the same budget); None for endpoints it does not offer (cancel-all).
pub fn trade_op(endpoint: &str) -> Option<&'static str> {
    Some(match endpoint {
        path::ORDER_CREATE => "order.create",
        path::ORDER_AMEND => "order.amend",
        path::ORDER_CANCEL => "order.cancel",
        path::ORDER_CREATE_BATCH => "order.create-batch",
        path::ORDER_AMEND_BATCH => "order.amend-batch",
        path::ORDER_CANCEL_BATCH => "order.cancel-batch",
        _ => return None,
    })
}

/// Most items per batch call for linear.
pub const MAX_BATCH_ITEMS: usize = 20;
/// Most orders a linear cancel-all removes per call.
pub const CANCEL_ALL_CAP: usize = 500;
/// Largest page of `/v5/order/realtime`.
pub const MAX_OPEN_ORDERS_PAGE: usize = 50;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerTime {
    pub time_second: String,
    pub time_nano: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PriceFilter {
    pub min_price: Decimal,
    pub max_price: Decimal,
    pub tick_size: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LotSizeFilter {
    pub max_order_qty: Decimal,
    #[serde(default)]
    pub max_mkt_order_qty: Option<Decimal>,
    pub min_order_qty: Decimal,
    pub qty_step: Decimal,
    #[serde(default)]
    pub post_only_max_order_qty: Option<Decimal>,
    #[serde(default)]
    pub min_notional_value: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LeverageFilter {
    pub min_leverage: String,
    pub max_leverage: String,
    pub leverage_step: String,
}

/// `instruments-info` item (shared/bybit-v5-fields.md §3). Keys a client may not need default
/// when absent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Instrument {
    pub symbol: String,
    #[serde(default)]
    pub symbol_id: u32,
    pub contract_type: String,
    pub status: String,
    pub base_coin: String,
    pub quote_coin: String,
    #[serde(default)]
    pub launch_time: String,
    /// `"0"` for a perpetual.
    #[serde(default)]
    pub delivery_time: String,
    /// `""` for a perpetual.
    #[serde(default)]
    pub delivery_fee_rate: String,
    pub price_scale: String,
    pub leverage_filter: LeverageFilter,
    pub price_filter: PriceFilter,
    pub lot_size_filter: LotSizeFilter,
    #[serde(default)]
    pub unified_margin_trade: bool,
    /// Minutes.
    #[serde(default)]
    pub funding_interval: u32,
    pub settle_coin: String,
    #[serde(default)]
    pub copy_trading: String,
    #[serde(default)]
    pub upper_funding_rate: String,
    #[serde(default)]
    pub lower_funding_rate: String,
    #[serde(default)]
    pub is_pre_listing: bool,
    /// `null` unless pre-market.
    #[serde(default)]
    pub pre_listing_info: Option<serde_json::Value>,
    #[serde(default)]
    pub risk_parameters: RiskParameters,
    #[serde(default)]
    pub symbol_type: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub forbid_upl_withdrawal: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RiskParameters {
    #[serde(rename = "priceLimitRatioX", default)]
    pub price_limit_ratio_x: String,
    #[serde(rename = "priceLimitRatioY", default)]
    pub price_limit_ratio_y: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResult<T> {
    #[serde(default)]
    pub category: Option<Category>,
    pub list: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_cursor: Option<String>,
}

/// `[price, size]` as Bybit sends book levels.
pub type Level = (Decimal, Decimal);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderbookResult {
    pub s: String,
    pub b: Vec<Level>,
    pub a: Vec<Level>,
    pub ts: u64,
    pub u: u64,
    pub seq: u64,
    #[serde(default)]
    pub cts: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Ticker {
    pub symbol: String,
    pub last_price: Decimal,
    pub index_price: Decimal,
    pub mark_price: Decimal,
    pub bid1_price: Decimal,
    pub bid1_size: Decimal,
    pub ask1_price: Decimal,
    pub ask1_size: Decimal,
    pub volume24h: Decimal,
    pub turnover24h: Decimal,
    pub funding_rate: String,
    pub next_funding_time: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    pub qty: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_in_force: Option<TimeInForce>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_link_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduce_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_idx: Option<u8>,
    /// A conditional order: it waits, `Untriggered`, until the price reaches this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_price: Option<Decimal>,
    /// 1: triggered when the price rises to `trigger_price`; 2: when it falls to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_direction: Option<u8>,
    /// `LastPrice` (the default), `MarkPrice`, `IndexPrice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_on_trigger: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AmendOrder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    pub symbol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_link_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qty: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CancelOrder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    pub symbol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_link_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CancelAll {
    pub category: Option<Category>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_coin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_coin: Option<String>,
    /// Linear: `Order` (active orders only), `StopOrder` (conditional and TP/SL), `OpenOrder`.
    /// **Omitted, every kind is cancelled** — an operator's stop-loss with the rest: the bot
    /// always sends [`ONLY_ACTIVE_ORDERS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_filter: Option<String>,
    /// `Stop`, only with `orderFilter=StopOrder`: the conditional orders, not TP/SL or trailing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_order_type: Option<String>,
}

/// The `orderFilter` of every cancel-all and open-order listing the bot sends: its own kind of
/// order only, never an operator's conditional, TP/SL or trailing stop.
pub const ONLY_ACTIVE_ORDERS: &str = "Order";

/// `POST /v5/position/trading-stop`: the position's take-profit and stop-loss (`"0"` removes one).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TradingStop {
    pub category: Option<Category>,
    pub symbol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<Decimal>,
    /// `Full` (the whole position; the simulator's only mode) or `Partial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpsl_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_idx: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tp_trigger_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sl_trigger_by: Option<String>,
}

/// `{category, request: [...]}` for the three batch endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchRequest<T> {
    pub category: Category,
    pub request: Vec<T>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct OrderIds {
    pub order_id: String,
    pub order_link_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemResult {
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub symbol: String,
    pub order_id: String,
    pub order_link_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct CancelAllResult {
    pub list: Vec<OrderIds>,
    #[serde(default)]
    pub success: String,
}

pub use crate::execution_item::{Execution, ExecutionView};
pub use crate::order_item::{OrderInfo, OrderView};
pub use crate::position_item::{Position, PositionView};
pub use crate::wallet_item::{CoinBalance, WalletAccount};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FeeRate {
    pub symbol: String,
    pub taker_fee_rate: Decimal,
    pub maker_fee_rate: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DcpRequest {
    pub time_window: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
}

/// `POST /v5/position/switch-mode`: `mode` 0 one-way (merged single), 3 hedge (both sides).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SwitchMode {
    pub category: Category,
    pub symbol: String,
    pub mode: u8,
}

/// `POST /v5/position/set-leverage`; both sides alike under cross margin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SetLeverage {
    pub category: Category,
    pub symbol: String,
    pub buy_leverage: Decimal,
    pub sell_leverage: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_trade_socket_offers_every_order_endpoint_but_cancel_all() {
        assert_eq!(trade_op(path::ORDER_CREATE_BATCH), Some("order.create-batch"));
        assert_eq!(trade_op(path::ORDER_CANCEL), Some("order.cancel"));
        assert_eq!(trade_op(path::ORDER_CANCEL_ALL), None);
        assert_eq!(trade_op(path::ORDER_REALTIME), None);
    }

    #[test]
    fn create_order_serialises_decimals_as_strings_and_skips_absent_fields() {
        let o = CreateOrder {
            category: Some(Category::Linear),
            symbol: "BTCUSDT".into(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            qty: dec!(0.001),
            price: Some(dec!(30000.0)),
            time_in_force: Some(TimeInForce::PostOnly),
            order_link_id: Some("mm-1".into()),
            reduce_only: None,
            position_idx: None,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"30000.0","timeInForce":"PostOnly","orderLinkId":"mm-1"}"#
        );
    }

    #[test]
    fn create_order_accepts_pybit_numbers() {
        let o: CreateOrder = serde_json::from_str(
            r#"{"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": 30000, "positionIdx": 0, "reduceOnly": false}"#,
        )
        .unwrap();
        assert_eq!(o.price, Some(dec!(30000)));
        assert_eq!(o.position_idx, Some(0));
    }

    #[test]
    fn orderbook_levels_decode() {
        let r: OrderbookResult =
            serde_json::from_str(r#"{"s":"BTCUSDT","b":[["30000.0","1.250"]],"a":[["30000.1","0.800"]],"ts":1,"u":2,"seq":3,"cts":4}"#)
                .unwrap();
        assert_eq!(r.b[0], (dec!(30000.0), dec!(1.250)));
    }
}
