//! Progress of long backtests and sweeps on a terminal: a line on stderr, rewritten in place
//! about twice a second — events read, their rate, how far the recordings (or the grid) are,
//! and an ETA. A pipe gets nothing (the callers ask only when stderr is a terminal).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The line for `events` read and `fraction` (0–1) of the work done, `secs` after the start.
pub fn line(what: &str, events: u64, fraction: f64, secs: f64) -> String {
    let rate = events as f64 / secs.max(1e-9);
    let eta = if fraction > 0.0 {
        format!("{:.0} s", secs * (1.0 - fraction) / fraction)
    } else {
        "–".into()
    };
    format!(
        "\r{what}{events} events, {:.0} k/s, {:.0} % done, ETA {eta}   ",
        rate / 1000.0,
        fraction * 100.0
    )
}

/// One run's progress.
pub struct RunProgress {
    started: Instant,
    shown: AtomicBool,
}

impl RunProgress {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    pub fn show(&self, events: u64, fraction: f64) {
        self.shown.store(true, Ordering::Relaxed);
        eprint!("{}", line("", events, fraction, self.started.elapsed().as_secs_f64()));
    }

    /// The line ended, if one was shown (a run too short for one leaves no blank line).
    pub fn finish(&self) {
        if self.shown.load(Ordering::Relaxed) {
            eprintln!();
        }
    }
}

/// A sweep's progress: its runs' events and fractions summed over the grid.
pub struct SweepProgress {
    started: Instant,
    runs: Mutex<Vec<(u64, f64)>>,
}

impl SweepProgress {
    pub fn new(runs: usize) -> Self {
        Self {
            started: Instant::now(),
            runs: Mutex::new(vec![(0, 0.0); runs]),
        }
    }

    /// Run `i` has read `events`, `fraction` of its recordings (1.0: finished).
    pub fn show(&self, i: usize, events: u64, fraction: f64) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs[i] = (events, fraction);
        let done = runs.iter().filter(|(_, f)| *f >= 1.0).count();
        let events: u64 = runs.iter().map(|(e, _)| e).sum();
        let fraction = runs.iter().map(|(_, f)| f).sum::<f64>() / runs.len().max(1) as f64;
        let what = format!("{done}/{} runs, ", runs.len());
        eprint!("{}", line(&what, events, fraction, self.started.elapsed().as_secs_f64()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_is_the_time_so_far_scaled_to_what_is_left() {
        assert_eq!(
            line("1/4 runs, ", 2_000_000, 0.25, 2.0),
            "\r1/4 runs, 2000000 events, 1000 k/s, 25 % done, ETA 6 s   "
        );
        assert!(line("", 0, 0.0, 0.0).contains("ETA –"), "nothing read yet: no ETA");
    }
}
