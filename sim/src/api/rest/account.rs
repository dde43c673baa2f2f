//! The account: positions, wallet, fee rates, account and key info, DCP.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use bybit_v5::rest::{DcpRequest, PositionView};

use super::market::iso_date;
use super::*;
use crate::error::ApiError;
use crate::server::state::AppState;

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
                .map(|s| {
                    let spec = &ex.markets[s].spec;
                    json!({"symbol": s, "takerFeeRate": spec.taker_fee.to_string(), "makerFeeRate": spec.maker_fee.to_string()})
                })
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
