//! The kill switch stays tripped: the trip is written to the data directory the moment it
//! happens (before the shutdown that follows, which a SIGKILL could cut short), and every later
//! start refuses to quote until an operator clears it (`mmbot clear-kill-switch`). A restart —
//! which Kubernetes makes at once — must not hand the bot a fresh drawdown budget.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "kill-switch.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillSwitchTrip {
    /// "kill switch: drawdown 512.3 USDT exceeds risk.max_drawdown 500 USDT".
    pub reason: String,
    /// Unix milliseconds.
    pub at_ms: u64,
    pub shutdown_id: String,
}

impl KillSwitchTrip {
    /// "2026-12-03T10:15:00Z (kill switch: drawdown …), shutdown sd-…".
    pub fn describe(&self) -> String {
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.at_ms) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(|| format!("unix ms {}", self.at_ms));
        format!("at {at} ({}), shutdown {}", self.reason, self.shutdown_id)
    }
}

pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Written through a temporary file and fsynced: a trip is never half-recorded.
pub fn save(dir: &Path, trip: &KillSwitchTrip) -> std::io::Result<()> {
    use std::io::Write;
    let body = serde_json::to_vec_pretty(trip).map_err(std::io::Error::other)?;
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&body)?;
    f.sync_all()?;
    std::fs::rename(tmp, path_in(dir))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all())
}

/// The recorded trip, if any. A record that cannot be read still counts as tripped: the safe
/// reading of a damaged file is "stopped for a reason we cannot see".
/// Record a trip now, saying where (or why it could not be kept).
pub fn record(dir: &Path, why: &str, shutdown_id: &str) {
    let trip = KillSwitchTrip {
        reason: why.to_string(),
        at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        shutdown_id: shutdown_id.to_string(),
    };
    match save(dir, &trip) {
        Ok(()) => log::error!(
            "kill switch recorded in {}: the next start refuses to quote until `mmbot clear-kill-switch --config FILE`",
            path_in(dir).display()
        ),
        Err(e) => log::error!(
            "could not record the kill switch in {}: {e}; a restart would quote again",
            dir.display()
        ),
    }
}

pub fn load(dir: &Path) -> Option<KillSwitchTrip> {
    let path = path_in(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(unreadable(&path, e.to_string())),
    };
    Some(serde_json::from_str(&text).unwrap_or_else(|e| unreadable(&path, e.to_string())))
}

fn unreadable(path: &Path, error: String) -> KillSwitchTrip {
    KillSwitchTrip {
        reason: format!("{} exists but cannot be read ({error})", path.display()),
        at_ms: 0,
        shutdown_id: "unknown".into(),
    }
}

/// Remove the record; returns what it said (None: nothing was tripped).
pub fn clear(dir: &Path) -> std::io::Result<Option<KillSwitchTrip>> {
    let trip = load(dir);
    if trip.is_some() {
        std::fs::remove_file(path_in(dir))?;
    }
    Ok(trip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trip_stays_until_cleared() {
        let dir = std::env::temp_dir().join(format!("mmbot-kill-switch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(load(&dir), None);
        let trip = KillSwitchTrip {
            reason: "kill switch: drawdown 12 USDT exceeds risk.max_drawdown 10 USDT".into(),
            at_ms: 1_796_300_000_000,
            shutdown_id: "sd-1".into(),
        };
        save(&dir, &trip).unwrap();
        assert_eq!(load(&dir), Some(trip.clone()));
        assert!(trip.describe().contains("2026-") && trip.describe().contains("drawdown 12"));
        assert_eq!(clear(&dir).unwrap(), Some(trip));
        assert_eq!(load(&dir), None);
        assert_eq!(clear(&dir).unwrap(), None);
        std::fs::write(path_in(&dir), "{not json").unwrap();
        assert!(load(&dir).unwrap().reason.contains("cannot be read"), "damaged still counts");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
