//! The trade socket kept up: one authenticated `/v5/trade` connection at a time, reconnected
//! with capped exponential backoff and full jitter when it drops. Whoever sends asks for the
//! open client (`open`, never waits) or for one at any cost (`connected`, connects if needed).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::exchange::ws_trade_client::{WsTradeClient, WsTradeError, WsTradeSettings};
use crate::telemetry::metrics::{labels, Metrics};

const BACKOFF_FIRST: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(10);
/// A connection that lived this long resets the backoff.
const STABLE: Duration = Duration::from_secs(5);

pub struct TradeLink {
    settings: WsTradeSettings,
    current: RefCell<Option<Rc<WsTradeClient>>>,
    /// One connect at a time: a second caller waits for the first's result.
    connecting: tokio::sync::Mutex<()>,
    metrics: Option<Arc<Metrics>>,
    connects: Cell<u64>,
}

/// The wait before reconnect attempt `n` (0-based): full jitter over a capped exponential.
pub fn backoff(n: u32, jitter: f64) -> Duration {
    let cap = BACKOFF_FIRST.saturating_mul(1u32 << n.min(16)).min(BACKOFF_CAP);
    cap.mul_f64(jitter.clamp(0.0, 1.0))
}

impl TradeLink {
    pub fn new(settings: WsTradeSettings, metrics: Option<Arc<Metrics>>) -> Self {
        Self {
            settings,
            current: RefCell::new(None),
            connecting: tokio::sync::Mutex::new(()),
            metrics,
            connects: Cell::new(0),
        }
    }

    /// The open client, if there is one now.
    pub fn open(&self) -> Option<Rc<WsTradeClient>> {
        self.current.borrow().as_ref().filter(|c| !c.is_closed()).cloned()
    }

    /// The open client, connecting (and authenticating) first if there is none.
    pub async fn connected(&self) -> Result<Rc<WsTradeClient>, WsTradeError> {
        if let Some(c) = self.open() {
            return Ok(c);
        }
        let _one = self.connecting.lock().await;
        if let Some(c) = self.open() {
            return Ok(c);
        }
        let c = Rc::new(WsTradeClient::connect(self.settings.clone()).await?);
        *self.current.borrow_mut() = Some(c.clone());
        let n = self.connects.get() + 1;
        self.connects.set(n);
        if n > 1 {
            if let Some(m) = &self.metrics {
                m.ws_reconnects.get_or_create(&labels(&[("stream", "trade")])).inc();
            }
        }
        Ok(c)
    }

    /// Keep the socket up for as long as the returned future runs (abort it to stop).
    pub async fn keep_up(self: Rc<Self>) {
        let mut failures = 0u32;
        loop {
            match self.connected().await {
                Ok(c) => {
                    if failures > 0 {
                        log::info!("trade socket up again after {failures} failed attempt(s): orders go over it");
                    }
                    let up = std::time::Instant::now();
                    c.closed().await;
                    log::warn!("trade socket closed: order requests go by REST until it is back");
                    // A socket that keeps closing right after it opened is not hammered.
                    failures = if up.elapsed() < STABLE { failures + 1 } else { 0 };
                    if failures > 0 {
                        tokio::time::sleep(backoff(failures - 1, rand::random::<f64>())).await;
                    }
                }
                Err(e) => {
                    if failures == 0 {
                        log::warn!("trade socket: {e}; order requests go by REST, retrying");
                    }
                    let wait = backoff(failures, rand::random::<f64>());
                    failures += 1;
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_cap_and_is_jittered() {
        assert_eq!(backoff(0, 1.0), Duration::from_millis(250));
        assert_eq!(backoff(2, 1.0), Duration::from_millis(1000));
        assert_eq!(backoff(10, 1.0), BACKOFF_CAP);
        assert_eq!(backoff(40, 1.0), BACKOFF_CAP);
        assert_eq!(backoff(3, 0.5), Duration::from_millis(1000));
        assert_eq!(backoff(3, 0.0), Duration::ZERO);
    }
}
