//! `/sim/`: the simulator's own control routes (no auth; loopback only): faults at run time,
//! dropping WebSocket connections, refusing connections for a while, forcing a market trade,
//! and counters that tests and benchmarks read.

pub mod account;
mod market;

use actix_web::{web, HttpResponse};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use bybit_v5::Side;

use crate::exchange::now_ms;
use crate::faults::Faults;
use crate::server::state::{AppState, Control};

async fn get_faults(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.faults())
}

async fn put_faults(state: web::Data<AppState>, body: web::Json<Faults>) -> HttpResponse {
    *state.faults.write().unwrap_or_else(|e| e.into_inner()) = body.into_inner();
    log::info!("faults set: {:?}", state.faults());
    HttpResponse::Ok().json(state.faults())
}

async fn clear_faults(state: web::Data<AppState>) -> HttpResponse {
    *state.faults.write().unwrap_or_else(|e| e.into_inner()) = Faults::default();
    HttpResponse::Ok().json(state.faults())
}

async fn drop_ws(state: web::Data<AppState>) -> HttpResponse {
    let n = state.ws_kill.send(()).unwrap_or(0);
    log::info!("dropping {n} WebSocket connections");
    HttpResponse::Ok().json(json!({"dropped": n}))
}

#[derive(Deserialize)]
struct RefuseQuery {
    ms: u64,
}

async fn refuse(state: web::Data<AppState>, q: web::Query<RefuseQuery>) -> HttpResponse {
    let _ = state.control.send(Control::Refuse(q.ms));
    HttpResponse::Ok().json(json!({"refusing_ms": q.ms}))
}

#[derive(Deserialize)]
struct TradeRequest {
    symbol: String,
    side: Side,
    qty: Decimal,
}

async fn trade(state: web::Data<AppState>, body: web::Json<TradeRequest>) -> HttpResponse {
    let mut ex = state.exchange();
    if !ex.markets.contains_key(&body.symbol) {
        return HttpResponse::BadRequest().json(json!({"error": format!("unknown symbol {}", body.symbol)}));
    }
    if ex.source.is_real() {
        return HttpResponse::Conflict().json(json!({"error": "a real market trades by its source"}));
    }
    let now = now_ms();
    let filled = ex.market_trade(&body.symbol, body.side, body.qty, now);
    let symbol = body.symbol.clone();
    ex.publish_book(&symbol, now);
    HttpResponse::Ok().json(json!({"filled": filled}))
}

#[derive(Deserialize)]
struct Shock {
    symbol: String,
    bps: f64,
}

/// Jump the mid by `bps` (negative: down), filling resting orders the market jumps over.
async fn shock(state: web::Data<AppState>, body: web::Json<Shock>) -> HttpResponse {
    let mut ex = state.exchange();
    if !ex.markets.contains_key(&body.symbol) {
        return HttpResponse::BadRequest().json(json!({"error": format!("unknown symbol {}", body.symbol)}));
    }
    if ex.source.is_real() {
        return HttpResponse::Conflict().json(json!({"error": "a real market moves by its source, not by a shock"}));
    }
    ex.shock(&body.symbol, body.bps, now_ms());
    HttpResponse::Ok().json(json!({"mid": ex.markets[&body.symbol].mid}))
}

#[derive(Deserialize)]
struct Inject {
    text: String,
    /// Send it on this account's private stream instead, as a push of `topic` (order,
    /// execution, position, wallet).
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    topic: Option<String>,
}

/// Send a raw text frame (malformed, unknown topic, out-of-order ids, odd items...) to every
/// public connection, or to one account's private connections.
async fn inject(state: web::Data<AppState>, body: web::Json<Inject>) -> HttpResponse {
    let ex = state.exchange();
    if let Some(key) = &body.api_key {
        let Some(account) = ex.account_by_key(key) else {
            return HttpResponse::BadRequest().json(json!({"error": "unknown api_key"}));
        };
        let topic: &'static str = match body.topic.as_deref() {
            Some("order") => "order",
            Some("execution") => "execution",
            Some("position") => "position",
            Some("wallet") => "wallet",
            other => {
                return HttpResponse::BadRequest().json(json!({"error": format!("topic {other:?}: order, execution, position or wallet")}))
            }
        };
        let n = ex.accounts[account]
            .tx
            .send(crate::exchange::PrivateEvent {
                topic,
                text: body.text.clone().into(),
            })
            .unwrap_or(0);
        return HttpResponse::Ok().json(json!({"receivers": n}));
    }
    let n: usize = ex
        .public_tx
        .send(crate::exchange::PublicEvent {
            topic: crate::api::ws::public::INJECTED.into(),
            u: None,
            text: body.text.clone().into(),
            visible_at: None,
        })
        .unwrap_or(0);
    HttpResponse::Ok().json(json!({"receivers": n}))
}

/// The best bid and ask among one account's open orders, per symbol.
fn account_quotes(ex: &crate::exchange::Exchange, account: usize) -> serde_json::Map<String, serde_json::Value> {
    let mut best: std::collections::BTreeMap<&str, (Option<Decimal>, Option<Decimal>)> = Default::default();
    for o in ex.open_orders(account) {
        let e = best.entry(o.info.symbol.as_str()).or_default();
        match o.info.side {
            Side::Buy => e.0 = Some(e.0.map_or(o.info.price, |b| b.max(o.info.price))),
            Side::Sell => e.1 = Some(e.1.map_or(o.info.price, |a| a.min(o.info.price))),
        }
    }
    best.into_iter()
        .map(|(s, (bid, ask))| (s.to_string(), json!({"bid": bid, "ask": ask})))
        .collect()
}

async fn stats(state: web::Data<AppState>) -> HttpResponse {
    let ex = state.exchange();
    let accounts: Vec<_> = ex
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            json!({"api_key": a.api_key, "open_orders": ex.open_orders(i).len(), "dcp_window_s": a.dcp_window_s,
                   "dcp_connections": a.dcp_connections, "dcp_fired": a.dcp_fired, "flat_at_us": a.flat_at_us,
                   "rate_limited_units": a.rate_limited_units, "rate_limited_reads": a.rate_limited_reads, "amends_unchanged": a.amends_unchanged,
                   "quotes": account_quotes(&ex, i)})
        })
        .collect();
    let markets: serde_json::Map<String, serde_json::Value> = ex
        .markets
        .iter()
        .map(|(s, m)| (s.clone(), json!({"mid": m.mid, "last": m.last_price})))
        .collect();
    let stats = state.stats.lock().unwrap_or_else(|e| e.into_inner());
    HttpResponse::Ok().json(json!({"requests": stats.requests, "ip_banned": stats.ip_banned, "accounts": accounts, "markets": markets}))
}

#[derive(Deserialize)]
struct RecentQuery {
    #[serde(default)]
    since_us: u64,
}

#[derive(serde::Deserialize)]
struct OrdersQuery {
    /// Only orders whose orderLinkId starts with this.
    #[serde(default)]
    prefix: String,
}

/// Every order the exchange still remembers (open, and closed up to the history's cap), with
/// when it rested: for tests that judge from the exchange's own log whether orders of two
/// runs ever rested together.
async fn orders(state: web::Data<AppState>, q: web::Query<OrdersQuery>) -> HttpResponse {
    let ex = state.exchange();
    let list: Vec<_> = ex
        .closed
        .iter()
        .chain(ex.orders.values())
        .filter(|o| o.info.order_link_id.starts_with(&q.prefix))
        .map(|o| {
            json!({"order_link_id": o.info.order_link_id, "symbol": o.info.symbol, "side": o.info.side, "price": o.info.price, "status": o.info.order_status,
                   "api_key": ex.accounts[o.account].api_key,
                   "opened_us": o.opened.0, "opened_event": o.opened.1,
                   "closed_us": o.closed.map(|c| c.0), "closed_event": o.closed.map(|c| c.1)})
        })
        .collect();
    HttpResponse::Ok().json(list)
}

async fn requests(state: web::Data<AppState>, q: web::Query<RecentQuery>) -> HttpResponse {
    let stats = state.stats.lock().unwrap_or_else(|e| e.into_inner());
    let list: Vec<_> = stats.recent.iter().filter(|r| r.at_us >= q.since_us).collect();
    HttpResponse::Ok().json(list)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/sim")
            .route("/faults", web::get().to(get_faults))
            .route("/faults", web::put().to(put_faults))
            .route("/faults", web::post().to(put_faults))
            .route("/faults", web::delete().to(clear_faults))
            .route("/ws/drop", web::post().to(drop_ws))
            .route("/ws/inject", web::post().to(inject))
            .route("/refuse", web::post().to(refuse))
            .route("/trade", web::post().to(trade))
            .route("/market", web::post().to(market::pause))
            .route("/market", web::get().to(market::status))
            .route("/shock", web::post().to(shock))
            .route("/stats", web::get().to(stats))
            .route("/orders", web::get().to(orders))
            .route("/requests", web::get().to(requests)),
    );
}
