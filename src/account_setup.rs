//! What the start changes on the account before the preflight judges it, when `[account]`
//! allows it: a hedge-mode symbol with no position switched to one-way, the configured
//! leverage set. Each change is one request with its reason in the log; nothing is retried.

use anyhow::{bail, Context};

use bybit_v5::model::Category;
use bybit_v5::rest::{path, SetLeverage, SwitchMode};
use mmbot_actors::exchange::rest_client::{Admission, RestClient, RestError};

use crate::config::{AccountSettings, PositionMode};
use crate::preflight::position_mode::{holds_position, is_hedge};

/// Bybit: "leverage not modified" — the leverage already is what was asked.
const LEVERAGE_NOT_MODIFIED: i64 = 110043;
/// Bybit: "position mode is not modified".
const MODE_NOT_MODIFIED: i64 = 110025;

pub async fn apply(client: &RestClient, account: &AccountSettings, symbols: &[String]) -> anyhow::Result<()> {
    for symbol in symbols {
        if account.position_mode == Some(PositionMode::OneWay) {
            to_one_way(client, symbol).await?;
        }
        if let Some(leverage) = account.leverage {
            set_leverage(client, symbol, leverage).await?;
        }
    }
    Ok(())
}

async fn to_one_way(client: &RestClient, symbol: &str) -> anyhow::Result<()> {
    let positions = client
        .get(path::POSITION_LIST, &format!("category=linear&symbol={symbol}"))
        .await
        .with_context(|| format!("reading {symbol}'s position mode"))?;
    // A position open in hedge mode cannot be switched: the preflight blocks with the fix.
    if !is_hedge(&positions.result, symbol) || holds_position(&positions.result, symbol) {
        return Ok(());
    }
    let body = serde_json::to_string(&SwitchMode {
        category: Category::Linear,
        symbol: symbol.to_string(),
        mode: 0,
    })?;
    match client.post(path::SWITCH_MODE, body, Admission::Ask(1)).await {
        Ok(_) => {
            log::warn!(symbol = symbol; "{symbol} was in hedge mode: switched to one-way (account.position_mode = \"one-way\")");
            Ok(())
        }
        Err(RestError::Exchange { code, .. }) if code.code() == MODE_NOT_MODIFIED => Ok(()),
        Err(e) => bail!("switching {symbol} to one-way (/v5/position/switch-mode) was refused: {e}; switch it by hand (Bybit: Trade → Settings → Position Mode)"),
    }
}

async fn set_leverage(client: &RestClient, symbol: &str, leverage: rust_decimal::Decimal) -> anyhow::Result<()> {
    let body = serde_json::to_string(&SetLeverage {
        category: Category::Linear,
        symbol: symbol.to_string(),
        buy_leverage: leverage,
        sell_leverage: leverage,
    })?;
    match client.post(path::SET_LEVERAGE, body, Admission::Ask(1)).await {
        Ok(_) => {
            log::info!(symbol = symbol; "{symbol}: leverage set to {leverage}× (account.leverage)");
            Ok(())
        }
        Err(RestError::Exchange { code, .. }) if code.code() == LEVERAGE_NOT_MODIFIED => Ok(()),
        Err(e) => bail!("setting {symbol}'s leverage to {leverage}× (/v5/position/set-leverage) was refused: {e}"),
    }
}
