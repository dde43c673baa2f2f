//! Refusals: each refused order counted and logged (one WARN per symbol and code a minute), and
//! the refusal breaker told, so a refusal that will not heal halts its symbol instead of looping;
//! a halt shows in the log, `/status`, `/readyz` and `mmbot_quoting_halted`.

use std::time::Instant;

use crate::messages::events::Event;
use crate::messages::status::StatusPatch;
use crate::orders::refusal_breaker::{Change, PROBE_FIRST, PROBE_MAX, TRIP_AFTER};
use crate::telemetry::metrics::labels;

use super::*;

impl OrderManager {
    /// An order request refused by the exchange: counted, logged, recorded; a create's refusal
    /// also goes to the breaker.
    pub(super) fn reject(&mut self, action: &str, link: &str, code: i64, msg: String, symbol: &str) {
        let now = Instant::now();
        if let Some(n) = self.refusal_log.note(symbol, code, now) {
            log::warn!(action = action, symbol = symbol, retCode = code; "{symbol}: {action} refused with {code} \"{msg}\" ({n} in the last minute)");
        }
        self.metrics.orders_rejected.get_or_create(&labels(&[("symbol", symbol)])).inc();
        if action == "create" {
            let change = self.breaker.refused(symbol, code, &msg, now);
            self.on_breaker(symbol, change);
        }
        self.record(Event::OrderRejected {
            action: action.into(),
            link_id: link.into(),
            code,
            message: msg,
        });
    }

    /// A create accepted: the breaker's streak ends, a halted symbol resumes.
    pub(super) fn create_accepted(&mut self, symbol: &str) {
        let change = self.breaker.accepted(symbol, Instant::now());
        self.on_breaker(symbol, change);
    }

    pub(super) fn on_breaker(&mut self, symbol: &str, change: Change) {
        match change {
            Change::None => return,
            Change::Tripped(h) => {
                log::warn!(symbol = symbol, retCode = h.code; "{symbol}: quoting halted after {TRIP_AFTER} refusals in a row with {} that retrying cannot heal; its orders are cancelled, one probe order every {}-{} s until one is accepted", h.reason(), PROBE_FIRST.as_secs(), PROBE_MAX.as_secs());
                self.metrics
                    .quoting_halted
                    .get_or_create(&labels(&[("symbol", symbol), ("reason", &h.code.to_string())]))
                    .set(1);
                self.halted_codes.insert(symbol.to_string(), h.code);
            }
            Change::Resumed { halted_for } => {
                log::info!(symbol = symbol; "{symbol}: an order was accepted again after {} s halted: quoting resumes", halted_for.as_secs());
                if let Some(code) = self.halted_codes.remove(symbol) {
                    self.metrics
                        .quoting_halted
                        .get_or_create(&labels(&[("symbol", symbol), ("reason", &code.to_string())]))
                        .set(0);
                }
                self.all_halted_said = false;
            }
        }
        let halted = self.breaker.halted();
        if !self.all_halted_said && self.breaker.all_halted(&self.symbols) {
            self.all_halted_said = true;
            let why: Vec<String> = halted.iter().map(|(s, h)| format!("{s} {}", h.reason())).collect();
            log::error!("every symbol's quoting is halted by refusals ({}): nothing is quoted, /readyz answers 503 until the exchange accepts an order", why.join("; "));
        }
        self.web
            .do_send(StatusPatch::Halted(halted.into_iter().map(|(s, h)| (s, h.reason())).collect()));
    }
}
