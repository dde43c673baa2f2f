//! Prometheus metrics. Metrics are atomics shared by every actor that updates them — the one
//! deliberate exception to "actors share no state", because a message per increment would cost
//! more than the increment.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

pub type Labels = Vec<(String, String)>;

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
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
    pub ws_reconnects: Family<Labels, Counter>,
    pub ws_malformed_frames: Counter,
    pub book_gaps: Counter,
    pub book_update_lag: Histogram,
    pub tick_to_quote: Histogram,
    pub tick_to_request: Histogram,
    pub shutdown_cancel_orders: Counter,
    pub shutdown_step_seconds: Family<Labels, Gauge<f64, AtomicU64>>,
    pub recorder_events: Counter,
    pub recorder_bytes: Counter,
    pub rss_bytes: Gauge,
    pub open_fds: Gauge,
    pub threads: Gauge,
    pub cpu_seconds: Gauge<f64, AtomicU64>,
    pub mailbox_lag: Family<Labels, Gauge<f64, AtomicU64>>,
    pub recorder_write_errors: Counter,
    pub rate_budget_limit: Family<Labels, Gauge>,
    pub rate_budget_remaining: Family<Labels, Gauge>,
    pub requests_deferred: Family<Labels, Counter>,
    pub exchange_rejections: Family<Labels, Counter>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("mmbot");
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
            ws_reconnects: Family::default(),
            ws_malformed_frames: Counter::default(),
            book_gaps: Counter::default(),
            book_update_lag: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            tick_to_quote: Histogram::new(exponential_buckets(0.000_001, 1.5, 36)),
            tick_to_request: Histogram::new(exponential_buckets(0.000_001, 1.5, 36)),
            shutdown_cancel_orders: Counter::default(),
            shutdown_step_seconds: Family::default(),
            recorder_events: Counter::default(),
            recorder_bytes: Counter::default(),
            rss_bytes: Gauge::default(),
            open_fds: Gauge::default(),
            threads: Gauge::default(),
            cpu_seconds: Gauge::default(),
            mailbox_lag: Family::default(),
            recorder_write_errors: Counter::default(),
            rate_budget_limit: Family::default(),
            rate_budget_remaining: Family::default(),
            requests_deferred: Family::default(),
            exchange_rejections: Family::default(),
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
        registry.register("rest_requests", "REST requests by endpoint and outcome", m.rest_requests.clone());
        registry.register("rest_latency_seconds", "REST round-trip time by endpoint", m.rest_latency.clone());
        registry.register("ws_reconnects", "WebSocket reconnects by stream", m.ws_reconnects.clone());
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
        registry.register("process_resident_memory_bytes", "Resident set size", m.rss_bytes.clone());
        registry.register("process_open_fds", "Open file descriptors", m.open_fds.clone());
        registry.register("process_threads", "Threads", m.threads.clone());
        registry.register("process_cpu_seconds", "CPU time used (user + system)", m.cpu_seconds.clone());
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
        Self { registry, ..m }
    }
}

impl Metrics {
    /// Prometheus text exposition format.
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
}
