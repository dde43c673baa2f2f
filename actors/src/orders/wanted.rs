//! One symbol's wanted changes: the diff between the quotes it wants and the orders that rest,
//! each change with its ladder level and how far off its order is — what the requote plan ranks
//! when the budget cannot take them all. The OrderManager and the backtest both call it.

use rust_decimal::Decimal;

use crate::market::quoting::Quote;
use crate::orders::order_diff::{diff, Action};
use crate::orders::order_table::TrackedOrder;
use crate::orders::requote_plan::Wanted;

/// `refused_amend(link_id)`: the exchange refused to amend that order; it is cancelled now and
/// created again on the next plan.
pub fn wanted_for(
    symbol: &str,
    desired: &[Quote],
    live: &[&TrackedOrder],
    tolerance_bps: Decimal,
    refused_amend: impl Fn(&str) -> bool,
) -> Vec<Wanted> {
    let find = |link_id: &str| live.iter().find(|o| o.link_id == link_id);
    let mut out = Vec::new();
    for action in diff(desired, live, tolerance_bps) {
        let (action, level, off_bps) = match action {
            Action::Create(q) => (Action::Create(q), q.level, Decimal::MAX),
            Action::Amend { link_id, price, qty } => {
                let Some(o) = find(&link_id) else { continue };
                if refused_amend(&link_id) {
                    (Action::Cancel { link_id }, o.level, Decimal::ZERO)
                } else {
                    let off = price
                        .filter(|p| !p.is_zero())
                        .map_or(Decimal::ZERO, |p| (o.price - p).abs() / p * Decimal::from(10_000));
                    (Action::Amend { link_id, price, qty }, o.level, off)
                }
            }
            Action::Cancel { link_id } => {
                let level = find(&link_id).map_or(0, |o| o.level);
                (Action::Cancel { link_id }, level, Decimal::ZERO)
            }
        };
        out.push(Wanted {
            symbol: symbol.to_string(),
            action,
            level,
            off_bps,
        });
    }
    out
}
