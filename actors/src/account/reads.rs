//! The reads that tell the account as the exchange knows it, every page of each, item by item
//! (one undecodable item is counted and skipped; the rest count): positions by settle coin, the
//! executions since a moment, one order's final state by its link id.

use bybit_v5::lenient::{items, SkippedItem};
use bybit_v5::rest::{path, Execution, OrderInfo, Position};
use serde::de::DeserializeOwned;

use crate::exchange::rest_client::RestError;
use crate::exchange::rest_connector::{Call, Rest};

const SETTLE_COIN: &str = "USDT";
/// A listing that has not ended after this many pages is not trusted.
const MAX_PAGES: usize = 50;

/// Every item of every page of a GET, following `nextPageCursor`.
async fn pages<T: DeserializeOwned>(rest: &Rest, endpoint: &'static str, query: &str) -> Result<(Vec<T>, Vec<SkippedItem>), RestError> {
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    let mut cursor = String::new();
    for _ in 0..MAX_PAGES {
        let q = if cursor.is_empty() {
            query.to_string()
        } else {
            format!("{query}&cursor={cursor}")
        };
        let a = rest
            .send(Call::get(endpoint, q))
            .await
            .map_err(|e| RestError::Transport(e.to_string()))??;
        let (list, skips) = items::<T>(&a.result["list"]);
        out.extend(list);
        skipped.extend(skips);
        cursor = a.result["nextPageCursor"].as_str().unwrap_or("").to_string();
        if cursor.is_empty() {
            return Ok((out, skipped));
        }
    }
    Err(RestError::Decode(format!("{endpoint}: pagination did not end")))
}

fn log_skipped(what: &str, skipped: &[SkippedItem]) {
    if let Some(first) = skipped.first() {
        log::warn!(
            "{what}: {} item(s) could not be decoded and were skipped ({}): {}",
            skipped.len(),
            first.error,
            first.sample
        );
    }
}

/// Every USDT-settled position row of the account (flat rows included when the exchange lists
/// them). A row of one of `symbols` (or of no readable symbol) that cannot be decoded fails the
/// read: that position is unknown, and unknown is never flat.
pub async fn positions(rest: &Rest, symbols: &[String]) -> Result<Vec<Position>, RestError> {
    let (rows, skipped) = pages(
        rest,
        path::POSITION_LIST,
        &format!("category=linear&settleCoin={SETTLE_COIN}&limit=200"),
    )
    .await?;
    log_skipped("position list", &skipped);
    unreadable_rows(&skipped, symbols).map_or(Ok(rows), Err)
}

/// The read's failure when a skipped row could be one of `symbols`' positions.
pub fn unreadable_rows(skipped: &[SkippedItem], symbols: &[String]) -> Option<RestError> {
    let ours = skipped.iter().find(|s| s.symbol.as_ref().is_none_or(|sym| symbols.contains(sym)))?;
    Some(RestError::Decode(format!(
        "position list: the row of {} could not be decoded ({}): its position is unknown, not flat",
        ours.symbol.as_deref().unwrap_or("an unnamed symbol"),
        ours.error
    )))
}

/// The account's linear executions at or after `since_ms`, oldest first.
pub async fn executions_since(rest: &Rest, since_ms: u64) -> Result<Vec<Execution>, RestError> {
    let (mut list, skipped): (Vec<Execution>, _) = pages(
        rest,
        path::EXECUTION_LIST,
        &format!("category=linear&startTime={since_ms}&limit=100"),
    )
    .await?;
    log_skipped("execution list", &skipped);
    list.reverse();
    Ok(list)
}

/// An order's latest state by its link id, from the order history (None: the exchange does not
/// know it).
pub async fn order_by_link_id(rest: &Rest, symbol: &str, link_id: &str) -> Result<Option<OrderInfo>, RestError> {
    let (list, skipped): (Vec<OrderInfo>, _) = pages(
        rest,
        path::ORDER_HISTORY,
        &format!("category=linear&symbol={symbol}&orderLinkId={link_id}&limit=1"),
    )
    .await?;
    log_skipped("order history", &skipped);
    Ok(list.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(symbol: Option<&str>) -> SkippedItem {
        SkippedItem {
            error: "invalid type".into(),
            sample: "{}".into(),
            symbol: symbol.map(String::from),
        }
    }

    #[test]
    fn an_undecodable_row_of_a_traded_symbol_or_of_no_symbol_makes_the_read_unknown() {
        let ours = vec!["BTCUSDT".to_string()];
        assert!(unreadable_rows(&[], &ours).is_none());
        assert!(
            unreadable_rows(&[skipped(Some("SOLUSDT"))], &ours).is_none(),
            "another symbol's row"
        );
        let e = unreadable_rows(&[skipped(Some("SOLUSDT")), skipped(Some("BTCUSDT"))], &ours).unwrap();
        assert!(e.to_string().contains("BTCUSDT") && e.to_string().contains("unknown"), "{e}");
        assert!(unreadable_rows(&[skipped(None)], &ours).is_some());
    }
}
