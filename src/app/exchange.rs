//! The exchange a run talks to (the embedded simulator or the configured URLs) and what must be
//! true of it before quoting: reachable, the symbols listed with their filters, the credentials
//! accepted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use rust_decimal::Decimal;

use bybit_sim::market::source::{FeedLatency, MarketSource};
use bybit_sim::SimHandle;
use bybit_v5::rest::{path, Instrument};
use fill_model::QueueModel;
use mmbot_actors::budget::rate_governor::Governor;
use mmbot_actors::exchange::rest_client::{RestClient, RestError, RestSettings};
use mmbot_actors::exchange::secret::Secret;
use mmbot_actors::market::quoting::Filters;
use mmbot_actors::orders::link_id::new_run_id;
use mmbot_actors::telemetry::metrics::Metrics;

use crate::config::{Config, Mode};

pub(super) struct Exchange {
    pub(super) rest_url: String,
    pub(super) ws_public_url: String,
    pub(super) ws_private_url: String,
    pub(super) ws_trade_url: String,
    pub(super) api_key: String,
    pub(super) api_secret: Secret,
    pub(super) sim: Option<SimHandle>,
}

pub(super) fn resolve_exchange(c: &Config) -> anyhow::Result<Exchange> {
    let e = &c.exchange;
    if c.mode != Mode::Live && e.rest_url.is_empty() {
        let key = format!("paper-{}", new_run_id());
        let secret = format!("{}{}", new_run_id(), new_run_id());
        // The embedded exchange lists exactly the configured symbols, from its instrument table.
        let mut sim = bybit_sim::SimConfig {
            accounts: vec![(key.clone(), secret.clone())],
            seed: c.paper.seed,
            ..Default::default()
        }
        .with_symbols(&c.symbols)
        .map_err(anyhow::Error::msg)?;
        sim.market.volatility_bps = c.paper.volatility_bps;
        sim.market.trade_probability = c.paper.trade_probability;
        sim.limits.orders_per_sec = c.paper.order_rate_limit;
        paper_market(c, &mut sim)?;
        let market = match &sim.source {
            MarketSource::Replay { files, speed } => format!("replaying {} recording(s) at {speed}x", files.len()),
            MarketSource::Mirror { ws_url, .. } => format!("mirroring {ws_url}"),
            MarketSource::Synthetic => "a synthetic random-walk market".into(),
        };
        let handle = bybit_sim::spawn(sim).context("starting the embedded bybit-sim")?;
        log::info!("paper trading on the embedded bybit-sim at {}: {market}", handle.rest_url());
        return Ok(Exchange {
            rest_url: handle.rest_url(),
            ws_public_url: handle.ws_public_url(),
            ws_private_url: handle.ws_private_url(),
            ws_trade_url: handle.ws_trade_url(),
            api_key: key,
            api_secret: Secret::new(secret),
            sim: Some(handle),
        });
    }
    Ok(Exchange {
        rest_url: e.rest_url.trim_end_matches('/').to_string(),
        ws_public_url: e.ws_public_url.clone(),
        ws_private_url: e.ws_private_url.clone(),
        ws_trade_url: e.ws_trade_url.clone(),
        api_key: e.api_key.clone(),
        api_secret: Secret::new(e.api_secret.clone()),
        sim: None,
    })
}

/// The embedded exchange's market: the random walk, a replay, or a mirror (`[paper] market`).
fn paper_market(c: &Config, sim: &mut bybit_sim::SimConfig) -> anyhow::Result<()> {
    let p = &c.paper;
    sim.source = match p.market.as_str() {
        "replay" => {
            let found = bybit_sim::market::replay::symbols_in(&p.replay_files).context("reading [paper] replay_files")?;
            if let Some(missing) = c.symbols.iter().find(|s| !found.contains(s)) {
                bail!(
                    "[paper] replay_files hold no market data for {missing} (they hold {})",
                    found.join(", ")
                );
            }
            MarketSource::Replay {
                files: p.replay_files.clone(),
                speed: p.replay_speed,
            }
        }
        "mirror" => MarketSource::Mirror {
            ws_url: p.mirror_url.clone(),
            rest_url: Some(p.mirror_rest_url.clone()).filter(|u| !u.is_empty()),
        },
        _ => MarketSource::Synthetic,
    };
    sim.queue_model = QueueModel::parse(&p.queue_model).context("[paper] queue_model")?;
    sim.feed_latency = FeedLatency::parse(&p.feed_latency_ms.as_arg()).map_err(anyhow::Error::msg)?;
    sim.order_latency = Duration::from_millis(p.order_latency_ms);
    Ok(())
}

pub(super) async fn load_filters(client: &RestClient, symbols: &[String]) -> anyhow::Result<HashMap<String, Filters>> {
    let mut out = HashMap::new();
    for s in symbols {
        let a = client
            .public_get(path::INSTRUMENTS, &format!("category=linear&symbol={s}"))
            .await
            .with_context(|| format!("instruments-info for {s}"))?;
        let list: Vec<Instrument> = serde_json::from_value(a.result["list"].clone()).context("decoding instruments-info")?;
        let Some(i) = list.into_iter().find(|i| &i.symbol == s) else {
            bail!("symbol {s} is not listed as a linear contract on the exchange")
        };
        if i.status != "Trading" {
            bail!("symbol {s} is not trading (status {})", i.status);
        }
        out.insert(
            s.clone(),
            Filters {
                tick_size: i.price_filter.tick_size,
                qty_step: i.lot_size_filter.qty_step,
                min_qty: i.lot_size_filter.min_order_qty,
                max_qty: i.lot_size_filter.max_order_qty,
                min_notional: i.lot_size_filter.min_notional_value.unwrap_or(Decimal::ZERO),
            },
        );
    }
    Ok(out)
}

/// The credentials work (a private read answers); the account's equity, which the header's
/// PnL moves from.
/// The unified account's equity and available balance (the credentials' first signed read).
pub(super) async fn check_credentials(client: &RestClient) -> anyhow::Result<(Option<Decimal>, Option<Decimal>)> {
    match client.get(path::WALLET_BALANCE, "accountType=UNIFIED").await {
        Ok(a) => {
            let field = |k: &str| a.result["list"][0][k].as_str().and_then(|e| e.parse::<Decimal>().ok());
            Ok((field("totalEquity"), field("totalAvailableBalance")))
        }
        Err(RestError::Exchange { code, msg }) if code.is_auth_failure() => {
            bail!("credentials rejected by the exchange: {msg} ({})", code.code())
        }
        Err(RestError::Forbidden(body)) => bail!(refused_host(&body)),
        Err(e) => Err(e).context("checking credentials (wallet-balance)"),
    }
}

/// The start's verdict on a 403 that is not the rate ban.
pub(super) fn refused_host(body: &str) -> String {
    format!("this host's IP is refused by Bybit (restricted region or firewall), HTTP 403: {body}")
}

/// A REST client whose clock agrees with the exchange's (the first request: it proves the
/// exchange reachable).
pub(super) async fn connect(c: &Config, exchange: &Exchange, governor: &Governor, metrics: &Arc<Metrics>) -> anyhow::Result<RestClient> {
    let client = RestClient::new(
        RestSettings {
            base_url: exchange.rest_url.clone(),
            api_key: exchange.api_key.clone(),
            api_secret: exchange.api_secret.clone(),
            recv_window_ms: c.exchange.recv_window_ms,
            timeout: Duration::from_millis(c.exchange.request_timeout_ms),
        },
        governor.clone(),
        Some(metrics.clone()),
    );
    let offset = match client.sync_time().await {
        Ok(o) => o,
        Err(RestError::Forbidden(body)) => bail!(refused_host(&body)),
        Err(e) => return Err(e).with_context(|| format!("exchange unreachable at {}", exchange.rest_url)),
    };
    log::info!("exchange clock offset {offset} ms");
    Ok(client)
}
