//! The headline of a shutdown report, as the next run reads it back from `last-shutdown.json`
//! and shows it in `/status` and the metrics.

use serde::{Deserialize, Serialize};

use crate::messages::report::ShutdownReport;
use crate::telemetry::metrics::{labels, Metrics};

/// What the next run reads back: the headline of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PreviousShutdown {
    pub shutdown_id: String,
    pub reason: String,
    pub total_ms: u64,
    pub exit_code: i32,
    pub cancelled_orders: u64,
    pub steps: Vec<(String, u64)>,
}

impl PreviousShutdown {
    pub fn from_report(r: &ShutdownReport) -> Self {
        Self {
            shutdown_id: r.shutdown_id.clone(),
            reason: r.reason.clone(),
            total_ms: r.total_ms,
            exit_code: r.exit_code,
            cancelled_orders: r.orders.as_ref().map_or(0, |o| o.cancelled as u64),
            steps: r.steps.iter().map(|s| (s.step.clone(), s.elapsed_ms)).collect(),
        }
    }

    pub fn export(&self, m: &Metrics) {
        m.last_shutdown_seconds.set(self.total_ms as f64 / 1000.0);
        m.last_shutdown_exit_code.set(self.exit_code as i64);
        m.last_shutdown_cancelled_orders.set(self.cancelled_orders as i64);
        for (step, ms) in &self.steps {
            m.last_shutdown_step_seconds
                .get_or_create(&labels(&[("step", step)]))
                .set(*ms as f64 / 1000.0);
        }
    }
}
