//! The report of a run — a backtest, or a paper or live run read from its recorder file — in
//! one shape, so they stand side by side: PnL and its parts, fills and volume per side,
//! markouts, quoting, inventory, drawdown, requests. JSON for machines, a summary for people,
//! an SVG chart and the fills as CSV.
//!
//! PnL parts (USDT): `spread_capture` is Σ over fills of the edge against the mid at the fill
//! (a buy below the mid earns the difference); `fees` is what fees cost (a maker rebate makes
//! it positive); `funding` what funding cost; `inventory` is the rest of `total` — what holding
//! the position earned or lost as the mid moved. `total` is the run's cash plus its position at
//! the last mid, less fees and funding.

pub mod chart;
pub mod compare;
pub mod fills_csv;
pub mod markouts;
pub mod summary;

use std::collections::BTreeMap;
use std::path::PathBuf;

use bybit_v5::Side;
use rust_decimal::prelude::*;
use serde::{Deserialize, Serialize};

use market_data::{FeedLatency, FileReport};

use crate::bot::Bot;
use crate::budget_use::BudgetReport;
use crate::collect::Collector;
use crate::settings::Settings;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideVolume {
    pub fills: u64,
    pub notional: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub buy: SideVolume,
    pub sell: SideVolume,
    pub notional: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PnlParts {
    pub total: f64,
    pub spread_capture: f64,
    pub inventory: f64,
    pub fees: f64,
    pub funding: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SymbolLine {
    pub fills: u64,
    pub position: f64,
    pub pnl: f64,
    pub quote_uptime: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `backtest`, or the run's mode (`paper`, `live`) when read from a recorder file.
    pub source: String,
    pub data: Vec<String>,
    /// What reading each recording met: its events, malformed lines, book gaps, frames out of
    /// order, and the line after which a file was cut short.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_quality: Vec<FileReport>,
    pub symbols: Vec<String>,
    pub from_ms: u64,
    pub to_ms: u64,
    /// Market events read.
    pub events: u64,
    pub fills: u64,
    pub volume: Volume,
    pub pnl: PnlParts,
    /// Mean markout per horizon (bps, positive good for us); null where no fill reached it.
    pub markouts_bps: BTreeMap<String, Option<f64>>,
    /// Symbols the config quotes that had no market data in the recordings: not backtested, and
    /// left out of `symbols`, `per_symbol` and the averages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_symbols: Vec<String>,
    /// Share of the observed time both sides were quoted (averaged over symbols).
    pub quote_uptime: f64,
    /// Mean distance of our best quote from the same side's best price, in bps.
    pub mean_touch_distance_bps: Option<f64>,
    /// Largest sum of the positions' notionals (USDT).
    pub max_inventory: f64,
    /// Largest fall of equity from its peak (USDT).
    pub max_drawdown: f64,
    /// Requests sent per endpoint.
    pub requests: BTreeMap<String, u64>,
    /// Order changes the budget held back.
    pub deferred: u64,
    /// The busiest second per endpoint and the busiest 5 s of requests, against the limits.
    #[serde(default)]
    pub budget: BudgetReport,
    pub kill_switch: Option<String>,
    pub per_symbol: BTreeMap<String, SymbolLine>,
    /// What the run was configured with (models, latencies, the strategy).
    pub settings: serde_json::Value,
    /// Wall time of the run: the only field that differs between runs of the same inputs.
    pub wall_ms: u64,
}

pub(crate) fn num(d: Decimal) -> f64 {
    d.round_dp(6).to_f64().unwrap_or(0.0)
}

/// What a report is built from, however the run was made.
pub struct Parts<'a> {
    pub source: &'a str,
    pub data: Vec<String>,
    pub collect: &'a Collector,
    pub requests: BTreeMap<String, u64>,
    pub deferred: u64,
    pub budget: BudgetReport,
    pub kill_switch: Option<String>,
    pub settings: serde_json::Value,
    /// Symbols with no market data (see `Report::missing_symbols`).
    pub missing: &'a [String],
    pub data_quality: Vec<FileReport>,
    pub wall_ms: u64,
}

impl Report {
    pub fn build(
        settings: &Settings,
        files: &[PathBuf],
        c: &Collector,
        bot: &Bot,
        missing: &[String],
        data_quality: Vec<FileReport>,
        wall_ms: u64,
    ) -> Self {
        let described = serde_json::json!({
            "queue_model": settings.queue_model.name(),
            "order_latency_ms": settings.order_latency_ms,
            "feed_latency_ms": match settings.feed_latency {
                FeedLatency::None => serde_json::json!(0),
                FeedLatency::Constant(ms) => serde_json::json!(ms),
                FeedLatency::Recorded => serde_json::json!("recorded"),
            },
            "requote_tolerance_bps": settings.requote_tolerance_bps,
            "strategy": settings.strategy,
            "risk": settings.risk,
            "orders_per_sec": settings.rate_limits.orders_per_sec,
        });
        Self::from_parts(Parts {
            source: "backtest",
            data: files.iter().map(|f| f.display().to_string()).collect(),
            collect: c,
            requests: bot.budget_use.requests(),
            deferred: bot.deferred,
            budget: bot.budget_use.report(),
            kill_switch: bot.killed.clone(),
            settings: described,
            missing,
            data_quality,
            wall_ms,
        })
    }

    pub fn from_parts(p: Parts<'_>) -> Self {
        let c = p.collect;
        let last = c.last_mids();
        let mut pnl = PnlParts::default();
        let (mut total, mut spread, mut fees, mut funding) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let mut per_symbol = BTreeMap::new();
        let (mut uptime_sum, mut uptime_n) = (0.0, 0);
        let (mut touch_sum, mut touch_n) = (0.0, 0u64);
        for (s, r) in c.symbols.iter().filter(|(s, _)| !p.missing.contains(s)) {
            let mid = last.get(s).copied().unwrap_or_default();
            let t = r.cash + r.position * mid - r.fees - r.funding;
            total += t;
            spread += r.spread_capture;
            fees += r.fees;
            funding += r.funding;
            let uptime = if r.observed_ms > 0 {
                r.quoted_ms as f64 / r.observed_ms as f64
            } else {
                0.0
            };
            uptime_sum += uptime;
            uptime_n += 1;
            touch_sum += r.touch_bps_sum;
            touch_n += r.touch_samples;
            per_symbol.insert(
                s.clone(),
                SymbolLine {
                    fills: c.fills.iter().filter(|f| &f.symbol == s).count() as u64,
                    position: num(r.position),
                    pnl: num(t),
                    quote_uptime: (uptime * 10_000.0).round() / 10_000.0,
                },
            );
        }
        pnl.total = num(total);
        pnl.spread_capture = num(spread);
        pnl.fees = num(-fees);
        pnl.funding = num(-funding);
        pnl.inventory = num(total - spread + fees + funding);
        let mut volume = Volume::default();
        let mut notional = Decimal::ZERO;
        for side in [Side::Buy, Side::Sell] {
            let of_side: Vec<_> = c.fills.iter().filter(|f| f.side == side).collect();
            let n: Decimal = of_side.iter().map(|f| f.qty * f.price).sum();
            notional += n;
            let v = SideVolume {
                fills: of_side.len() as u64,
                notional: num(n),
            };
            match side {
                Side::Buy => volume.buy = v,
                Side::Sell => volume.sell = v,
            }
        }
        volume.notional = num(notional);
        let empty: Vec<(u64, Decimal)> = Vec::new();
        let mids = |s: &str| c.symbols.get(s).map_or(&empty[..], |r| &r.mids[..]);
        let markouts_bps = markouts::mean_markouts(c.fills.iter(), mids, c.last_ms)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Self {
            source: p.source.to_string(),
            data: p.data,
            data_quality: p.data_quality,
            symbols: c.symbols.keys().filter(|s| !p.missing.contains(s)).cloned().collect(),
            missing_symbols: p.missing.to_vec(),
            from_ms: c.first_ms.unwrap_or(0),
            to_ms: c.last_ms,
            events: c.events,
            fills: c.fills.len() as u64,
            volume,
            pnl,
            markouts_bps,
            quote_uptime: if uptime_n > 0 {
                ((uptime_sum / uptime_n as f64) * 10_000.0).round() / 10_000.0
            } else {
                0.0
            },
            mean_touch_distance_bps: (touch_n > 0).then(|| (touch_sum / touch_n as f64 * 100.0).round() / 100.0),
            max_inventory: num(c.max_inventory),
            max_drawdown: num(c.max_drawdown),
            requests: p.requests,
            deferred: p.deferred,
            budget: p.budget,
            kill_switch: p.kill_switch,
            per_symbol,
            settings: p.settings,
            wall_ms: p.wall_ms,
        }
    }

    /// The report as JSON (pretty, keys in a fixed order).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serialisable") + "\n"
    }
}
