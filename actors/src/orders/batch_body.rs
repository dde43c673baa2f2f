//! The body of a batch order request, serialised straight from the protocol crate's request
//! types: one pass into one string, no intermediate JSON tree (this is on the tick-to-request
//! path, once per batch).

use rust_decimal::Decimal;
use serde::Serialize;

use bybit_v5::rest::{AmendOrder, BatchRequest, CancelOrder, CreateOrder};
use bybit_v5::{Category, OrderType, Side, TimeInForce};

/// One item of a create, amend or cancel batch; a batch holds items of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BatchItem {
    Create(CreateOrder),
    Amend(AmendOrder),
    Cancel(CancelOrder),
}

impl BatchItem {
    /// A post-only limit order: the only kind the quoting loop creates.
    pub fn post_only(symbol: &str, side: Side, price: Decimal, qty: Decimal, link_id: &str) -> Self {
        Self::Create(CreateOrder {
            category: None,
            symbol: symbol.into(),
            side,
            order_type: OrderType::Limit,
            qty,
            price: Some(price),
            time_in_force: Some(TimeInForce::PostOnly),
            order_link_id: Some(link_id.into()),
            reduce_only: None,
            position_idx: None,
            ..Default::default()
        })
    }

    pub fn amend(symbol: &str, link_id: &str, price: Option<Decimal>, qty: Option<Decimal>) -> Self {
        Self::Amend(AmendOrder {
            symbol: symbol.into(),
            order_link_id: Some(link_id.into()),
            price,
            qty,
            ..Default::default()
        })
    }

    pub fn cancel(symbol: &str, link_id: &str) -> Self {
        Self::Cancel(CancelOrder {
            symbol: symbol.into(),
            order_link_id: Some(link_id.into()),
            ..Default::default()
        })
    }
}

/// `{"category":"linear","request":[…]}`.
pub fn batch_body(items: Vec<BatchItem>) -> String {
    let batch = BatchRequest {
        category: Category::Linear,
        request: items,
    };
    serde_json::to_string(&batch).expect("request types always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::{json, Value};

    fn parsed(items: Vec<BatchItem>) -> Value {
        serde_json::from_str(&batch_body(items)).unwrap()
    }

    #[test]
    fn a_create_batch_carries_bybits_fields_and_strings_for_numbers() {
        let body = parsed(vec![BatchItem::post_only(
            "BTCUSDT",
            Side::Buy,
            dec!(29976.5),
            dec!(0.004),
            "mmb-a-1",
        )]);
        assert_eq!(
            body,
            json!({"category": "linear", "request": [{"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                   "qty": "0.004", "price": "29976.5", "timeInForce": "PostOnly", "orderLinkId": "mmb-a-1"}]})
        );
    }

    #[test]
    fn an_amend_names_only_what_changes() {
        let body = parsed(vec![
            BatchItem::amend("ETHUSDT", "mmb-a-2", Some(dec!(1800.25)), None),
            BatchItem::amend("ETHUSDT", "mmb-a-3", None, Some(dec!(0.5))),
        ]);
        assert_eq!(
            body["request"],
            json!([{"symbol": "ETHUSDT", "orderLinkId": "mmb-a-2", "price": "1800.25"},
                   {"symbol": "ETHUSDT", "orderLinkId": "mmb-a-3", "qty": "0.5"}])
        );
    }

    #[test]
    fn a_cancel_names_the_order_by_link_id() {
        let body = parsed(vec![BatchItem::cancel("ETHUSDT", "mmb-a-4")]);
        assert_eq!(body["request"], json!([{"symbol": "ETHUSDT", "orderLinkId": "mmb-a-4"}]));
    }
}
