//! Faults for the end-to-end tests, compiled into debug builds only: a release binary ignores
//! them. `MMBOT_FAULT_PANIC=<actor>` (`strategy`, `order_manager`) makes that actor panic on the
//! first message it handles `MMBOT_FAULT_PANIC_AFTER_MS` (default 0) after it started — the way
//! to prove that a panic stops the bot with its orders cancelled.

use std::time::{Duration, Instant};

/// An actor's panic switch: armed from the environment in debug builds, never in release.
#[derive(Debug, Clone, Copy)]
pub struct PanicSwitch {
    at: Option<Instant>,
}

impl PanicSwitch {
    pub fn for_actor(actor: &str) -> Self {
        let armed = cfg!(debug_assertions) && std::env::var("MMBOT_FAULT_PANIC").is_ok_and(|a| a == actor);
        let after_ms = std::env::var("MMBOT_FAULT_PANIC_AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Self {
            at: armed.then(|| Instant::now() + Duration::from_millis(after_ms)),
        }
    }

    /// Panics when armed and due; `handling` names the message, for the panic's text. The
    /// panic's location is the caller's: the handler that panicked.
    #[track_caller]
    pub fn check(&self, actor: &str, handling: &str) {
        if self.at.is_some_and(|at| Instant::now() >= at) {
            panic!("injected fault: {actor} panics handling {handling}");
        }
    }
}
