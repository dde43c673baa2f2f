//! The shutdown report: one line per step, what became of the orders, the exit code the
//! operator's contract (DESIGN.md) assigns, and the summary printed at the end.

use serde::Serialize;

use crate::messages::stop::{OrdersOutcome, PositionsOutcome, StepStatus};

/// Name of the step whose outcome decides between "flat" and "orders may remain".
pub const ORDER_STEP: &str = "order_manager";

pub mod exit_code {
    pub const CLEAN: i32 = 0;
    pub const COULD_NOT_START: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const LATER_STEP_FAILED: i32 = 3;
    pub const ORDERS_MAY_REMAIN: i32 = 4;
    pub const FORCED: i32 = 5;
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub step: String,
    pub status: StepStatus,
    pub elapsed_ms: u64,
    /// The time the step was given (its own timeout, or what was left of the deadline).
    pub timeout_ms: u64,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShutdownReport {
    pub shutdown_id: String,
    pub reason: String,
    /// The shutdown happened because the bot could not start properly.
    pub during_startup: bool,
    pub steps: Vec<StepReport>,
    pub orders: Option<OrdersOutcome>,
    pub positions: Option<PositionsOutcome>,
    pub total_ms: u64,
    pub exit_code: i32,
}

/// DESIGN.md's exit codes: 4 if orders may remain, else 3 if any step failed or timed out,
/// else 1 for a failed start, else 0.
pub fn exit_code_for(steps: &[StepReport], orders: Option<&OrdersOutcome>, during_startup: bool) -> i32 {
    let order_step_ok = steps
        .iter()
        .find(|s| s.step == ORDER_STEP)
        .is_some_and(|s| s.status == StepStatus::Ok);
    let flat = orders.is_some_and(|o| o.skipped_dry_run || o.verified_flat);
    if !order_step_ok || !flat {
        return exit_code::ORDERS_MAY_REMAIN;
    }
    if steps.iter().any(|s| s.status != StepStatus::Ok) {
        return exit_code::LATER_STEP_FAILED;
    }
    if during_startup {
        return exit_code::COULD_NOT_START;
    }
    exit_code::CLEAN
}

pub fn exit_meaning(code: i32) -> &'static str {
    match code {
        exit_code::CLEAN => "clean: every step ok, zero open orders verified on the exchange",
        exit_code::COULD_NOT_START => "could not start",
        exit_code::USAGE => "usage error",
        exit_code::LATER_STEP_FAILED => {
            "zero open orders verified, but a later step failed or timed out, or the run ended by a panic or a recorder failure"
        }
        exit_code::ORDERS_MAY_REMAIN => "ORDERS MAY REMAIN on the exchange: cancellation failed or could not be verified",
        exit_code::FORCED => "forced by a second signal",
        _ => "unknown",
    }
}

impl ShutdownReport {
    /// The human summary printed when the process ends.
    pub fn summary(&self) -> String {
        let mut s = format!("mmbot shutdown {} (reason: {})\n", self.shutdown_id, self.reason);
        for (i, step) in self.steps.iter().enumerate() {
            s.push_str(&format!(
                "  {}. {:<15} {:<10} {:>6} ms  {}\n",
                i + 1,
                step.step,
                step.status.to_string(),
                step.elapsed_ms,
                step.detail
            ));
        }
        if let Some(o) = &self.orders {
            for sym in &o.symbols {
                s.push_str(&format!("  orders {}\n", sym.line()));
            }
            if !o.may_remain.is_empty() {
                s.push_str(&format!("  orders that may remain: {}\n", o.may_remain.join(", ")));
            }
        }
        if let Some(p) = &self.positions {
            s.push_str(&positions_line(p));
        }
        s.push_str(&format!(
            "  total {} ms; exit code {}: {}\n",
            self.total_ms,
            self.exit_code,
            exit_meaning(self.exit_code)
        ));
        s
    }
}

/// "positions at exit: SOLUSDT 0.6 (notional 93.41)" — or none, or unknown.
fn positions_line(p: &PositionsOutcome) -> String {
    let list = crate::messages::stop::PositionAtExit::describe;
    let mut s = String::new();
    if p.close_requested && !p.before_close.is_empty() {
        s.push_str(&format!("  positions before closing: {}\n", list(&p.before_close)));
    }
    match &p.left {
        None => s.push_str("  positions at exit: UNKNOWN (the exchange could not be asked)\n"),
        Some(v) if v.is_empty() => s.push_str("  positions at exit: none\n"),
        Some(v) => s.push_str(&format!("  positions at exit: {}\n", list(v))),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, status: StepStatus) -> StepReport {
        StepReport {
            step: name.into(),
            status,
            elapsed_ms: 1,
            timeout_ms: 1000,
            detail: String::new(),
        }
    }

    fn flat() -> OrdersOutcome {
        OrdersOutcome {
            verified_flat: true,
            remaining: Some(0),
            ..Default::default()
        }
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        let ok = vec![step(ORDER_STEP, StepStatus::Ok), step("recorder", StepStatus::Ok)];
        assert_eq!(exit_code_for(&ok, Some(&flat()), false), 0);
        assert_eq!(exit_code_for(&ok, Some(&flat()), true), 1);
        let later = vec![step(ORDER_STEP, StepStatus::Ok), step("web_server", StepStatus::TimedOut)];
        assert_eq!(exit_code_for(&later, Some(&flat()), false), 3);
        let orders = vec![step(ORDER_STEP, StepStatus::TimedOut), step("recorder", StepStatus::Ok)];
        assert_eq!(exit_code_for(&orders, Some(&flat()), false), 4);
        let unverified = OrdersOutcome {
            remaining: None,
            ..Default::default()
        };
        assert_eq!(exit_code_for(&ok, Some(&unverified), false), 4);
        assert_eq!(exit_code_for(&ok, None, false), 4);
        let dry = OrdersOutcome {
            skipped_dry_run: true,
            ..Default::default()
        };
        assert_eq!(exit_code_for(&ok, Some(&dry), false), 0);
    }
}
