//! The REST API: Bybit V5 paths, the envelope, authentication, rate limits and their headers.
//! Handlers translate wire requests into `Exchange` calls and never panic on bad input.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use bybit_v5::envelope::Envelope;
use bybit_v5::rest::{
    path, CancelAll, DcpRequest, ExecutionView, Instrument, LeverageFilter, LotSizeFilter, OrderView, OrderbookResult, PositionView,
    PriceFilter, RiskParameters, MAX_OPEN_ORDERS_PAGE,
};
use bybit_v5::{Category, RetCode};

use crate::auth::{authenticate, AuthInput};
use crate::cancel_all::CancelAllScope;
use crate::conditional::{cancel_all_kinds, listing_kinds, OrderKind};
use crate::error::ApiError;
use crate::exchange::{now_ms, Exchange, SimOrder, MAKER_FEE, TAKER_FEE};
use crate::order_ops::{self, OrderOp};
use crate::rate_limit::Budget;
use crate::state::AppState;

type Query = HashMap<String, String>;

fn parse_query(raw: &str) -> Result<Query, ApiError> {
    web::Query::<Query>::from_query(raw)
        .map(|q| q.into_inner())
        .map_err(|_| ApiError::param("params error: malformed query string"))
}

pub(crate) fn respond(result: Result<Value, ApiError>, ext: Option<Value>, budget: Option<Budget>) -> HttpResponse {
    respond_as(Success::Ok, result, ext, budget)
}

/// How an endpoint says "success": the text differs per endpoint on Bybit, and the DCP call's
/// documented answer has nothing but the code and the text (shared/bybit-v5-fields.md §1, §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Success {
    Ok,
    Lower,
    Empty,
    BareLower,
}

fn respond_as(success: Success, result: Result<Value, ApiError>, ext: Option<Value>, budget: Option<Budget>) -> HttpResponse {
    let now = now_ms();
    let body = match result {
        Ok(_) if success == Success::BareLower => json!({"retCode": 0, "retMsg": "success"}),
        Ok(v) => {
            let mut e = Envelope::ok(v, now);
            e.ret_msg = match success {
                Success::Ok => "OK",
                Success::Lower | Success::BareLower => "success",
                Success::Empty => "",
            }
            .into();
            if let Some(ext) = ext {
                e.ret_ext_info = ext;
            }
            to_value(e)
        }
        Err(e) => to_value(Envelope::error(e.code, e.msg, now)),
    };
    let mut b = HttpResponse::Ok();
    b.insert_header(("Ret_code", body["retCode"].to_string()));
    b.insert_header(("Timenow", now.to_string()));
    add_budget_headers(&mut b, budget, now);
    b.content_type("application/json; charset=utf-8").json(body)
}

fn add_budget_headers(b: &mut HttpResponseBuilder, budget: Option<Budget>, now: u64) {
    let budget = budget.unwrap_or(Budget {
        limit: 600,
        remaining: 599,
        reset_ms: now,
    });
    b.insert_header(("X-Bapi-Limit", budget.limit.to_string()));
    b.insert_header(("X-Bapi-Limit-Status", budget.remaining.to_string()));
    b.insert_header(("X-Bapi-Limit-Reset-Timestamp", budget.reset_ms.to_string()));
}

/// The answer for a request a rate-limit fault or an exhausted budget refuses.
pub fn rate_limited(budget: Budget) -> HttpResponse {
    respond(Err(ApiError::new(RetCode::RateLimited, "Too many visits!")), None, Some(budget))
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Authenticate, spend the rate budget, then run `f` on the exchange under its lock.
/// `units` tells how much budget the call spends (one per order for batch endpoints).
pub(crate) fn private<F>(state: &AppState, req: &HttpRequest, payload: &str, units: u32, f: F) -> HttpResponse
where
    F: FnOnce(&mut Exchange, usize, u32, u64) -> (Result<Value, ApiError>, Option<Value>),
{
    private_as(Success::Ok, state, req, payload, units, f)
}

fn private_as<F>(success: Success, state: &AppState, req: &HttpRequest, payload: &str, units: u32, f: F) -> HttpResponse
where
    F: FnOnce(&mut Exchange, usize, u32, u64) -> (Result<Value, ApiError>, Option<Value>),
{
    let now = now_ms();
    let input = AuthInput {
        api_key: header(req, "X-BAPI-API-KEY"),
        timestamp: header(req, "X-BAPI-TIMESTAMP"),
        signature: header(req, "X-BAPI-SIGN"),
        recv_window: header(req, "X-BAPI-RECV-WINDOW"),
        payload,
    };
    let mut ex = state.exchange();
    let account = match authenticate(ex.accounts.iter().map(|a| (a.api_key.as_str(), a.secret.as_str())), input, now) {
        Ok(a) => a,
        Err(e) => return respond(Err(e), None, None),
    };
    let (granted, budget) = spend(state, &mut ex, account, req.path(), units, now);
    if granted == 0 {
        return rate_limited(budget);
    }
    if ex.accounts[account].options.read_only && req.method() == actix_web::http::Method::POST {
        return respond(Err(read_only_refusal()), None, Some(budget));
    }
    let (result, ext) = f(&mut ex, account, granted, now);
    respond_as(success, result, ext, Some(budget))
}

/// Spend `units` of the account's `budget_path` window (REST and the trade WebSocket share them);
/// returns how many were granted and what the rate-limit headers say.
pub fn spend(state: &AppState, ex: &mut Exchange, account: usize, budget_path: &str, units: u32, now: u64) -> (u32, Budget) {
    let (granted, budget) =
        state
            .limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .spend(&state.limits, account, budget_path, units.max(1), now);
    let refused = units.max(1) - granted;
    if refused > 0 {
        let a = &mut ex.accounts[account];
        if bybit_v5::limits::budget_of(budget_path) == Some(bybit_v5::limits::Budget::Orders) {
            a.rate_limited_units += refused as u64;
        } else {
            a.rate_limited_reads += refused as u64;
        }
    }
    (granted, budget)
}

/// What a read-only key gets for any write (REST or the trade socket).
pub fn read_only_refusal() -> ApiError {
    ApiError::new(
        RetCode::PermissionDenied,
        "Permission denied, please check your API key permissions.",
    )
}

/// `2026-12-16T10:00:00Z` for a time in ms since the epoch.
fn iso_date(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

pub(crate) fn body_str(body: &web::Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|_| ApiError::param("params error: body is not UTF-8"))
}

pub(crate) fn parse_body<T: DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::param(format!("params error: {e}")))
}

pub(crate) fn require_linear(q: &Query) -> Result<(), ApiError> {
    match q.get("category").map(String::as_str) {
        Some("linear") => Ok(()),
        Some(_) => Err(ApiError::param("params error: the simulator trades category linear only")),
        None => Err(ApiError::param("params error: category is required")),
    }
}

fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("serialisable")
}

// ---------- public market data ----------

pub async fn time() -> HttpResponse {
    let now = now_ms();
    respond(
        Ok(json!({"timeSecond": (now / 1000).to_string(), "timeNano": (now as u128 * 1_000_000).to_string()})),
        None,
        None,
    )
}

pub async fn instruments(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let result = (|| {
        let q = parse_query(req.query_string())?;
        let category = q
            .get("category")
            .ok_or_else(|| ApiError::param("params error: category is required"))?;
        let cat: Category = serde_json::from_value(Value::from(category.as_str()))
            .map_err(|_| ApiError::param(format!("params error: category {category} invalid")))?;
        let ex = state.exchange();
        let list: Vec<Instrument> = if cat != Category::Linear {
            vec![]
        } else {
            ex.markets
                .values()
                .filter(|m| q.get("status").is_none_or(|s| *s == m.status))
                .filter(|m| q.get("symbol").is_none_or(|s| *s == m.spec.symbol))
                .filter(|m| q.get("baseCoin").is_none_or(|b| *b == m.spec.base_coin))
                .map(|m| {
                    let s = &m.spec;
                    Instrument {
                        symbol: s.symbol.clone(),
                        symbol_id: m.symbol_id,
                        contract_type: "LinearPerpetual".into(),
                        status: m.status.clone(),
                        base_coin: s.base_coin.clone(),
                        quote_coin: "USDT".into(),
                        launch_time: s.launch_time.clone(),
                        delivery_time: "0".into(),
                        delivery_fee_rate: String::new(),
                        price_scale: s.price_scale().to_string(),
                        leverage_filter: LeverageFilter {
                            min_leverage: "1".into(),
                            max_leverage: s.max_leverage.clone(),
                            leverage_step: "0.01".into(),
                        },
                        price_filter: PriceFilter {
                            min_price: s.tick_size,
                            max_price: s.fmt_price(s.start_price * Decimal::from(100)),
                            tick_size: s.tick_size,
                        },
                        lot_size_filter: LotSizeFilter {
                            max_order_qty: s.max_qty,
                            max_mkt_order_qty: Some(s.max_mkt_qty),
                            min_order_qty: s.min_qty,
                            qty_step: s.qty_step,
                            post_only_max_order_qty: Some(s.max_qty),
                            min_notional_value: Some(s.min_notional),
                        },
                        unified_margin_trade: true,
                        funding_interval: 480,
                        settle_coin: "USDT".into(),
                        copy_trading: "both".into(),
                        upper_funding_rate: "0.00375".into(),
                        lower_funding_rate: "-0.00375".into(),
                        is_pre_listing: false,
                        pre_listing_info: None,
                        risk_parameters: RiskParameters {
                            price_limit_ratio_x: "0.01".into(),
                            price_limit_ratio_y: "0.02".into(),
                        },
                        symbol_type: String::new(),
                        display_name: s.symbol.clone(),
                        forbid_upl_withdrawal: false,
                    }
                })
                .collect()
        };
        Ok(json!({"category": category, "list": list, "nextPageCursor": ""}))
    })();
    respond(result, None, None)
}

/// The `limit` query parameter: `default` when absent, 1 to `max` otherwise.
fn limit_param(q: &Query, default: usize, max: usize) -> Result<usize, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(l) => l
            .parse()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::param(format!("params error: limit must be in [1, {max}]"))),
    }
}

pub(crate) fn known_symbol(ex: &Exchange, q: &Query) -> Result<String, ApiError> {
    let symbol = q.get("symbol").ok_or_else(|| ApiError::param("params error: symbol is required"))?;
    if ex.markets.contains_key(symbol) {
        Ok(symbol.clone())
    } else {
        Err(ApiError::param(format!("params error: symbol invalid: {symbol}")))
    }
}

pub async fn orderbook(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let result = (|| {
        let q = parse_query(req.query_string())?;
        require_linear(&q)?;
        let ex = state.exchange();
        let symbol = known_symbol(&ex, &q)?;
        let limit = limit_param(&q, 25, 1000)?;
        let (bids, asks) = ex.aggregated(&symbol);
        let m = &ex.markets[&symbol];
        let u = m.feeds.last().map(|f| f.u).unwrap_or(0);
        let now = now_ms();
        Ok(to_value(OrderbookResult {
            s: symbol.clone(),
            b: bids.iter().rev().take(limit).map(|(p, s)| (*p, *s)).collect(),
            a: asks.iter().take(limit).map(|(p, s)| (*p, *s)).collect(),
            ts: now,
            u,
            seq: m.cross_seq,
            cts: now,
        }))
    })();
    respond(result, None, None)
}

/// `/v5/market/recent-trade`: the latest public trades, newest first (§6).
pub async fn recent_trade(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let result = (|| {
        let q = parse_query(req.query_string())?;
        require_linear(&q)?;
        let ex = state.exchange();
        let symbol = known_symbol(&ex, &q)?;
        let limit = limit_param(&q, 500, 1000)?;
        let list: Vec<Value> = ex.markets[&symbol]
            .recent_trades
            .iter()
            .take(limit)
            .map(|t| {
                json!({"execId": t.i, "symbol": t.s, "price": t.p, "size": t.v, "side": t.side, "time": t.time.to_string(),
                       "isBlockTrade": t.block_trade, "isRPITrade": t.rpi, "seq": t.seq.to_string()})
            })
            .collect();
        Ok(json!({"category": "linear", "list": list}))
    })();
    respond(result, None, None)
}

pub async fn tickers(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let result = (|| {
        let q = parse_query(req.query_string())?;
        require_linear(&q)?;
        let ex = state.exchange();
        let symbols: Vec<String> = match q.get("symbol") {
            Some(_) => vec![known_symbol(&ex, &q)?],
            None => ex.markets.keys().cloned().collect(),
        };
        let list: Vec<Value> = symbols.iter().map(|s| to_value(ex.rest_ticker(s))).collect();
        Ok(json!({"category": "linear", "list": list}))
    })();
    respond(result, None, None)
}

// ---------- orders ----------

pub async fn cancel_all(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
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
            state.exchange().finish_cancels(&picked, "CancelByUser", now_ms());
        });
    }
    response
}

/// One of the six order operations over REST: the body is the request object; batches spend a
/// unit per order.
async fn order_endpoint(op: OrderOp, state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
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
fn page(orders: Vec<&SimOrder>, q: &Query, default_limit: usize, view: OrderView) -> Result<Value, ApiError> {
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

fn require_scope(q: &Query) -> Result<(), ApiError> {
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
    private(&state, &req, &raw, 1, |ex, acct, _, _| {
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
                (None, None) => (now_ms().saturating_sub(WEEK_MS), now_ms()),
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

pub async fn positions(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_string();
    private(&state, &req, &raw, 1, |ex, acct, _, _| {
        let r = parse_query(&raw).and_then(|q| {
            require_linear(&q)?;
            let list: Vec<_> = match (q.get("symbol"), q.get("settleCoin")) {
                (Some(_), _) => {
                    let symbol = known_symbol(ex, &q)?;
                    ex.position_rows(acct, &symbol)
                        .iter()
                        .map(|idx| ex.position_view(acct, &symbol, *idx).to_wire(PositionView::Rest))
                        .collect()
                }
                (None, Some(_)) => ex.accounts[acct]
                    .positions
                    .iter()
                    .filter(|(_, p)| !p.size.is_zero())
                    .map(|((s, idx), _)| ex.position_view(acct, s, *idx).to_wire(PositionView::Rest))
                    .collect(),
                (None, None) => return Err(ApiError::param("params error: symbol or settleCoin is required")),
            };
            Ok(json!({"category": "linear", "list": list, "nextPageCursor": ""}))
        });
        (r, None)
    })
}

pub async fn wallet(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_string();
    private(&state, &req, &raw, 1, |ex, acct, _, _| {
        let r = parse_query(&raw).and_then(|q| match q.get("accountType").map(String::as_str) {
            Some("UNIFIED") => Ok(json!({"list": [ex.wallet_view(acct)]})),
            _ => Err(ApiError::param("params error: accountType only support UNIFIED")),
        });
        (r, None)
    })
}

pub async fn fee_rate(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_string();
    private(&state, &req, &raw, 1, |ex, _, _, _| {
        let r = parse_query(&raw).and_then(|q| {
            require_linear(&q)?;
            let symbols: Vec<String> = match q.get("symbol") {
                Some(_) => vec![known_symbol(ex, &q)?],
                None => ex.markets.keys().cloned().collect(),
            };
            let list: Vec<Value> = symbols
                .iter()
                .map(|s| json!({"symbol": s, "takerFeeRate": TAKER_FEE.to_string(), "makerFeeRate": MAKER_FEE.to_string()}))
                .collect();
            Ok(json!({"list": list}))
        });
        (r, None)
    })
}

pub async fn account_info(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_string();
    private(&state, &req, &raw, 1, |ex, acct, _, _| {
        let dcp = ex.accounts[acct].dcp_window_s;
        (
            Ok(
                json!({"unifiedMarginStatus": 5, "marginMode": ex.accounts[acct].options.margin_mode, "isMasterTrader": false, "spotHedgingStatus": "OFF",
                "updatedTime": "0", "dcpStatus": if dcp.is_some() { "ON" } else { "OFF" }, "timeWindow": dcp.unwrap_or(0), "smpGroup": 0}),
            ),
            None,
        )
    })
}

pub async fn query_api(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_string();
    private_as(Success::Empty, &state, &req, &raw, 1, |ex, acct, _, now| {
        let a = &ex.accounts[acct];
        let key = a.api_key.clone();
        let read_only = a.options.read_only;
        let trade: &[&str] = if read_only { &[] } else { &["Order", "Position"] };
        // A key bound to IPs never expires; an unbound one shows its days left (Bybit: 90).
        let (ips, days, expires) = match a.options.key_days_left {
            None => (json!(["127.0.0.1"]), -1, "1970-01-01T00:00:00Z".to_string()),
            Some(d) => (json!(["*"]), d, iso_date(now + d.max(0) as u64 * 86_400_000)),
        };
        (
            Ok(
                json!({"id": acct.to_string(), "note": "bybit-sim", "apiKey": key, "readOnly": u8::from(read_only), "secret": "",
                "permissions": {"ContractTrade": trade, "Derivatives": if read_only { json!([]) } else { json!(["DerivativesTrade"]) }, "Wallet": [], "Spot": [], "Options": []},
                "ips": ips, "type": 1, "deadlineDay": days, "expiredAt": expires, "createdAt": "2025-01-01T00:00:00Z", "uta": 1, "unified": 0,
                "userID": 1_000_000 + acct, "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0,
                "rsaPublicKey": "", "isMaster": true, "parentUid": "0", "kycLevel": "LEVEL_DEFAULT", "kycRegion": ""}),
            ),
            None,
        )
    })
}

pub async fn coin_info(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_string();
    private_as(Success::Lower, &state, &req, &raw, 1, |_, _, _, _| {
        let usdt = json!({"name": "USDT", "coin": "USDT", "remainAmount": "50000000000", "chains": [
            {"chainType": "Ethereum", "confirmation": "6", "withdrawFee": "8", "depositMin": "0", "withdrawMin": "10",
             "chain": "ETH", "chainDeposit": "1", "chainWithdraw": "1", "minAccuracy": "4", "withdrawPercentageFee": "0",
             "contractAddress": "0xdac17f958d2ee523a2206206994597c13d831ec7", "safeConfirmNumber": "65", "withdrawMax": "10000000"}]});
        (Ok(json!({"rows": [usdt]})), None)
    })
}

pub async fn dcp(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let text = match body_str(&body) {
        Ok(t) => t,
        Err(e) => return respond(Err(e), None, None),
    };
    private_as(Success::BareLower, &state, &req, text, 1, |ex, acct, _, _| {
        let r = parse_body::<DcpRequest>(text).and_then(|d| {
            if !(3..=300).contains(&d.time_window) {
                return Err(ApiError::param("params error: timeWindow must be in [3, 300]"));
            }
            match d.product.as_deref() {
                None | Some("DERIVATIVES") | Some("OPTIONS") | Some("SPOT") => {}
                Some(p) => return Err(ApiError::param(format!("params error: product {p} invalid"))),
            }
            // Accepted either way, as Bybit documents no refusal; only an account with DCP
            // enabled is armed (query-dcp-info tells them apart).
            if ex.accounts[acct].options.dcp {
                ex.set_dcp(acct, d.time_window);
            }
            Ok(json!({}))
        });
        (r, None)
    })
}

pub async fn dcp_info(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_string();
    private_as(Success::Lower, &state, &req, &raw, 1, |ex, acct, _, _| {
        let infos: Vec<Value> = ex.accounts[acct]
            .dcp_window_s
            .map(|w| json!({"product": "DERIVATIVES", "dcpStatus": "ON", "timeWindow": w.to_string()}))
            .into_iter()
            .collect();
        (Ok(json!({"dcpInfos": infos})), None)
    })
}

/// Unknown paths: 404 with an envelope, so clients still find a retCode.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let now = now_ms();
    let e = Envelope::error(
        RetCode::RouteNotFound,
        format!("route not found: {} {}", req.method(), req.path()),
        now,
    );
    HttpResponse::build(StatusCode::NOT_FOUND).json(e)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    for op in [
        OrderOp::Create,
        OrderOp::Amend,
        OrderOp::Cancel,
        OrderOp::CreateBatch,
        OrderOp::AmendBatch,
        OrderOp::CancelBatch,
    ] {
        cfg.route(
            op.path(),
            web::post().to(move |state: web::Data<AppState>, req: HttpRequest, body: web::Bytes| order_endpoint(op, state, req, body)),
        );
    }
    cfg.route(path::TIME, web::get().to(time))
        .route(path::INSTRUMENTS, web::get().to(instruments))
        .route(path::ORDERBOOK, web::get().to(orderbook))
        .route(path::TICKERS, web::get().to(tickers))
        .route(path::RECENT_TRADE, web::get().to(recent_trade))
        .route(path::ORDER_CANCEL_ALL, web::post().to(cancel_all))
        .route(path::ORDER_REALTIME, web::get().to(realtime))
        .route(path::ORDER_HISTORY, web::get().to(history))
        .route(path::EXECUTION_LIST, web::get().to(executions))
        .route(path::POSITION_LIST, web::get().to(positions))
        .route(path::WALLET_BALANCE, web::get().to(wallet))
        .route(path::FEE_RATE, web::get().to(fee_rate))
        .route(path::ACCOUNT_INFO, web::get().to(account_info))
        .route(path::QUERY_API, web::get().to(query_api))
        .route(path::COIN_INFO, web::get().to(coin_info))
        .route(path::DCP, web::post().to(dcp))
        .route(path::DCP_INFO, web::get().to(dcp_info))
        .route(path::SWITCH_MODE, web::post().to(crate::rest_position::switch_mode))
        .route(path::TRADING_STOP, web::post().to(crate::rest_position::trading_stop))
        .route(path::SET_LEVERAGE, web::post().to(crate::rest_position::set_leverage));
}
