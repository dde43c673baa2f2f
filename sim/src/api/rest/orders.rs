//! Orders: the six order operations, cancel-all, open and closed orders, executions.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use bybit_v5::rest::{CancelAll, ExecutionView, OrderView, MAX_OPEN_ORDERS_PAGE};
use bybit_v5::Category;

use super::market::limit_param;
use super::*;
use crate::error::ApiError;
use crate::exchange::SimOrder;
use crate::matching::cancel_all::CancelAllScope;
use crate::matching::conditional::{cancel_all_kinds, listing_kinds, OrderKind};
use crate::matching::order_ops::{self, OrderOp};
use crate::server::state::AppState;

pub async fn cancel_all(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if !state.order_latency.is_zero() {
        // The way to the matching engine (order-entry latency).
        tokio::time::sleep(state.order_latency).await;
    }
    let text = match body_str(&body) {
        Ok(t) => t,
        Err(e) => return respond(Err(e), None, None),
    };
    let delay = state.cancel_all_delay();
    let mut picked = Vec::new();
    let response = private(&state, &req, text, 1, |ex, acct, _, now| {
        let r = parse_body::<CancelAll>(text).and_then(|c| {
            if c.category != Some(Category::Linear) {
                return Err(ApiError::param("params error: category must be linear"));
            }
            if c.symbol.is_none() && c.base_coin.is_none() && c.settle_coin.is_none() {
                return Err(ApiError::param("params error: one of symbol, baseCoin or settleCoin is required"));
            }
            if let Some(s) = &c.symbol {
                if !ex.markets.contains_key(s) {
                    return Err(ApiError::param(format!("params error: symbol invalid: {s}")));
                }
            }
            let kinds = cancel_all_kinds(c.order_filter.as_deref(), c.stop_order_type.as_deref())?;
            let scope = CancelAllScope {
                symbol: c.symbol.as_deref(),
                base_coin: c.base_coin.as_deref(),
                settle_coin: c.settle_coin.as_deref(),
            };
            picked = ex.pick_for_cancel_all(acct, scope, &kinds);
            let list = ex.ids_of(&picked);
            if delay.is_zero() {
                ex.finish_cancels(&std::mem::take(&mut picked), "CancelByUser", now);
            }
            Ok(json!({"list": list, "success": "1"}))
        });
        (r, None)
    });
    // Bybit's cancel-all is asynchronous: the answer lists the orders, and they leave the book
    // (and /v5/order/realtime) a little later.
    if !picked.is_empty() {
        let state = state.clone();
        actix_rt::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut ex = state.exchange();
            let now = ex.now();
            ex.finish_cancels(&picked, "CancelByUser", now);
        });
    }
    response
}

/// One of the six order operations over REST: the body is the request object; batches spend a
/// unit per order.
pub(crate) async fn order_endpoint(op: OrderOp, state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if !state.order_latency.is_zero() {
        // The way to the matching engine (order-entry latency).
        tokio::time::sleep(state.order_latency).await;
    }
    let text = match body_str(&body) {
        Ok(t) => t,
        Err(e) => return respond(Err(e), None, None),
    };
    let request: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return respond(Err(ApiError::param(format!("params error: {e}"))), None, None),
    };
    let refuse = state.faults().refuse_amends;
    private(&state, &req, text, op.units(&request), |ex, acct, granted, now| {
        order_ops::execute(op, ex, acct, &request, granted, refuse, now)
    })
}

/// Orders matching the query's filters, newest first, one page at a time. The cursor is the
/// sequence number of the last order of the previous page (alphanumeric, URL-safe).
pub(crate) fn page(orders: Vec<&SimOrder>, q: &Query, default_limit: usize, view: OrderView) -> Result<Value, ApiError> {
    let limit = limit_param(q, default_limit, MAX_OPEN_ORDERS_PAGE)?;
    let after: Option<u64> = match q.get("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            c.strip_prefix('p')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| ApiError::param("params error: cursor invalid"))?,
        ),
    };
    let mut selected: Vec<&SimOrder> = orders
        .into_iter()
        .filter(|o| q.get("symbol").is_none_or(|s| *s == o.info.symbol))
        .filter(|o| q.get("orderId").is_none_or(|s| *s == o.info.order_id))
        .filter(|o| q.get("orderLinkId").is_none_or(|s| *s == o.info.order_link_id))
        .filter(|o| q.get("orderStatus").is_none_or(|s| to_value(o.info.order_status) == *s.as_str()))
        .filter(|o| after.is_none_or(|a| o.seq < a))
        .collect();
    selected.sort_by_key(|o| std::cmp::Reverse(o.seq));
    let more = selected.len() > limit;
    selected.truncate(limit);
    let cursor = if more {
        selected.last().map(|o| format!("p{}", o.seq)).unwrap_or_default()
    } else {
        String::new()
    };
    let list: Vec<Value> = selected.iter().map(|o| o.info.to_wire(view)).collect();
    Ok(json!({"category": "linear", "list": list, "nextPageCursor": cursor}))
}

pub(crate) fn require_scope(q: &Query) -> Result<(), ApiError> {
    let has = ["symbol", "baseCoin", "settleCoin", "orderId", "orderLinkId"]
        .iter()
        .any(|k| q.contains_key(*k));
    if has {
        Ok(())
    } else {
        Err(ApiError::param("params error: one of symbol, baseCoin or settleCoin is required"))
    }
}

pub async fn realtime(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_string();
    private(&state, &req, &raw, 1, |ex, acct, _, _| {
        let r = parse_query(&raw).and_then(|q| {
            require_linear(&q)?;
            require_scope(&q)?;
            let base = q.get("baseCoin").cloned();
            let kinds = listing_kinds(q.get("orderFilter").map(String::as_str))?;
            let open = ex
                .open_orders(acct)
                .into_iter()
                .chain(ex.conditional.values().filter(|o| o.account == acct))
                .filter(|o| kinds.contains(&OrderKind::of(&o.info)))
                .filter(|o| base.as_ref().is_none_or(|b| ex.markets[&o.info.symbol].spec.base_coin == *b))
                .collect();
            page(open, &q, 20, OrderView::Realtime)
        });
        (r, None)
    })
}

pub async fn history(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_string();
    private(&state, &req, &raw, 1, |ex, acct, _, _| {
        let r = parse_query(&raw).and_then(|q| {
            require_linear(&q)?;
            let all: Vec<&SimOrder> = ex.closed.iter().filter(|o| o.account == acct).chain(ex.open_orders(acct)).collect();
            page(all, &q, 20, OrderView::History)
        });
        (r, None)
    })
}

pub async fn executions(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_string();
    private(&state, &req, &raw, 1, |ex, acct, _, now| {
        let r = parse_query(&raw).and_then(|q| {
            require_linear(&q)?;
            let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50).clamp(1, 100);
            let ms = |k: &str| -> Result<Option<u64>, ApiError> {
                q.get(k)
                    .map(|v| v.parse::<u64>().map_err(|_| ApiError::param(format!("params error: {k} invalid"))))
                    .transpose()
            };
            // Bybit: without times the last 7 days; a window may span at most 7 days.
            const WEEK_MS: u64 = 7 * 24 * 3600 * 1000;
            let (start, end) = match (ms("startTime")?, ms("endTime")?) {
                (None, None) => (now.saturating_sub(WEEK_MS), now),
                (Some(s), None) => (s, s + WEEK_MS),
                (None, Some(e)) => (e.saturating_sub(WEEK_MS), e),
                (Some(s), Some(e)) if e >= s && e - s <= WEEK_MS => (s, e),
                _ => return Err(ApiError::param("params error: startTime and endTime must be within 7 days")),
            };
            // The cursor is the position after the last item of the previous page (newest first).
            let skip: usize = match q.get("cursor").filter(|c| !c.is_empty()) {
                None => 0,
                Some(c) => c
                    .strip_prefix('e')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| ApiError::param("params error: cursor invalid"))?,
            };
            let matching: Vec<_> = ex.accounts[acct]
                .executions
                .iter()
                .rev()
                .filter(|e| q.get("symbol").is_none_or(|s| *s == e.symbol))
                .filter(|e| q.get("orderLinkId").is_none_or(|s| *s == e.order_link_id))
                .filter(|e| q.get("execType").is_none_or(|t| *t == e.exec_type))
                .filter(|e| e.exec_time.parse::<u64>().is_ok_and(|t| t >= start && t <= end))
                .collect();
            let list: Vec<_> = matching
                .iter()
                .skip(skip)
                .take(limit)
                .map(|e| e.to_wire(ExecutionView::Rest))
                .collect();
            let cursor = if matching.len() > skip + limit {
                format!("e{}", skip + limit)
            } else {
                String::new()
            };
            Ok(json!({"category": "linear", "list": list, "nextPageCursor": cursor}))
        });
        (r, None)
    })
}
