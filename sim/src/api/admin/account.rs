//! `/sim/` routes that put an account or an instrument in the states a real one can be in:
//! a wallet topped up or drained, a key turned read-only, DCP switched off, an instrument that
//! stops trading.

use actix_web::{web, HttpResponse};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use crate::account::options::AccountOptions;
use crate::exchange::now_ms;
use crate::server::state::AppState;

#[derive(Deserialize)]
struct Wallet {
    api_key: String,
    wallet_balance: Decimal,
}

/// Set an account's USDT wallet balance (a deposit, a transfer to the Funding wallet).
async fn wallet(state: web::Data<AppState>, body: web::Json<Wallet>) -> HttpResponse {
    let mut ex = state.exchange();
    let Some(account) = ex.account_by_key(&body.api_key) else {
        return HttpResponse::BadRequest().json(json!({"error": "unknown api_key"}));
    };
    ex.accounts[account].wallet_balance = body.wallet_balance;
    let view = ex.wallet_view(account);
    ex.send_private(account, "wallet", vec![view.clone()], now_ms());
    log::info!("account {account}: wallet balance set to {}", body.wallet_balance);
    HttpResponse::Ok().json(view)
}

#[derive(Deserialize)]
struct AccountSetup {
    api_key: String,
    #[serde(flatten)]
    options: AccountOptions,
}

/// Replace an account's options at run time (hedge mode is left as it is: switch-mode sets it).
async fn account(state: web::Data<AppState>, body: web::Json<AccountSetup>) -> HttpResponse {
    let mut ex = state.exchange();
    let Some(account) = ex.account_by_key(&body.api_key) else {
        return HttpResponse::BadRequest().json(json!({"error": "unknown api_key"}));
    };
    ex.accounts[account].options = AccountOptions {
        hedge: ex.accounts[account].options.hedge,
        ..body.options.clone()
    };
    if !body.options.dcp {
        ex.accounts[account].dcp_window_s = None;
    }
    HttpResponse::Ok().json(&ex.accounts[account].options)
}

#[derive(Deserialize)]
struct InstrumentStatus {
    symbol: String,
    status: String,
}

/// Change an instrument's status (`Trading`, `Settling`, `Closed`, …): creates are refused while
/// it is not trading, and instruments-info shows it.
async fn instrument(state: web::Data<AppState>, body: web::Json<InstrumentStatus>) -> HttpResponse {
    let mut ex = state.exchange();
    let Some(m) = ex.markets.get_mut(&body.symbol) else {
        return HttpResponse::BadRequest().json(json!({"error": format!("unknown symbol {}", body.symbol)}));
    };
    m.status = body.status.clone();
    log::info!("{} status now {}", body.symbol, body.status);
    HttpResponse::Ok().json(json!({"symbol": body.symbol, "status": body.status}))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sim/wallet", web::post().to(wallet))
        .route("/sim/account", web::post().to(account))
        .route("/sim/instrument", web::post().to(instrument));
}
