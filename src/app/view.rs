//! What the operator sees from the first scrape: the metrics' series, the initial `/status`
//! view, the previous run's shutdown.

use std::collections::HashMap;
use std::sync::Arc;

use bybit_v5::rest::path;
use mmbot_actors::market::quoting::Filters;
use mmbot_actors::messages::status::{InstrumentView, LimitsView, StatusView};
use mmbot_actors::shutdown::last_shutdown::{self, PreviousShutdown};
use mmbot_actors::telemetry::metrics::{Metrics, SeriesKeys};

use crate::config::Config;

use super::*;

/// The endpoints whose latency the dashboards chart.
pub(super) const OBSERVED_ENDPOINTS: &[&str] = &[
    path::ORDER_CREATE_BATCH,
    path::ORDER_AMEND_BATCH,
    path::ORDER_CANCEL_BATCH,
    path::ORDER_CANCEL_ALL,
    path::ORDER_REALTIME,
    path::POSITION_LIST,
];

pub(super) fn unix_now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub(super) fn metrics_for(c: &Config) -> Arc<Metrics> {
    let metrics = Arc::new(Metrics::default());
    metrics.init_series(&SeriesKeys {
        symbols: &c.symbols,
        endpoints: OBSERVED_ENDPOINTS,
        streams: &["public", "private", "trade"],
        steps: &step_names(c),
        actors: MAILBOXES,
    });
    metrics.set_process_constants(unix_now_seconds(), mmbot_actors::telemetry::resources::max_fds());
    metrics
}

/// What `/status` shows before anything has happened: the run's configuration.
pub(super) fn initial_view(c: &Config, filters: &HashMap<String, Filters>) -> StatusView {
    StatusView {
        mode: c.mode.as_str().into(),
        symbols: c.symbols.clone(),
        expects_orders: c.mode != crate::config::Mode::DryRun,
        started_ms: (unix_now_seconds() * 1000.0) as u64,
        instruments: filters
            .iter()
            .map(|(s, f)| {
                let v = InstrumentView {
                    tick_size: f.tick_size,
                    qty_step: f.qty_step,
                };
                (s.clone(), v)
            })
            .collect(),
        limits: LimitsView {
            max_drawdown: c.risk.max_drawdown,
            max_position_notional: c.risk.max_position_notional,
        },
        ..Default::default()
    }
}

/// The previous run's shutdown report, if kept: exported to /metrics and logged.
pub(super) fn previous_shutdown(c: &Config, metrics: &Metrics) -> Option<PreviousShutdown> {
    let p = last_shutdown::load(&c.recorder.dir)?;
    p.export(metrics);
    log::info!(
        "previous run: shutdown {} ({}) took {} ms, exit code {}",
        p.shutdown_id,
        p.reason,
        p.total_ms,
        p.exit_code
    );
    Some(p)
}
