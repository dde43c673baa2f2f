//! The REST API: Bybit V5 paths, the envelope, authentication, rate limits and their headers.
//! Handlers translate wire requests into `Exchange` calls and never panic on bad input.

mod account;
pub mod auth;
mod market;
mod orders;
pub mod position;
pub mod rate_limit;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use bybit_v5::envelope::Envelope;
use bybit_v5::rest::path;
use bybit_v5::RetCode;

use crate::api::rest::auth::{authenticate, AuthInput};
use crate::api::rest::rate_limit::Budget;
use crate::error::ApiError;
use crate::exchange::{now_ms, Exchange};
use crate::matching::order_ops::OrderOp;
use crate::server::state::AppState;

pub(crate) type Query = HashMap<String, String>;

pub(crate) fn parse_query(raw: &str) -> Result<Query, ApiError> {
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
pub(crate) enum Success {
    Ok,
    Lower,
    Empty,
    BareLower,
}

pub(crate) fn respond_as(success: Success, result: Result<Value, ApiError>, ext: Option<Value>, budget: Option<Budget>) -> HttpResponse {
    respond_at(success, result, ext, budget, now_ms())
}

/// An answer whose envelope `time` is `stamp`: the exchange's clock (a replay's is the
/// recording's); the `Timenow` and rate-limit headers stay on the wall clock.
pub(crate) fn respond_at(
    success: Success,
    result: Result<Value, ApiError>,
    ext: Option<Value>,
    budget: Option<Budget>,
    stamp: u64,
) -> HttpResponse {
    let now = now_ms();
    let body = match result {
        Ok(_) if success == Success::BareLower => json!({"retCode": 0, "retMsg": "success"}),
        Ok(v) => {
            let mut e = Envelope::ok(v, stamp);
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
        Err(e) => to_value(Envelope::error(e.code, e.msg, stamp)),
    };
    let mut b = HttpResponse::Ok();
    b.insert_header(("Ret_code", body["retCode"].to_string()));
    b.insert_header(("Timenow", now.to_string()));
    add_budget_headers(&mut b, budget, now);
    b.content_type("application/json; charset=utf-8").json(body)
}

pub(crate) fn add_budget_headers(b: &mut HttpResponseBuilder, budget: Option<Budget>, now: u64) {
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

pub(crate) fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
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

pub(crate) fn private_as<F>(success: Success, state: &AppState, req: &HttpRequest, payload: &str, units: u32, f: F) -> HttpResponse
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
    // Signatures and budgets run on the wall clock; what the exchange does, on its own.
    let stamp = ex.now();
    let (result, ext) = f(&mut ex, account, granted, stamp);
    respond_at(success, result, ext, Some(budget), stamp)
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

pub(crate) fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("serialisable")
}

// ---------- public market data ----------

pub(crate) fn known_symbol(ex: &Exchange, q: &Query) -> Result<String, ApiError> {
    let symbol = q.get("symbol").ok_or_else(|| ApiError::param("params error: symbol is required"))?;
    if ex.markets.contains_key(symbol) {
        Ok(symbol.clone())
    } else {
        Err(ApiError::param(format!("params error: symbol invalid: {symbol}")))
    }
}

// ---------- orders ----------

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
            web::post()
                .to(move |state: web::Data<AppState>, req: HttpRequest, body: web::Bytes| orders::order_endpoint(op, state, req, body)),
        );
    }
    cfg.route(path::TIME, web::get().to(market::time))
        .route(path::INSTRUMENTS, web::get().to(market::instruments))
        .route(path::ORDERBOOK, web::get().to(market::orderbook))
        .route(path::TICKERS, web::get().to(market::tickers))
        .route(path::RECENT_TRADE, web::get().to(market::recent_trade))
        .route(path::ORDER_CANCEL_ALL, web::post().to(orders::cancel_all))
        .route(path::ORDER_REALTIME, web::get().to(orders::realtime))
        .route(path::ORDER_HISTORY, web::get().to(orders::history))
        .route(path::EXECUTION_LIST, web::get().to(orders::executions))
        .route(path::POSITION_LIST, web::get().to(account::positions))
        .route(path::WALLET_BALANCE, web::get().to(account::wallet))
        .route(path::FEE_RATE, web::get().to(account::fee_rate))
        .route(path::ACCOUNT_INFO, web::get().to(account::account_info))
        .route(path::QUERY_API, web::get().to(account::query_api))
        .route(path::COIN_INFO, web::get().to(account::coin_info))
        .route(path::DCP, web::post().to(account::dcp))
        .route(path::DCP_INFO, web::get().to(account::dcp_info))
        .route(path::SWITCH_MODE, web::post().to(crate::api::rest::position::switch_mode))
        .route(path::TRADING_STOP, web::post().to(crate::api::rest::position::trading_stop))
        .route(path::SET_LEVERAGE, web::post().to(crate::api::rest::position::set_leverage));
}
