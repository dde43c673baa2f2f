//! From desired quotes and the orders resting now, the requests that make one into the other:
//! keep what is close enough (tolerance band, no churn), amend what moved, create what is
//! missing, cancel what is no longer wanted. Each order is judged as it will be once the
//! requests in flight settle (an amend's target, not the price it leaves), and an order with a
//! request outstanding gets no second one — except a cancel, which may overtake an amend.

use rust_decimal::Decimal;

use crate::market::quoting::Quote;
use crate::orders::order_table::{Phase, TrackedOrder};

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

/// Whether `from` → `to` is a move of more than `tolerance_bps` of `to`: |Δ| > `to` × tolerance
/// / 10 000, multiplied out (no division on every plan). An unmoved price never is (for a
/// price and a tolerance not below zero); with no tolerance, any move is — both without the
/// products.
fn moved_beyond(from: Decimal, to: Decimal, tolerance_bps: Decimal) -> bool {
    if !to.is_sign_negative() && !tolerance_bps.is_sign_negative() {
        if from == to {
            return false;
        }
        if tolerance_bps.is_zero() {
            return true;
        }
    }
    (from - to).abs() * Decimal::from(10_000) > to * tolerance_bps
}

/// `tolerance_bps` is the largest price move, in basis points of the price, that keeps an order as it is.
pub fn diff(desired: &[Quote], live: &[&TrackedOrder], tolerance_bps: Decimal) -> Vec<Action> {
    let mut actions = Vec::new();
    for q in desired {
        match live.iter().find(|o| o.side == q.side && o.level == q.level) {
            None => actions.push(Action::Create(*q)),
            Some(o) if o.phase.is_pending() => {}
            Some(o) => {
                let price_moved = moved_beyond(o.price, q.price, tolerance_bps);
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
        if !wanted && matches!(o.phase, Phase::Live | Phase::Amending) {
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
    use bybit_v5::Side;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn decimal() -> impl Strategy<Value = Decimal> {
        (-1_000_000i64..1_000_000, 0u32..6).prop_map(|(m, s)| Decimal::new(m, s))
    }

    proptest! {
        /// The shortcuts answer what the products answer, for any signs and scales.
        #[test]
        fn moved_beyond_is_the_tolerance_band(from in decimal(), to in decimal(), tol in decimal(), same in any::<bool>(), zero in any::<bool>()) {
            // The same value, written with more decimals.
            let from = if same { let mut f = to; f.rescale(to.scale() + 2); f } else { from };
            let tol = if zero { Decimal::ZERO } else { tol };
            prop_assert_eq!(moved_beyond(from, to, tol), (from - to).abs() * Decimal::from(10_000) > to * tol);
        }
    }

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
            amend_from: None,
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
    fn a_move_of_exactly_the_tolerance_keeps_the_order_and_one_past_it_amends() {
        let at = live("a", Side::Buy, 0, dec!(100.1), Phase::Live);
        assert!(
            diff(&[quote(Side::Buy, 0, dec!(100))], &[&at], dec!(10)).is_empty(),
            "0.1 is 10 bps of 100"
        );
        let past = live("a", Side::Buy, 0, dec!(100.11), Phase::Live);
        assert_eq!(diff(&[quote(Side::Buy, 0, dec!(100))], &[&past], dec!(10)).len(), 1);
        assert_eq!(
            diff(&[quote(Side::Buy, 0, dec!(100))], &[&at], dec!(0)).len(),
            1,
            "no tolerance: any move"
        );
    }

    #[test]
    fn nothing_desired_cancels_everything_settled() {
        let a = live("a", Side::Buy, 0, dec!(99.0), Phase::Live);
        let b = live("b", Side::Buy, 1, dec!(98.0), Phase::Cancelling);
        let c = live("c", Side::Buy, 2, dec!(97.0), Phase::Creating);
        assert_eq!(diff(&[], &[&a, &b, &c], dec!(0)), vec![Action::Cancel { link_id: "a".into() }]);
    }

    #[test]
    fn an_amend_in_flight_gets_no_second_amend() {
        let mut a = live("a", Side::Buy, 0, dec!(99.0), Phase::Live);
        a.amend_sent(Some(dec!(99.5)), None);
        // The quote moved again while the amend is on its way: wait for its answer.
        assert_eq!(diff(&[quote(Side::Buy, 0, dec!(99.9))], &[&a], dec!(1)), vec![]);
        // And a quote equal to the amend's target is no reason for anything, even once settled.
        a.amend_done();
        assert_eq!(diff(&[quote(Side::Buy, 0, dec!(99.5))], &[&a], dec!(0)), vec![]);
    }

    #[test]
    fn once_settled_only_a_move_beyond_tolerance_of_the_target_amends() {
        let mut a = live("a", Side::Buy, 0, dec!(100.0), Phase::Live);
        a.amend_sent(Some(dec!(101.0)), None);
        a.amend_done();
        // 101.01 is 1 bp from the target 101 (but 101 bp from the old 100): kept.
        assert_eq!(diff(&[quote(Side::Buy, 0, dec!(101.01))], &[&a], dec!(2)), vec![]);
        assert_eq!(
            diff(&[quote(Side::Buy, 0, dec!(101.05))], &[&a], dec!(2)),
            vec![Action::Amend {
                link_id: "a".into(),
                price: Some(dec!(101.05)),
                qty: None
            }]
        );
    }

    #[test]
    fn a_refused_amend_is_judged_from_the_restored_price() {
        let mut a = live("a", Side::Buy, 0, dec!(100.0), Phase::Live);
        a.amend_sent(Some(dec!(101.0)), None);
        a.amend_refused();
        let actions = diff(&[quote(Side::Buy, 0, dec!(101.0))], &[&a], dec!(2));
        assert_eq!(
            actions,
            vec![Action::Amend {
                link_id: "a".into(),
                price: Some(dec!(101.0)),
                qty: None
            }]
        );
    }

    #[test]
    fn a_cancel_may_overtake_an_amend_in_flight() {
        let mut a = live("a", Side::Sell, 3, dec!(105.0), Phase::Live);
        a.amend_sent(Some(dec!(104.0)), None);
        assert_eq!(diff(&[], &[&a], dec!(2)), vec![Action::Cancel { link_id: "a".into() }]);
        // The amend's answer then leaves the order Cancelling.
        a.phase = Phase::Cancelling;
        a.amend_done();
        assert_eq!(a.phase, Phase::Cancelling);
    }
}
