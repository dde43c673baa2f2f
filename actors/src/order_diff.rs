//! From desired quotes and the orders resting now, the requests that make one into the other:
//! keep what is close enough (tolerance band, no churn), amend what moved, create what is
//! missing, cancel what is no longer wanted. Slots with a request outstanding are left alone.

use rust_decimal::Decimal;

use crate::orders::TrackedOrder;
use crate::quoting::Quote;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Create(Quote),
    Amend {
        link_id: String,
        price: Option<Decimal>,
        qty: Option<Decimal>,
    },
    Cancel {
        link_id: String,
    },
}

/// `tolerance_bps` is the largest price move, in basis points of the price, that keeps an order as it is.
pub fn diff(desired: &[Quote], live: &[&TrackedOrder], tolerance_bps: Decimal) -> Vec<Action> {
    let mut actions = Vec::new();
    for q in desired {
        match live.iter().find(|o| o.side == q.side && o.level == q.level) {
            None => actions.push(Action::Create(*q)),
            Some(o) if o.phase.is_pending() => {}
            Some(o) => {
                let price_moved = (o.price - q.price).abs() > q.price * tolerance_bps / Decimal::from(10_000);
                let qty_changed = o.qty - o.filled != q.qty && o.qty != q.qty;
                if price_moved || qty_changed {
                    actions.push(Action::Amend {
                        link_id: o.link_id.clone(),
                        price: price_moved.then_some(q.price),
                        qty: qty_changed.then_some(q.qty + o.filled),
                    });
                }
            }
        }
    }
    for o in live {
        let wanted = desired.iter().any(|q| q.side == o.side && q.level == o.level);
        if !wanted && !o.phase.is_pending() {
            actions.push(Action::Cancel {
                link_id: o.link_id.clone(),
            });
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::Phase;
    use bybit_v5::Side;
    use rust_decimal_macros::dec;

    fn live(link: &str, side: Side, level: u32, price: Decimal, phase: Phase) -> TrackedOrder {
        TrackedOrder {
            link_id: link.into(),
            order_id: None,
            symbol: "X".into(),
            side,
            level,
            price,
            qty: dec!(1),
            filled: dec!(0),
            phase,
        }
    }

    fn quote(side: Side, level: u32, price: Decimal) -> Quote {
        Quote {
            side,
            level,
            price,
            qty: dec!(1),
        }
    }

    #[test]
    fn keep_amend_create_cancel() {
        let a = live("a", Side::Buy, 0, dec!(99.0), Phase::Live);
        let b = live("b", Side::Sell, 0, dec!(101.0), Phase::Live);
        let c = live("c", Side::Sell, 1, dec!(102.0), Phase::Live);
        let d = live("d", Side::Buy, 2, dec!(97.0), Phase::Creating);
        let desired = [
            quote(Side::Buy, 0, dec!(99.05)),
            quote(Side::Sell, 0, dec!(101.5)),
            quote(Side::Buy, 1, dec!(98.0)),
            quote(Side::Buy, 2, dec!(96.0)),
        ];
        let actions = diff(&desired, &[&a, &b, &c, &d], dec!(10));
        assert_eq!(
            actions,
            vec![
                Action::Amend {
                    link_id: "b".into(),
                    price: Some(dec!(101.5)),
                    qty: None
                },
                Action::Create(quote(Side::Buy, 1, dec!(98.0))),
                Action::Cancel { link_id: "c".into() },
            ]
        );
    }

    #[test]
    fn nothing_desired_cancels_everything_settled() {
        let a = live("a", Side::Buy, 0, dec!(99.0), Phase::Live);
        let b = live("b", Side::Buy, 1, dec!(98.0), Phase::Cancelling);
        assert_eq!(diff(&[], &[&a, &b], dec!(0)), vec![Action::Cancel { link_id: "a".into() }]);
    }
}
