//! Answers: what a batch's reply says of each of its orders (accepted, refused and why, or in
//! doubt) applied to the order table; strays of this run that nobody tracks are cancelled.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bybit_v5::RetCode;

use crate::exchange::in_flight::InFlight;
use crate::exchange::rest_client::{count_rejection, Answer, RestError};
use crate::messages::events::Event;
use crate::orders::order_table::Phase;
use crate::shutdown::flatten::{flatten, FlattenJob, Transports};
use crate::telemetry::metrics::labels;

use super::*;

impl OrderManager {
    /// Apply a batch answer to the orders it named.
    pub(super) fn on_batch(&mut self, kind: BatchKind, endpoint: &str, links: &[String], r: Result<Answer, RestError>) {
        let action = match kind {
            BatchKind::Create => "create",
            BatchKind::Amend => "amend",
            BatchKind::Cancel => "cancel",
        };
        let answer = match r {
            Ok(a) => a,
            Err(e) => return self.on_batch_failed(kind, action, links, e),
        };
        let codes = answer.ext["list"].as_array().cloned().unwrap_or_default();
        let results = answer.result["list"].as_array().cloned().unwrap_or_default();
        for (i, link) in links.iter().enumerate() {
            let item = ItemAnswer {
                code: codes.get(i).and_then(|c| c["code"].as_i64()).unwrap_or(0),
                msg: codes.get(i).and_then(|c| c["msg"].as_str()).unwrap_or("").to_string(),
                order_id: results.get(i).and_then(|r| r["orderId"].as_str()).unwrap_or("").to_string(),
            };
            self.on_batch_item(kind, action, endpoint, link, item);
        }
    }

    /// The whole batch failed: an order whose fate is unknown is learned from the exchange, one
    /// the exchange never took is dropped (create) or back to what it was (amend, cancel).
    pub(super) fn on_batch_failed(&mut self, kind: BatchKind, action: &str, links: &[String], e: RestError) {
        log::warn!(action = action, orders = links.len(); "{action} batch of {} failed: {e}", links.len());
        if let (BatchKind::Create, RestError::Exchange { code, msg }) = (kind, &e) {
            // A refusal of the whole batch is a refusal of each create in it.
            for l in links {
                if let Some(symbol) = self.table.get(l).map(|o| o.symbol.clone()) {
                    let change = self.breaker.refused(&symbol, code.code(), msg, Instant::now());
                    self.on_breaker(&symbol, change);
                }
            }
        }
        for l in links {
            if e.outcome_unknown() {
                // Never retried blindly: the order's fate is learned from the exchange.
                if let Some(o) = self.table.get_mut(l) {
                    o.phase = Phase::Unknown;
                }
            } else if kind == BatchKind::Create {
                self.table.remove(l);
            } else if let Some(o) = self.table.get_mut(l) {
                match kind {
                    BatchKind::Amend => o.amend_refused(),
                    _ => o.cancel_refused(),
                }
            }
        }
        if !e.outcome_unknown() {
            self.record(Event::Error {
                source: format!("{action}-batch"),
                message: e.to_string(),
            });
        }
    }

    /// One order's answer within a batch.
    pub(super) fn on_batch_item(&mut self, kind: BatchKind, action: &str, endpoint: &str, link: &String, item: ItemAnswer) {
        let ItemAnswer { code, msg, order_id } = item;
        let symbol = self.table.get(link).map(|o| o.symbol.clone()).unwrap_or_default();
        let rc = RetCode::from_code(code);
        if rc != RetCode::Ok {
            count_rejection(&self.governor, Some(&self.metrics), endpoint, code);
        }
        if rc == RetCode::RateLimited {
            log::warn!(action = action, link_id = link.as_str(), retCode = 10006; "{action} {link}: refused with 10006 although the rate governor admitted it");
        }
        match (kind, rc) {
            (BatchKind::Create, RetCode::Ok) => {
                self.create_accepted(&symbol);
                if let Some(o) = self.table.get_mut(link) {
                    o.order_id = Some(order_id);
                    if o.phase == Phase::Creating {
                        o.phase = Phase::Live;
                    }
                }
            }
            (BatchKind::Amend, RetCode::Ok) => {
                if let Some(o) = self.table.get_mut(link) {
                    o.amend_done();
                }
            }
            (BatchKind::Cancel, RetCode::Ok) => {
                self.table.remove(link);
                self.replace.remove(link);
                self.metrics.orders_cancelled.get_or_create(&labels(&[("symbol", &symbol)])).inc();
            }
            (_, rc) if rc.means_order_gone() => {
                self.table.remove(link);
            }
            (BatchKind::Create, _) => {
                self.table.remove(link);
                self.reject(action, link, code, msg, &symbol);
            }
            (kind, rc) => {
                if let Some(o) = self.table.get_mut(link) {
                    match kind {
                        BatchKind::Amend => o.amend_refused(),
                        _ => o.cancel_refused(),
                    }
                }
                if kind == BatchKind::Amend && !rc.is_transient() {
                    // The exchange will not amend this one: replace it (cancel, then create).
                    self.replace.insert(link.clone());
                }
                self.reject(action, link, code, msg, &symbol);
            }
        }
    }

    /// Orders of this run nobody tracks go by the same escalation as at shutdown (no cancel-all:
    /// it would take the tracked orders too), within one reconcile interval.
    pub(super) fn cancel_strays(&mut self, symbol: &str, strays: Vec<String>) {
        let guard = InFlight::new(&self.in_flight);
        let targets: HashSet<String> = strays.iter().cloned().collect();
        let job = FlattenJob {
            symbols: vec![symbol.to_string()],
            paths: self.cancel_paths(CancelScope::Own),
            target: Rc::new(move |l: &str| targets.contains(l)),
            known: HashMap::from([(symbol.to_string(), strays)]),
            deadline: Instant::now() + Duration::from_millis(self.settings.reconcile_interval_ms.max(1000)),
            silence: self.settings.silence(),
            settled: Rc::new(|| true),
            doubt_until: Rc::new(|| None),
            account_wide: false,
            believed_open: Rc::default(),
        };
        let transports = Transports {
            dead_man: None,
            ..self.transports()
        };
        actix_rt::spawn(async move {
            let out = flatten(job, transports).await;
            for s in out.symbols.iter().filter(|s| !s.flat) {
                log::warn!("untracked orders not cancelled yet: {}", s.line());
            }
            drop(guard);
        });
    }
}
