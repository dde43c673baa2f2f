//! Prometheus metrics. Metrics are atomics shared by every actor that updates them — the one
//! deliberate exception to "actors share no state", because a message per increment would cost
//! more than the increment.
//!
//! Every series a dashboard queries exists from the first scrape ([`Metrics::init_series`]);
//! the process's own readings carry the standard `process_*` names; buckets are round numbers.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

pub type Labels = Vec<(String, String)>;

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The label values known at startup, for [`Metrics::init_series`].
pub struct SeriesKeys<'a> {
    pub symbols: &'a [String],
    pub endpoints: &'a [&'a str],
    pub streams: &'a [&'a str],
    pub steps: &'a [&'a str],
    pub actors: &'a [&'a str],
}

pub struct Metrics {
    registry: Registry,
    pub orders_placed: Family<Labels, Counter>,
    pub orders_amended: Family<Labels, Counter>,
    pub orders_cancelled: Family<Labels, Counter>,
    pub orders_rejected: Family<Labels, Counter>,
    pub orders_open: Gauge,
    pub fills: Family<Labels, Counter>,
    pub position: Family<Labels, Gauge<f64, AtomicU64>>,
    pub pnl: Family<Labels, Gauge<f64, AtomicU64>>,
    pub drawdown: Gauge<f64, AtomicU64>,
    pub rest_requests: Family<Labels, Counter>,
    pub rest_latency: Family<Labels, Histogram>,
    pub order_entry_requests: Family<Labels, Counter>,
    pub ws_reconnects: Family<Labels, Counter>,
    /// Streams declared dead: nothing heard (no data, no pong) within the bound.
    pub ws_stale: Family<Labels, Counter>,
    /// Private-stream items that did not decode (the rest of their frame was kept).
    pub ws_skipped_items: Counter,
    /// The exchange's position differed from the bot's, found by a REST check.
    pub position_drift: Family<Labels, Counter>,
    pub ws_malformed_frames: Counter,
    pub book_gaps: Counter,
    pub book_update_lag: Histogram,
    pub tick_to_quote: Histogram,
    pub tick_to_request: Histogram,
    pub tick_to_wire: Histogram,
    pub hot_path_rehearsals: Counter,
    pub shutdown_cancel_orders: Counter,
    pub shutdown_step_seconds: Family<Labels, Gauge<f64, AtomicU64>>,
    pub recorder_events: Counter,
    pub recorder_bytes: Counter,
    pub rss_bytes: Gauge,
    pub open_fds: Gauge,
    pub threads: Gauge,
    pub max_fds: Gauge,
    pub start_time_seconds: Gauge<f64, AtomicU64>,
    pub cpu_seconds: Counter<f64, AtomicU64>,
    /// The previous run's shutdown, read from the data directory at startup: a shutdown lasts
    /// milliseconds, far shorter than a scrape interval, so this is how a dashboard sees one.
    pub last_shutdown_seconds: Gauge<f64, AtomicU64>,
    pub last_shutdown_exit_code: Gauge,
    pub last_shutdown_step_seconds: Family<Labels, Gauge<f64, AtomicU64>>,
    pub last_shutdown_cancelled_orders: Gauge,
    pub mailbox_lag: Family<Labels, Gauge<f64, AtomicU64>>,
    pub recorder_write_errors: Counter,
    pub rate_budget_limit: Family<Labels, Gauge>,
    pub rate_budget_remaining: Family<Labels, Gauge>,
    pub requests_deferred: Family<Labels, Counter>,
    pub exchange_rejections: Family<Labels, Counter>,
    /// 1 while a symbol's quoting is halted by the refusal breaker, labelled with the retCode.
    pub quoting_halted: Family<Labels, Gauge>,
    /// Wrong bearer tokens presented to the control port.
    pub control_auth_failures: Counter,
    /// 1 while this instance holds the high-availability lease and quotes, 0 otherwise.
    pub ha_role: Gauge,
    pub ha_transitions: Family<Labels, Counter>,
}

/// The high-availability role changes there are (`ha::elector`), at 0 from the first scrape.
const HA_TRANSITIONS: [(&str, &str); 7] = [
    ("standby", "taking over"),
    ("taking over", "active"),
    ("active", "released"),
    ("active", "lost"),
    ("taking over", "lost"),
    ("taking over", "released"),
    ("standby", "released"),
];

/// Round bucket bounds: 1, 2, 3, 5 and 7 times each power of ten from `10^from` to `10^to`
/// (ratio ≈ 1.5 between neighbours). Parsed from text so that they print as written
/// (`0.000003`, not `0.0000030000000000000004`).
pub fn round_buckets(from: i32, to: i32) -> Vec<f64> {
    let mut out = Vec::new();
    for e in from..to {
        for m in [1, 2, 3, 5, 7] {
            out.push(format!("{m}e{e}").parse().expect("a decimal literal"));
        }
    }
    out.push(format!("1e{to}").parse().expect("a decimal literal"));
    out
}

/// Network round trips and book lag: 0.5 ms to 10 s.
fn latency_histogram() -> Histogram {
    Histogram::new(round_buckets(-4, 1).into_iter().skip(3))
}

/// In-process paths: 1 µs to 1 s.
fn compute_histogram() -> Histogram {
    Histogram::new(round_buckets(-6, 0).into_iter())
}

impl Default for Metrics {
    fn default() -> Self {
        let mut root = Registry::default();
        let registry = root.sub_registry_with_prefix("mmbot");
        let m = Self {
            orders_placed: Family::default(),
            orders_amended: Family::default(),
            orders_cancelled: Family::default(),
            orders_rejected: Family::default(),
            orders_open: Gauge::default(),
            fills: Family::default(),
            position: Family::default(),
            pnl: Family::default(),
            drawdown: Gauge::default(),
            rest_requests: Family::default(),
            rest_latency: Family::new_with_constructor(latency_histogram),
            order_entry_requests: Family::default(),
            ws_reconnects: Family::default(),
            ws_stale: Family::default(),
            ws_skipped_items: Counter::default(),
            position_drift: Family::default(),
            ws_malformed_frames: Counter::default(),
            book_gaps: Counter::default(),
            book_update_lag: latency_histogram(),
            tick_to_quote: compute_histogram(),
            tick_to_request: compute_histogram(),
            tick_to_wire: compute_histogram(),
            hot_path_rehearsals: Counter::default(),
            shutdown_cancel_orders: Counter::default(),
            shutdown_step_seconds: Family::default(),
            recorder_events: Counter::default(),
            recorder_bytes: Counter::default(),
            rss_bytes: Gauge::default(),
            open_fds: Gauge::default(),
            threads: Gauge::default(),
            max_fds: Gauge::default(),
            start_time_seconds: Gauge::default(),
            cpu_seconds: Counter::default(),
            last_shutdown_seconds: Gauge::default(),
            last_shutdown_exit_code: Gauge::default(),
            last_shutdown_step_seconds: Family::default(),
            last_shutdown_cancelled_orders: Gauge::default(),
            mailbox_lag: Family::default(),
            recorder_write_errors: Counter::default(),
            rate_budget_limit: Family::default(),
            rate_budget_remaining: Family::default(),
            requests_deferred: Family::default(),
            exchange_rejections: Family::default(),
            quoting_halted: Family::default(),
            control_auth_failures: Counter::default(),
            ha_role: Gauge::default(),
            ha_transitions: Family::default(),
            registry: Registry::default(),
        };
        registry.register("orders_placed", "Orders sent for creation", m.orders_placed.clone());
        registry.register("orders_amended", "Amend requests sent", m.orders_amended.clone());
        registry.register("orders_cancelled", "Orders cancelled", m.orders_cancelled.clone());
        registry.register("orders_rejected", "Order requests the exchange refused", m.orders_rejected.clone());
        registry.register("orders_open", "Orders of this run believed open", m.orders_open.clone());
        registry.register("fills", "Executions of the bot's orders", m.fills.clone());
        registry.register("position", "Position per symbol in base units (signed)", m.position.clone());
        registry.register(
            "pnl_usdt",
            "PnL per symbol from the bot's executions: realised + unrealised - fees",
            m.pnl.clone(),
        );
        registry.register("drawdown_usdt", "Equity below its best, across symbols", m.drawdown.clone());
        registry.register(
            "rest_requests",
            "Exchange API requests by endpoint and outcome (order requests over the trade socket count under their REST endpoint: same budget)",
            m.rest_requests.clone(),
        );
        registry.register(
            "order_entry_requests",
            "Order requests (create/amend/cancel, single or batch) by the transport that carried them",
            m.order_entry_requests.clone(),
        );
        registry.register("rest_latency_seconds", "REST round-trip time by endpoint", m.rest_latency.clone());
        registry.register("ws_reconnects", "WebSocket reconnects by stream", m.ws_reconnects.clone());
        registry.register(
            "ws_stale",
            "WebSocket streams declared dead: no data and no pong within the bound",
            m.ws_stale.clone(),
        );
        registry.register(
            "ws_skipped_items",
            "Items of private-stream frames that did not decode (the others were kept)",
            m.ws_skipped_items.clone(),
        );
        registry.register(
            "position_drift",
            "Positions corrected from the exchange: the bot's figure differed",
            m.position_drift.clone(),
        );
        registry.register(
            "ws_malformed_frames",
            "WebSocket frames that could not be decoded",
            m.ws_malformed_frames.clone(),
        );
        registry.register("book_gaps", "Order book update-id gaps (resubscribed)", m.book_gaps.clone());
        registry.register(
            "tick_to_quote_seconds",
            "Book update received to desired quotes emitted",
            m.tick_to_quote.clone(),
        );
        registry.register(
            "tick_to_request_seconds",
            "Book update received to the order request handed to the HTTP client",
            m.tick_to_request.clone(),
        );
        registry.register(
            "tick_to_wire_seconds",
            "Book update received to the order request starting on the connector's thread (signed and written at once)",
            m.tick_to_wire.clone(),
        );
        registry.register(
            "hot_path_rehearsals",
            "Dry runs of the book update to order request path on canned data, by a busy-polling market thread",
            m.hot_path_rehearsals.clone(),
        );
        registry.register(
            "shutdown_cancel_orders",
            "Orders cancelled by the shutdown sequence",
            m.shutdown_cancel_orders.clone(),
        );
        registry.register(
            "shutdown_step_seconds",
            "Duration of each shutdown step",
            m.shutdown_step_seconds.clone(),
        );
        registry.register("recorder_events", "Events written by the recorder", m.recorder_events.clone());
        registry.register(
            "recorder_write_errors",
            "Recorder write or sync failures",
            m.recorder_write_errors.clone(),
        );
        registry.register("recorder_bytes", "Bytes written by the recorder", m.recorder_bytes.clone());
        registry.register("process_threads", "Threads of the process", m.threads.clone());
        registry.register(
            "last_shutdown_seconds",
            "Duration of the previous run's shutdown (from the data directory)",
            m.last_shutdown_seconds.clone(),
        );
        registry.register(
            "last_shutdown_exit_code",
            "Exit code of the previous run (-1: no report)",
            m.last_shutdown_exit_code.clone(),
        );
        registry.register(
            "last_shutdown_step_seconds",
            "Duration of each step of the previous run's shutdown",
            m.last_shutdown_step_seconds.clone(),
        );
        registry.register(
            "last_shutdown_cancelled_orders",
            "Orders the previous run's shutdown cancelled",
            m.last_shutdown_cancelled_orders.clone(),
        );
        registry.register(
            "mailbox_lag_seconds",
            "Time for each actor to answer a ping (its mailbox backlog)",
            m.mailbox_lag.clone(),
        );
        registry.register(
            "book_update_lag_seconds",
            "Exchange timestamp of a book update to its arrival here",
            m.book_update_lag.clone(),
        );
        registry.register(
            "rate_budget_limit",
            "The account's request budget per second, by endpoint (configured, or lower if the exchange says so)",
            m.rate_budget_limit.clone(),
        );
        registry.register(
            "rate_budget_remaining",
            "Requests left in the endpoint's rolling one-second window at the last answer",
            m.rate_budget_remaining.clone(),
        );
        registry.register(
            "requests_deferred",
            "Requests held back by the rate governor, by endpoint and reason (never sent while held)",
            m.requests_deferred.clone(),
        );
        registry.register(
            "exchange_rejections",
            "Requests and batch items the exchange refused, by endpoint and retCode (403: IP ban)",
            m.exchange_rejections.clone(),
        );
        registry.register(
            "quoting_halted",
            "1 while the exchange's refusals (that retrying cannot heal) halt a symbol's quoting; reason: the retCode",
            m.quoting_halted.clone(),
        );
        registry.register(
            "control_auth_failures",
            "Wrong bearer tokens presented to the control port (10 a minute per address, then 429)",
            m.control_auth_failures.clone(),
        );
        registry.register(
            "ha_role",
            "1 while this instance holds the etcd lease and quotes (active), 0 as standby or without [ha]; the sum over instances must never exceed 1",
            m.ha_role.clone(),
        );
        registry.register(
            "ha_transitions",
            "Role changes of the high-availability lease, by from and to (standby, taking over, active, released, lost)",
            m.ha_transitions.clone(),
        );
        // The standard process metrics, under the names stock dashboards query.
        root.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            m.rss_bytes.clone(),
        );
        root.register("process_open_fds", "Number of open file descriptors", m.open_fds.clone());
        root.register("process_max_fds", "Maximum number of open file descriptors", m.max_fds.clone());
        root.register(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            m.cpu_seconds.clone(),
        );
        root.register(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            m.start_time_seconds.clone(),
        );
        m.last_shutdown_exit_code.set(-1);
        Self { registry: root, ..m }
    }
}

impl Metrics {
    /// Create, at zero, every labelled series a dashboard queries, so that a panel shows 0
    /// rather than "no data" until the first event.
    pub fn init_series(&self, keys: &SeriesKeys) {
        for symbol in keys.symbols {
            let l = labels(&[("symbol", symbol)]);
            for family in [
                &self.orders_placed,
                &self.orders_amended,
                &self.orders_cancelled,
                &self.orders_rejected,
                &self.fills,
            ] {
                let _ = family.get_or_create(&l);
            }
            let _ = self.position.get_or_create(&l);
            let _ = self.pnl.get_or_create(&l);
            let _ = self.position_drift.get_or_create(&l);
        }
        for endpoint in keys.endpoints {
            let _ = self.rest_latency.get_or_create(&labels(&[("endpoint", endpoint)]));
        }
        for transport in ["rest", "websocket"] {
            let _ = self.order_entry_requests.get_or_create(&labels(&[("transport", transport)]));
        }
        for stream in keys.streams {
            let _ = self.ws_reconnects.get_or_create(&labels(&[("stream", stream)]));
            let _ = self.ws_stale.get_or_create(&labels(&[("stream", stream)]));
        }
        for step in keys.steps {
            let _ = self.shutdown_step_seconds.get_or_create(&labels(&[("step", step)]));
            // 0 until a previous run left its report (the exit code says -1 meanwhile).
            let _ = self.last_shutdown_step_seconds.get_or_create(&labels(&[("step", step)]));
        }
        for actor in keys.actors {
            let _ = self.mailbox_lag.get_or_create(&labels(&[("actor", actor)]));
        }
        for (from, to) in HA_TRANSITIONS {
            let _ = self.ha_transitions.get_or_create(&labels(&[("from", from), ("to", to)]));
        }
    }

    /// The process-wide readings that do not change: start time and the descriptor limit.
    pub fn set_process_constants(&self, start_unix_seconds: f64, max_fds: Option<u64>) {
        self.start_time_seconds.set(start_unix_seconds);
        self.max_fds.set(max_fds.unwrap_or(0) as i64);
    }

    /// CPU time is read as a total from /proc; the counter advances to it.
    pub fn set_cpu_seconds(&self, total: f64) {
        let delta = total - self.cpu_seconds.get();
        if delta > 0.0 {
            self.cpu_seconds.inc_by(delta);
        }
    }

    /// Text for a scrape whose `Accept` header is `accept`, with its content type.
    pub fn render_for(&self, accept: Option<&str>) -> (&'static str, String) {
        let om = self.render();
        if crate::telemetry::metrics_text::wants_openmetrics(accept) {
            (crate::telemetry::metrics_text::OPENMETRICS_CONTENT_TYPE, om)
        } else {
            (
                crate::telemetry::metrics_text::TEXT_CONTENT_TYPE,
                crate::telemetry::metrics_text::to_prometheus_text(&om),
            )
        }
    }

    /// OpenMetrics exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_text_format() {
        let m = Metrics::default();
        m.orders_placed.get_or_create(&labels(&[("symbol", "BTCUSDT")])).inc();
        m.shutdown_cancel_orders.inc_by(24);
        let text = m.render();
        assert!(text.contains("mmbot_orders_placed_total{symbol=\"BTCUSDT\"} 1"), "{text}");
        assert!(text.contains("mmbot_shutdown_cancel_orders_total 24"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn buckets_are_round_numbers() {
        let b = round_buckets(-6, 0);
        assert_eq!(b[..6], [0.000001, 0.000002, 0.000003, 0.000005, 0.000007, 0.00001]);
        assert_eq!(*b.last().unwrap(), 1.0);
        let text = Metrics::default().render();
        let bounds: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once("le=\"").map(|(_, r)| r.split('"').next().unwrap()))
            .collect();
        assert!(!bounds.is_empty());
        // No float noise: each bound has at most one significant digit.
        for le in bounds {
            let digits: String = le.chars().filter(|c| c.is_ascii_digit()).collect();
            assert!(digits.trim_matches('0').len() <= 1 || le == "+Inf", "{le}");
        }
    }

    #[test]
    fn dashboard_series_exist_before_any_event() {
        let m = Metrics::default();
        m.init_series(&SeriesKeys {
            symbols: &["BTCUSDT".into()],
            endpoints: &["/v5/order/create"],
            streams: &["public"],
            steps: &["recorder"],
            actors: &["recorder"],
        });
        let (_, text) = m.render_for(Some("*/*"));
        for series in [
            "mmbot_orders_rejected_total{symbol=\"BTCUSDT\"} 0",
            "mmbot_ws_reconnects_total{stream=\"public\"} 0",
            "mmbot_rest_latency_seconds_count{endpoint=\"/v5/order/create\"} 0",
            "mmbot_shutdown_step_seconds{step=\"recorder\"} 0",
            "process_cpu_seconds_total 0",
            "# TYPE process_cpu_seconds_total counter",
        ] {
            assert!(text.contains(series), "{series} missing from:\n{text}");
        }
        assert!(!text.contains("# EOF"));
    }
}
