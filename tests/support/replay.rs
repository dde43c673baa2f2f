//! A bybit-sim replaying a recording, and waiting for it to play to its end.

use std::path::Path;
use std::time::{Duration, Instant};

use bybit_sim::market::source::MarketSource;
use bybit_sim::SimHandle;
use serde_json::Value;

/// A bybit-sim trading `symbol` on a replay of `file` at `speed`.
pub fn replay_sim(file: &Path, symbol: &str, speed: f64) -> SimHandle {
    super::start_sim_with(|c| {
        c.instruments = bybit_sim::market::instrument::select(&[symbol]).unwrap();
        c.source = MarketSource::Replay {
            files: vec![file.to_path_buf()],
            speed,
        };
    })
}

/// `GET /sim/market`.
pub async fn sim_market(sim: &SimHandle) -> Value {
    let url = format!("{}/sim/market", sim.rest_url());
    awc::Client::new().get(url).send().await.unwrap().json().await.unwrap()
}

/// Wait until the replay has applied its last event (panics after `limit`).
pub async fn wait_replay_end(sim: &SimHandle, limit: Duration) {
    let started = Instant::now();
    while sim_market(sim).await["ended"] != true {
        assert!(started.elapsed() < limit, "the replay did not end within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
