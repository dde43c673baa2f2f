//! Public market data: server time, instruments, the order book, recent trades, tickers.

use actix_web::{web, HttpRequest, HttpResponse};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use bybit_v5::rest::{Instrument, LeverageFilter, LotSizeFilter, OrderbookResult, PriceFilter, RiskParameters};
use bybit_v5::Category;

use super::*;
use crate::error::ApiError;
use crate::exchange::now_ms;
use crate::server::state::AppState;

/// `2026-12-16T10:00:00Z` for a time in ms since the epoch.
pub(crate) fn iso_date(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

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
pub(crate) fn limit_param(q: &Query, default: usize, max: usize) -> Result<usize, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(l) => l
            .parse()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::param(format!("params error: limit must be in [1, {max}]"))),
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
        let now = ex.now();
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
