//! The account as the exchange knows it, checked before the first order: the key (read-only,
//! trade permission, expiry), the account (unified, margin mode), per symbol the instrument,
//! position mode, leverage, order size and fees, the margin full quotes need, and (for
//! `check-account`) the dead-man switch. Each check is one row — a line in the startup log, a
//! row in `/status.account` and the dashboard; a blocker stops the start (and makes
//! `check-account` exit 1) with the fix in its words, so a misconfigured account never reaches
//! a loop of refusals.

mod account;
mod dcp;
mod fees;
mod instrument;
mod key;
pub mod position_mode;
mod sizing;

pub use dcp::dcp_row;

use rust_decimal::Decimal;

use bybit_v5::rest::path;
use mmbot_actors::exchange::rest_client::{RestClient, RestError};
use mmbot_actors::market::quoting::{BelowMinimum, Filters, QuoteParams};
use mmbot_actors::messages::status::AccountCheck;

use account::account_rows;
use fees::fee_row;
use instrument::instrument_row;
use key::key_rows;
use position_mode::position_mode_row;
use sizing::{full_quotes_notional, leverage_of, leverage_row, margin_row, size_row};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warn,
    Blocker,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "WARN",
            Verdict::Blocker => "BLOCKER",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub check: String,
    pub verdict: Verdict,
    pub detail: String,
}

impl Row {
    pub fn warn(check: impl Into<String>, detail: impl Into<String>) -> Row {
        row(check, Verdict::Warn, detail)
    }

    pub fn to_status(&self) -> AccountCheck {
        AccountCheck {
            check: self.check.clone(),
            verdict: self.verdict.as_str().to_string(),
            detail: self.detail.clone(),
        }
    }
}

/// What the checks measure the account against: the configuration's symbols and limits.
pub struct Plan {
    pub symbols: Vec<SymbolPlan>,
    pub max_position_notional: Decimal,
    /// `account.position_mode = "one-way"`: the start may switch a hedge-mode symbol.
    pub switch_to_one_way: bool,
    pub below_minimum: BelowMinimum,
    /// Read the dead-man switch's state (`check-account`; the start confirms it after arming).
    pub dcp: Option<DcpPlan>,
}

pub struct SymbolPlan {
    pub symbol: String,
    pub params: QuoteParams,
    pub filters: Filters,
}

pub struct DcpPlan {
    pub window_s: u32,
    pub scope_own: bool,
}

fn row(check: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Row {
    Row {
        check: check.into(),
        verdict,
        detail: detail.into(),
    }
}

/// Run every check against the exchange. A read that fails is a blocker naming the read.
pub async fn run(client: &RestClient, plan: &Plan) -> Vec<Row> {
    let read = |what: &str, e: RestError| row(what, Verdict::Blocker, format!("could not read it: {e}"));
    let mut rows = match client.get(path::QUERY_API, "").await {
        Ok(a) => key_rows(&a.result),
        Err(e) => vec![read("key", e)],
    };
    rows.extend(match client.get(path::ACCOUNT_INFO, "").await {
        Ok(a) => account_rows(&a.result),
        Err(e) => vec![read("account", e)],
    });
    let fees = client.get(path::FEE_RATE, "category=linear").await;
    let mut need = Some(Decimal::ZERO);
    for s in &plan.symbols {
        let symbol = s.symbol.as_str();
        match client
            .public_get(path::INSTRUMENTS, &format!("category=linear&symbol={symbol}"))
            .await
        {
            Ok(a) => rows.push(instrument_row(symbol, &a.result)),
            Err(e) => rows.push(read(&format!("instrument {symbol}"), e)),
        }
        let positions = client.get(path::POSITION_LIST, &format!("category=linear&symbol={symbol}")).await;
        match &positions {
            Ok(a) => rows.push(position_mode_row(symbol, &a.result, plan.switch_to_one_way)),
            Err(e) => rows.push(read(&format!("position mode {symbol}"), e.clone())),
        }
        // A public read (IP budget only): the last price sizes and margin are judged at.
        // Without it the size, leverage and margin rows cannot be judged: a blocker, not a
        // silence.
        let price = match client.public_get(path::TICKERS, &format!("category=linear&symbol={symbol}")).await {
            Ok(a) => {
                let last = a.result["list"][0]["lastPrice"].as_str().and_then(|p| p.parse::<Decimal>().ok());
                let last = last.filter(|p| *p > Decimal::ZERO);
                if last.is_none() {
                    rows.push(row(
                        format!("price {symbol}"),
                        Verdict::Blocker,
                        "the tickers answer has no last price: order size, leverage and margin cannot be judged",
                    ));
                }
                last
            }
            Err(e) => {
                rows.push(read(&format!("price {symbol}"), e));
                None
            }
        };
        let leverage = positions.as_ref().ok().and_then(|a| leverage_of(&a.result, symbol));
        match (price, leverage) {
            (Some(price), Some(leverage)) => {
                rows.push(size_row(symbol, s.params.order_notional, &s.filters, price, plan.below_minimum));
                let quotes = full_quotes_notional(&s.params, &s.filters, price);
                rows.push(leverage_row(symbol, leverage, quotes, plan.max_position_notional));
                need = need.map(|n| n + (quotes + plan.max_position_notional) / leverage);
            }
            (Some(price), None) => {
                rows.push(size_row(symbol, s.params.order_notional, &s.filters, price, plan.below_minimum));
                need = None;
            }
            _ => need = None,
        }
        if let Ok(f) = &fees {
            rows.push(fee_row(symbol, &f.result, s.params.spread_bps));
        }
    }
    if let Err(e) = fees {
        rows.push(row("fees", Verdict::Warn, format!("could not read the fee rates: {e}")));
    }
    if let Some(need) = need {
        match client.get(path::WALLET_BALANCE, "accountType=UNIFIED").await {
            Ok(a) => {
                let available = a.result["list"][0]["totalAvailableBalance"]
                    .as_str()
                    .and_then(|v| v.parse::<Decimal>().ok());
                rows.push(margin_row(need, available.unwrap_or_default()));
            }
            Err(e) => rows.push(read("margin", e)),
        }
    }
    if let Some(d) = &plan.dcp {
        match client.get(path::DCP_INFO, "").await {
            Ok(a) => rows.push(dcp_row(&a.result, d.window_s, d.scope_own)),
            Err(e) => rows.push(row("dead-man switch", Verdict::Warn, format!("could not read query-dcp-info: {e}"))),
        }
    }
    rows
}

/// The table `check-account` prints and the start logs.
pub fn table(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.check.len()).max().unwrap_or(0);
    rows.iter()
        .map(|r| format!("{:<7} {:<width$}  {}\n", r.verdict.as_str(), r.check, r.detail))
        .collect()
}

pub fn blockers(rows: &[Row]) -> Vec<&Row> {
    rows.iter().filter(|r| r.verdict == Verdict::Blocker).collect()
}
