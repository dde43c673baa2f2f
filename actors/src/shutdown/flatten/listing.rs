//! The reads that prove flat: the open orders of a symbol, or of the whole account by settle coin,
//! every page of them.

use bybit_v5::rest::{path, OrderInfo};

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

/// Every open USDT-settled order of the account (all symbols), following the cursor.
pub(super) async fn list_account_orders(rest: &Rest) -> Result<Vec<OrderInfo>, RestError> {
    list_pages(rest, &format!("category=linear&settleCoin={SETTLE_COIN}&limit=50"), true).await
}

pub(super) async fn list_pages(rest: &Rest, query: &str, once: bool) -> Result<Vec<OrderInfo>, RestError> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    for _ in 0..100 {
        let q = if cursor.is_empty() {
            query.to_string()
        } else {
            format!("{query}&cursor={cursor}")
        };
        let mut call = Call::get(path::ORDER_REALTIME, q);
        if once {
            call = call.once();
        }
        let a = rest.send(call).await.map_err(|e| RestError::Transport(e.to_string()))??;
        let list: Vec<OrderInfo> = serde_json::from_value(a.result["list"].clone()).map_err(|e| RestError::Decode(e.to_string()))?;
        out.extend(list);
        cursor = a.result["nextPageCursor"].as_str().unwrap_or("").to_string();
        if cursor.is_empty() {
            return Ok(out);
        }
    }
    Err(RestError::Decode("open-order pagination did not end".into()))
}
