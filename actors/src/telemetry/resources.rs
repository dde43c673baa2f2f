//! The process's own resource use, read from /proc: resident memory, CPU time, open file
//! descriptors, threads. Linux only; elsewhere every reading is None.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    pub rss_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<u64>,
    pub threads: Option<u64>,
}

/// One sample: the process's resources and how long each actor took to answer a ping.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceReport {
    #[serde(flatten)]
    pub usage: Usage,
    /// Milliseconds each actor took to answer a ping (None: it did not answer within a second).
    pub mailbox_lag_ms: Vec<(String, Option<f64>)>,
}

fn status_field(status: &str, key: &str) -> Option<u64> {
    status.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime from /proc/self/stat, in seconds (fields 14 and 15, after the command name).
fn cpu_seconds(stat: &str) -> Option<f64> {
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux platform mmbot targets.
    Some(ticks as f64 / 100.0)
}

/// The soft limit on open files ("Max open files" in /proc/self/limits).
pub fn max_fds() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

pub fn sample() -> Usage {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    Usage {
        rss_bytes: status_field(&status, "VmRSS:").map(|kb| kb * 1024),
        cpu_seconds: cpu_seconds(&stat),
        open_fds: std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as u64),
        threads: status_field(&status, "Threads:"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_formats() {
        let stat = "1234 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(status_field("Name:\tx\nVmRSS:\t  2048 kB\nThreads:\t7\n", "VmRSS:"), Some(2048));
        let now = sample();
        if cfg!(target_os = "linux") {
            assert!(now.rss_bytes.unwrap() > 0 && now.open_fds.unwrap() > 0 && now.threads.unwrap() >= 1);
        }
    }
}
