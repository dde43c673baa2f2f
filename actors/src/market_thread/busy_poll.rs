//! A market thread that never parks. Between book updates it keeps turning its scheduler (each
//! turn polls the sockets without blocking) and, every `rehearse_every`, runs the hot path on
//! canned data ([`HotPathRehearsal`]).
//!
//! Why: a parked thread's first book update after an idle gap paid its wake-up and cold caches
//! (tick to wire p50 ~120 µs for that update against ~50 µs for one right behind it). The price
//! is one core at 100 %: opt-in, `[market_thread] busy_poll`.

use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;

use crate::market_thread::hot_path_rehearsal::HotPathRehearsal;

/// Runs until its thread stops (the future is dropped with the arbiter).
pub async fn busy_poll(rehearse_every: Option<Duration>, mut rehearsal: HotPathRehearsal, rehearsals: Counter) {
    let mut last = Instant::now();
    loop {
        // A task that yields keeps tokio's scheduler from parking: it polls the I/O driver with
        // a zero timeout and comes back here after every other ready task has had its turn.
        tokio::task::yield_now().await;
        if let Some(every) = rehearse_every {
            if last.elapsed() >= every {
                std::hint::black_box(rehearsal.run());
                rehearsals.inc();
                last = Instant::now();
            }
        }
    }
}
