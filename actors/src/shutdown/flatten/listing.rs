//! The reads that prove flat: the open orders of a symbol, or of the whole account by settle coin,
//! every page of them.

use bybit_v5::rest::{path, OrderInfo, ONLY_ACTIVE_ORDERS};

use crate::exchange::rest_client::RestError;
use crate::exchange::rest_connector::{Call, Rest};

use super::*;

/// Every open order of a symbol, following the cursor.
pub async fn list_open_orders(rest: &Rest, symbol: &str) -> Result<Vec<OrderInfo>, RestError> {
    list_open_orders_with(rest, symbol, false).await
}

pub(super) async fn list_open_orders_with(rest: &Rest, symbol: &str, once: bool) -> Result<Vec<OrderInfo>, RestError> {
    list_pages(rest, &format!("category=linear&symbol={symbol}&limit=50"), once).await
}

/// Every open USDT-settled order of the account (all symbols), following the cursor; and how
/// many pages (requests) that took.
pub(super) async fn list_account_orders(rest: &Rest) -> Result<(Vec<OrderInfo>, u32), RestError> {
    list_pages_counted(rest, &format!("category=linear&settleCoin={SETTLE_COIN}&limit=50"), true).await
}

pub(super) async fn list_pages(rest: &Rest, query: &str, once: bool) -> Result<Vec<OrderInfo>, RestError> {
    list_pages_counted(rest, query, once).await.map(|(list, _)| list)
}

async fn list_pages_counted(rest: &Rest, query: &str, once: bool) -> Result<(Vec<OrderInfo>, u32), RestError> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    // Active orders only: an operator's conditional and TP/SL orders are never the bot's to
    // verify or cancel (Bybit lists every kind when orderFilter is left out).
    let query = format!("{query}&orderFilter={ONLY_ACTIVE_ORDERS}");
    for page in 1..=100 {
        let q = if cursor.is_empty() {
            query.clone()
        } else {
            format!("{query}&cursor={cursor}")
        };
        let mut call = Call::get(path::ORDER_REALTIME, q);
        if once {
            call = call.once();
        }
        let a = rest.send(call).await.map_err(|e| RestError::Transport(e.to_string()))??;
        let list = open_orders_in(&a.result["list"]);
        out.extend(list);
        cursor = a.result["nextPageCursor"].as_str().unwrap_or("").to_string();
        if cursor.is_empty() {
            return Ok((out, page));
        }
    }
    Err(RestError::Decode("open-order pagination did not end".into()))
}

/// The open orders of a listing, item by item. An item that does not decode still counts as an
/// open order under the ids it carries: proof of flat must never rest on an item it could not read.
pub fn open_orders_in(list: &serde_json::Value) -> Vec<OrderInfo> {
    let Some(items) = list.as_array() else { return Vec::new() };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match serde_json::from_value::<OrderInfo>(item.clone()) {
            Ok(o) => out.push(o),
            Err(e) => {
                let text = |k: &str| item[k].as_str().unwrap_or("").to_string();
                log::warn!(
                    "an open order that does not decode ({e}) is kept by its ids: {}",
                    item.to_string().chars().take(200).collect::<String>()
                );
                out.push(OrderInfo {
                    order_id: text("orderId"),
                    order_link_id: text("orderLinkId"),
                    symbol: text("symbol"),
                    order_status: bybit_v5::OrderStatus::Unknown,
                    ..Default::default()
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undecodable_open_order_is_still_an_open_order() {
        let list = serde_json::json!([
            {"orderId": "1", "orderLinkId": "mmb-a-1", "symbol": "BTCUSDT", "price": "oops"},
            {"orderId": "2", "orderLinkId": "mmb-a-2", "symbol": "BTCUSDT", "price": "1", "orderStatus": "New"}
        ]);
        let orders = open_orders_in(&list);
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[0].order_link_id, "mmb-a-1");
        assert!(orders[0].order_status.is_open());
    }
}
