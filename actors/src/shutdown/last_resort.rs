//! The last-resort flatten: when the order step's actor is gone (it panicked, or its thread
//! died), the Supervisor cancels the bot's orders itself, with nothing of the dead actors — a
//! fresh REST client on its own thread: list each symbol's open orders, cancel the bot's (by
//! cancel-all per symbol, or by cancel-batch of their link ids when `cancel_scope = "own"`),
//! and list again until the exchange shows none of them or the step's time is spent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bybit_v5::rest::{path, OrderInfo, MAX_BATCH_ITEMS, ONLY_ACTIVE_ORDERS};
use serde_json::json;

use crate::budget::rate_governor::Governor;
use crate::exchange::rest_client::{Admission, RestClient, RestError, RestSettings};
use crate::ha::fence::Fence;
use crate::messages::stop::{OrdersOutcome, StepStatus, StopAck};
use crate::shutdown::flatten::open_orders_in;
use crate::telemetry::metrics::Metrics;

/// Between a round of cancels and the read that checks them: Bybit's cancels settle
/// asynchronously within a few milliseconds.
const SETTLE: Duration = Duration::from_millis(50);

/// What the last resort needs, all of it plain data: it builds its client when it runs.
#[derive(Clone)]
pub struct LastResort {
    pub rest: RestSettings,
    pub governor: Governor,
    pub metrics: Option<Arc<Metrics>>,
    pub symbols: Vec<String>,
    /// The bot's order-link prefix: orders of any of its runs are cancelled.
    pub link_prefix: String,
    /// Cancel by link id only (`cancel_scope = "own"`), else cancel-all per symbol.
    pub by_id: bool,
    /// Under a lease: this run's id (another run may be the active one) and the fence, which
    /// says whether this instance ever placed an order.
    pub lease: Option<(String, Fence)>,
}

impl LastResort {
    fn is_ours(&self, o: &OrderInfo) -> bool {
        let rest = o.order_link_id.strip_prefix(&self.link_prefix);
        match &self.lease {
            Some((run_id, _)) => rest
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|r| r.starts_with(&format!("{run_id}-"))),
            None => rest.is_some_and(|r| r.starts_with('-')),
        }
    }

    /// The bot's open orders per symbol; an error when any listing failed.
    async fn list(&self, client: &RestClient) -> Result<Vec<(String, Vec<String>)>, RestError> {
        let mut out = Vec::new();
        for symbol in &self.symbols {
            let mut ours = Vec::new();
            let mut cursor = String::new();
            loop {
                let mut q = format!("category=linear&symbol={symbol}&limit=50&orderFilter={ONLY_ACTIVE_ORDERS}");
                if !cursor.is_empty() {
                    q.push_str(&format!("&cursor={cursor}"));
                }
                let a = client.get(path::ORDER_REALTIME, &q).await?;
                let list = open_orders_in(&a.result["list"]);
                ours.extend(list.iter().filter(|o| self.is_ours(o)).map(|o| o.order_link_id.clone()));
                cursor = a.result["nextPageCursor"].as_str().unwrap_or("").to_string();
                if cursor.is_empty() {
                    break;
                }
            }
            out.push((symbol.clone(), ours));
        }
        Ok(out)
    }

    /// One round of cancels for what is listed; the number of requests sent.
    async fn cancel(&self, client: &RestClient, listed: &[(String, Vec<String>)]) -> u32 {
        let mut requests = 0;
        for (symbol, links) in listed.iter().filter(|(_, l)| !l.is_empty()) {
            if self.by_id {
                for chunk in links.chunks(MAX_BATCH_ITEMS) {
                    let request: Vec<_> = chunk.iter().map(|l| json!({"symbol": symbol, "orderLinkId": l})).collect();
                    let body = json!({"category": "linear", "request": request}).to_string();
                    requests += 1;
                    if let Err(e) = client
                        .post(path::ORDER_CANCEL_BATCH, body, Admission::Ask(chunk.len() as u32))
                        .await
                    {
                        log::warn!("last-resort flatten: {symbol}: cancel-batch: {e}");
                    }
                }
            } else {
                let body = json!({"category": "linear", "symbol": symbol, "orderFilter": ONLY_ACTIVE_ORDERS}).to_string();
                requests += 1;
                if let Err(e) = client.post(path::ORDER_CANCEL_ALL, body, Admission::Ask(1)).await {
                    log::warn!("last-resort flatten: {symbol}: cancel-all: {e}");
                }
            }
        }
        requests
    }

    /// Cancel and verify until flat or `deadline`; answers as the order step would.
    pub async fn flatten(&self, why: &str, deadline: Instant) -> StopAck {
        if self.lease.as_ref().is_some_and(|(_, fence)| !fence.ever_opened()) {
            return StopAck {
                orders: Some(OrdersOutcome {
                    skipped_dry_run: true,
                    remaining: Some(0),
                    ..Default::default()
                }),
                ..StopAck::ok(format!("{why}; standby: never active, no order was placed"))
            };
        }
        log::error!("order step: {why}; the supervisor cancels the bot's orders itself (last-resort flatten)");
        let client = RestClient::new(self.rest.clone(), self.governor.clone(), self.metrics.clone());
        let (mut requests, mut attempts) = (0u32, 0u32);
        let mut first_open: Option<usize> = None;
        let mut last: Option<Vec<(String, Vec<String>)>> = None;
        // Leave the step's answer a little time before its own timeout.
        let end = deadline.checked_sub(Duration::from_millis(100)).unwrap_or(deadline);
        while Instant::now() < end {
            attempts += 1;
            let listed = tokio::time::timeout(end.saturating_duration_since(Instant::now()), self.list(&client)).await;
            match listed {
                Ok(Ok(listed)) => {
                    let open: usize = listed.iter().map(|(_, l)| l.len()).sum();
                    if open == 0 {
                        last = Some(listed);
                        break;
                    }
                    first_open.get_or_insert(open);
                    requests += self.cancel(&client, &listed).await;
                    last = Some(listed);
                }
                Ok(Err(e)) => log::warn!("last-resort flatten: listing open orders: {e}"),
                Err(_) => break,
            }
            tokio::time::sleep(SETTLE.min(end.saturating_duration_since(Instant::now()))).await;
        }
        let remaining: Option<Vec<String>> = last.map(|l| l.into_iter().flat_map(|(_, ids)| ids).collect());
        let verified_flat = remaining.as_ref().is_some_and(|r| r.is_empty());
        let cancelled = first_open.unwrap_or(0).saturating_sub(remaining.as_ref().map_or(0, Vec::len));
        let orders = OrdersOutcome {
            cancelled,
            remaining: remaining.as_ref().map(Vec::len),
            verified_flat,
            attempts,
            may_remain: remaining.clone().unwrap_or_default(),
            ..Default::default()
        };
        let (status, detail) = if verified_flat {
            (
                StepStatus::Ok,
                format!("{why}; last-resort flatten by the supervisor: cancelled {cancelled} orders, verified 0 open on the exchange ({requests} cancel request(s))"),
            )
        } else {
            (
                StepStatus::Failed,
                format!(
                    "{why}; last-resort flatten by the supervisor could not verify flat: {} order(s) may remain",
                    remaining.map_or("unknown".to_string(), |r| r.len().to_string())
                ),
            )
        };
        StopAck {
            status,
            detail,
            orders: Some(orders),
            positions: None,
        }
    }
}
