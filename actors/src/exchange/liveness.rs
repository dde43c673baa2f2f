//! Liveness of a stream: nothing heard (no data, no pong) for the bound means dead — closed,
//! reconnected and reconciled, counted in `mmbot_ws_stale_total{stream}`. A half-open socket
//! or a peer that stopped answering is otherwise invisible while REST keeps placing orders.

use std::time::{Duration, Instant};

use crate::telemetry::metrics::{labels, Metrics};

use super::ws_connector::Ended;

/// Declares a stream dead when nothing has been heard on it for the bound.
pub(super) struct Liveness {
    stream: &'static str,
    last_heard: Instant,
    bound: Duration,
    check: tokio::time::Interval,
}

impl Liveness {
    pub(super) fn new(stream: &'static str, bound: Duration) -> Self {
        let mut check = tokio::time::interval((bound / 4).max(Duration::from_millis(25)));
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            stream,
            last_heard: Instant::now(),
            bound,
            check,
        }
    }

    pub(super) fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    /// Ticks every quarter of the bound; `Some` once the stream is dead.
    pub(super) async fn dead(&mut self, metrics: &Metrics) -> Option<Ended> {
        self.check.tick().await;
        let silent = self.last_heard.elapsed();
        if silent <= self.bound {
            return None;
        }
        metrics.ws_stale.get_or_create(&labels(&[("stream", self.stream)])).inc();
        log::warn!(stream = self.stream; "{} stream: nothing heard for {} ms (no data, no pong): declared dead", self.stream, silent.as_millis());
        Some(Ended::Lost(format!("stale: nothing heard for {} ms", silent.as_millis())))
    }
}
