//! State shared by every HTTP worker of the simulator.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use tokio::sync::{broadcast, mpsc};

use crate::api::rest::rate_limit::{RateLimiter, RateLimits};
use crate::exchange::Exchange;
use crate::faults::Faults;

/// Commands for the thread that owns the HTTP server's lifecycle.
#[derive(Debug)]
pub enum Control {
    /// Close the listening socket for this many milliseconds, then listen again on the same address.
    Refuse(u64),
}

/// One received `/v5/` request, for `/sim/requests` (benchmarks cross-check timings with it).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Received {
    pub path: String,
    pub at_us: u64,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Stats {
    pub requests: BTreeMap<String, u64>,
    /// Requests answered 403 because their IP was over the IP limit.
    pub ip_banned: u64,
    #[serde(skip)]
    pub recent: VecDeque<Received>,
}

const RECENT_CAP: usize = 100_000;

impl Stats {
    pub fn record(&mut self, path: &str, at_us: u64) {
        *self.requests.entry(path.to_string()).or_default() += 1;
        self.recent.push_back(Received {
            path: path.to_string(),
            at_us,
        });
        while self.recent.len() > RECENT_CAP {
            self.recent.pop_front();
        }
    }
}

pub struct Shared {
    pub exchange: Mutex<Exchange>,
    pub faults: RwLock<Faults>,
    pub limits: RateLimits,
    /// How long after its answer a cancel-all's orders leave the book (Bybit's is asynchronous).
    pub cancel_all_delay: std::time::Duration,
    pub limiter: Mutex<RateLimiter>,
    pub stats: Mutex<Stats>,
    /// Every WebSocket session listens here and drops its connection when told.
    pub ws_kill: broadcast::Sender<()>,
    pub control: mpsc::UnboundedSender<Control>,
    pub conn_ids: AtomicU64,
    /// While set, the market's clock stands still: no walk, no trades, no book updates.
    pub paused: std::sync::atomic::AtomicBool,
    /// How long an order request takes to reach the matching engine (order-entry latency).
    pub order_latency: std::time::Duration,
}

pub type AppState = Arc<Shared>;

impl Shared {
    /// The exchange, even if a panicking handler poisoned the lock: state stays consistent
    /// because every method finishes its mutation before anything can panic.
    ///
    /// A replay is caught up to its clock first, so whoever looks sees every event up to now.
    pub fn exchange(&self) -> MutexGuard<'_, Exchange> {
        let mut ex = self.exchange.lock().unwrap_or_else(|e| e.into_inner());
        ex.catch_up();
        ex
    }

    pub fn faults(&self) -> Faults {
        self.faults.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Read the faults without copying them (for checks on every message).
    pub fn with_faults<R>(&self, read: impl FnOnce(&Faults) -> R) -> R {
        read(&self.faults.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The cancel-all delay now: the configured one, or the `cancel_all_delay_ms` fault's.
    pub fn cancel_all_delay(&self) -> std::time::Duration {
        self.faults()
            .cancel_all_delay_ms
            .map_or(self.cancel_all_delay, std::time::Duration::from_millis)
    }

    pub fn next_conn_id(&self) -> String {
        format!("sim-conn-{}", self.conn_ids.fetch_add(1, Ordering::Relaxed))
    }
}

pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
