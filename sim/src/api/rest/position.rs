//! `/v5/position/switch-mode` and `/v5/position/set-leverage`: the account settings a market
//! maker checks or sets before it quotes; `/v5/position/trading-stop`: the operator's
//! take-profit and stop-loss on a position.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use bybit_v5::rest::{SetLeverage, SwitchMode, TradingStop};
use bybit_v5::Category;

use crate::api::rest::{body_str, parse_body, private, respond};
use crate::error::ApiError;
use crate::server::state::AppState;

fn linear_symbol(ex: &crate::exchange::Exchange, category: Category, symbol: &str) -> Result<(), ApiError> {
    if category != Category::Linear {
        return Err(ApiError::param("params error: the simulator trades linear contracts only"));
    }
    if !ex.markets.contains_key(symbol) {
        return Err(ApiError::param(format!("params error: symbol {symbol} invalid")));
    }
    Ok(())
}

pub async fn switch_mode(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let text = match body_str(&body) {
        Ok(t) => t,
        Err(e) => return respond(Err(e), None, None),
    };
    private(&state, &req, text, 1, |ex, acct, _, _| {
        let r = parse_body::<SwitchMode>(text).and_then(|m| {
            linear_symbol(ex, m.category, &m.symbol)?;
            ex.switch_mode(acct, &m.symbol, m.mode)?;
            log::info!("account {acct}: {} now in mode {}", m.symbol, m.mode);
            Ok(json!({}))
        });
        (r, None)
    })
}

pub async fn set_leverage(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let text = match body_str(&body) {
        Ok(t) => t,
        Err(e) => return respond(Err(e), None, None),
    };
    private(&state, &req, text, 1, |ex, acct, _, _| {
        let r = parse_body::<SetLeverage>(text).and_then(|l| {
            linear_symbol(ex, l.category, &l.symbol)?;
            ex.set_leverage(acct, &l.symbol, l.buy_leverage, l.sell_leverage)?;
            Ok(json!({}))
        });
        (r, None)
    })
}

pub async fn trading_stop(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let text = match body_str(&body) {
        Ok(t) => t,
        Err(e) => return respond(Err(e), None, None),
    };
    private(&state, &req, text, 1, |ex, acct, _, now| {
        let r = parse_body::<TradingStop>(text).and_then(|t| {
            linear_symbol(ex, t.category.unwrap_or(Category::Linear), &t.symbol)?;
            ex.set_trading_stop(acct, &t, now)?;
            Ok(json!({}))
        });
        (r, None)
    })
}
