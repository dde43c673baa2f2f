//! The exchange's clock: the wall clock, or a replay's — the recording's exchange time, running
//! from the first event at the configured speed, standing still while the market is paused.
//! Orders, executions and frames are stamped by it; signatures and rate-limit windows are
//! checked against the wall clock, as the clients that sign them keep it.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    Wall,
    Replay {
        /// The exchange time at `origin`.
        origin_ms: u64,
        origin: Instant,
        /// Exchange milliseconds per wall millisecond.
        speed: f64,
        paused_at: Option<Instant>,
        paused_for: Duration,
    },
}

pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Clock {
    pub fn replay(origin_ms: u64, speed: f64) -> Self {
        Clock::Replay {
            origin_ms,
            origin: Instant::now(),
            speed: if speed.is_finite() && speed > 0.0 { speed } else { 1.0 },
            paused_at: None,
            paused_for: Duration::ZERO,
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.at(Instant::now())
    }

    /// The exchange time at wall instant `t`.
    pub fn at(&self, t: Instant) -> u64 {
        match *self {
            Clock::Wall => wall_ms(),
            Clock::Replay {
                origin_ms,
                origin,
                speed,
                paused_at,
                paused_for,
            } => {
                let t = paused_at.map_or(t, |p| p.min(t));
                let run = t.saturating_duration_since(origin).saturating_sub(paused_for);
                origin_ms + (run.as_secs_f64() * 1000.0 * speed) as u64
            }
        }
    }

    /// The wall instant at which the clock reads `ms` (now, if it already has or never will).
    pub fn instant_of(&self, ms: u64) -> Instant {
        let now = Instant::now();
        let ahead = ms.saturating_sub(self.now_ms());
        let speed = match *self {
            Clock::Wall => 1.0,
            Clock::Replay { speed, .. } => speed,
        };
        now + Duration::from_secs_f64(ahead as f64 / 1000.0 / speed)
    }

    pub fn pause(&mut self) {
        if let Clock::Replay { paused_at, .. } = self {
            paused_at.get_or_insert_with(Instant::now);
        }
    }

    pub fn resume(&mut self) {
        if let Clock::Replay { paused_at, paused_for, .. } = self {
            if let Some(p) = paused_at.take() {
                *paused_for += p.elapsed();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_clock_starts_at_the_recording_runs_at_its_speed_and_stands_still_when_paused() {
        let mut c = Clock::replay(1_000_000, 10.0);
        let Clock::Replay { origin, .. } = c else { panic!() };
        assert_eq!(c.at(origin), 1_000_000);
        assert_eq!(c.at(origin + Duration::from_millis(100)), 1_001_000);
        c.pause();
        let frozen = c.now_ms();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(c.now_ms(), frozen);
        c.resume();
        assert!(c.now_ms() >= frozen);
        assert!(c.now_ms() < frozen + 150, "the pause is not counted");
    }
}
