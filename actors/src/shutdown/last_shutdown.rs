//! The previous run's shutdown report, kept in the data directory as `last-shutdown.json`. A
//! shutdown takes milliseconds, far less than a scrape interval, so the next run is where
//! Prometheus and the dashboard see how the last one went.

use std::path::{Path, PathBuf};

pub use crate::messages::previous_shutdown::PreviousShutdown;
use crate::messages::report::ShutdownReport;

pub const FILE_NAME: &str = "last-shutdown.json";

pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
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
    use crate::messages::report::StepReport;
    use crate::messages::stop::StepStatus;
    use crate::telemetry::metrics::Metrics;

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
