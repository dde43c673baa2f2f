//! What the bot's PnL — and so its drawdown and kill switch — counts: the fills of this run's own
//! orders (quotes and the stop's closes), and funding on the position it holds. Not an operator's
//! manual fills on the same account (`cancel_scope = "own"` exists so that those stay theirs),
//! not a previous run's leftovers (their fills are in the inherited position, which the PnL
//! marks to market from its entry price). The position the bot quotes around is still the
//! exchange's whole net position: that is inventory, not PnL.

use bybit_v5::rest::Execution;

use crate::orders::link_id::LinkIds;

/// Whether `e` counts in this run's PnL.
pub fn counts(e: &Execution, run: &LinkIds) -> bool {
    e.exec_type == "Funding" || run.is_this_run(&e.order_link_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(kind: &str, link: &str) -> Execution {
        Execution {
            exec_type: kind.into(),
            order_link_id: link.into(),
            ..Default::default()
        }
    }

    #[test]
    fn own_fills_and_funding_count_manual_and_leftover_fills_do_not() {
        let run = LinkIds::new("mmb", "run1");
        assert!(counts(&exec("Trade", "mmb-run1-7"), &run));
        assert!(counts(&exec("Trade", "mmb-run1-9x"), &run), "a close at the stop");
        assert!(counts(&exec("Funding", ""), &run));
        assert!(!counts(&exec("Trade", ""), &run), "a manual order");
        assert!(!counts(&exec("Trade", "hand-placed-1"), &run));
        assert!(!counts(&exec("Trade", "mmb-run0-3"), &run), "a previous run's leftover");
    }
}
