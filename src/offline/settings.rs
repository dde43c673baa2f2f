//! A backtest's settings from `mmbot run`'s config: the same `[strategy]`, `[risk]`,
//! `[order_manager]` requote tolerance and `[exchange.rate_limits]`; the instruments' filters and
//! fees from the simulator's shipped table; the venue's model and latencies from `[paper]`
//! unless the command line says otherwise.

use std::collections::BTreeMap;

use anyhow::Context as _;
use backtest::settings::{Instrument, Settings};
use fill_model::QueueModel;
use market_data::FeedLatency;
use mmbot_actors::market::quoting::Filters;

use crate::config::Config;

/// What the command line may change of the config's `[paper]` venue.
#[derive(Debug, Clone, Default)]
pub struct VenueFlags {
    pub queue_model: Option<String>,
    pub latency_ms: Option<u64>,
    pub feed_latency_ms: Option<String>,
}

pub fn settings(c: &Config, flags: &VenueFlags) -> anyhow::Result<Settings> {
    let specs = bybit_sim::market::instrument::select(&c.symbols).map_err(anyhow::Error::msg)?;
    let instruments: BTreeMap<String, Instrument> = specs
        .into_iter()
        .map(|s| {
            let filters = Filters {
                tick_size: s.tick_size,
                qty_step: s.qty_step,
                min_qty: s.min_qty,
                max_qty: s.max_qty,
                min_notional: s.min_notional,
            };
            (
                s.symbol.clone(),
                Instrument {
                    filters,
                    maker_fee: s.maker_fee,
                    taker_fee: s.taker_fee,
                },
            )
        })
        .collect();
    let model = flags.queue_model.clone().unwrap_or_else(|| c.paper.queue_model.clone());
    // The same setting, and the same meaning, as a paper replay's (`[paper] feed_latency_ms`).
    let feed = match &flags.feed_latency_ms {
        Some(arg) => FeedLatency::parse(arg).map_err(anyhow::Error::msg).context("--feed-latency-ms")?,
        None => FeedLatency::parse(&c.paper.feed_latency_ms.as_arg())
            .map_err(anyhow::Error::msg)
            .context("[paper] feed_latency_ms")?,
    };
    Ok(Settings {
        symbols: c.symbols.clone(),
        instruments,
        strategy: c.strategy.clone(),
        risk: c.risk.clone(),
        requote_tolerance_bps: c.order_manager.requote_tolerance_bps,
        rate_limits: c.exchange.rate_limits.clone(),
        queue_model: QueueModel::parse(&model).context("--queue-model")?,
        order_latency_ms: flags.latency_ms.unwrap_or(c.paper.order_latency_ms),
        feed_latency: feed,
    })
}
