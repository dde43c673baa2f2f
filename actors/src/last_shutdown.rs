//! The previous run's shutdown report, kept in the data directory as `last-shutdown.json`. A
//! shutdown takes milliseconds, far less than a scrape interval, so the next run is where
//! Prometheus and the dashboard see how the last one went.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::metrics::{labels, Metrics};
use crate::report::ShutdownReport;

pub const FILE_NAME: &str = "last-shutdown.json";

pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

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

/// Written after the whole sequence, recorder included; write-then-rename, so a reader never sees
/// half a file.
pub fn save(dir: &Path, report: &ShutdownReport) -> std::io::Result<()> {
    let body = serde_json::to_vec_pretty(&PreviousShutdown::from_report(report)).map_err(std::io::Error::other)?;
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    std::fs::write(&tmp, body)?;
    std::fs::rename(tmp, path_in(dir))
}

/// None when there is no previous report (first run) or it cannot be read (logged).
pub fn load(dir: &Path) -> Option<PreviousShutdown> {
    let path = path_in(dir);
    let text = std::fs::read_to_string(&path).ok()?;
    serde_json::from_str(&text)
        .map_err(|e| log::warn!("ignoring {}: {e}", path.display()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::StepReport;
    use crate::stop::StepStatus;

    #[test]
    fn a_saved_report_is_read_back_and_exported() {
        let dir = std::env::temp_dir().join(format!("mmbot-last-shutdown-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(load(&dir), None);
        let report = ShutdownReport {
            shutdown_id: "sd-1".into(),
            reason: "SIGTERM".into(),
            during_startup: false,
            steps: vec![StepReport {
                step: "order_manager".into(),
                status: StepStatus::Ok,
                elapsed_ms: 21,
                timeout_ms: 5000,
                detail: String::new(),
            }],
            orders: None,
            positions: None,
            total_ms: 30,
            exit_code: 0,
        };
        save(&dir, &report).unwrap();
        let back = load(&dir).unwrap();
        assert_eq!(back.total_ms, 30);
        assert_eq!(back.steps, vec![("order_manager".to_string(), 21)]);
        let m = Metrics::default();
        back.export(&m);
        let text = m.render();
        assert!(
            text.contains("mmbot_last_shutdown_step_seconds{step=\"order_manager\"} 0.021"),
            "{text}"
        );
        assert!(text.contains("mmbot_last_shutdown_exit_code 0"));
        std::fs::remove_dir_all(dir).ok();
    }
}
