//! Whatever the market does, a resting order is never filled past its size, the queue ahead of
//! it never exceeds what its level shows, and nothing fills from a taker on its own side.

use fill_model::{QueueModel, Resting, Side};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Event {
    Trade { buyer_took: bool, offset: i64, qty: u32 },
    Level { new: u32 },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (any::<bool>(), -2i64..=2, 1u32..50).prop_map(|(buyer_took, offset, qty)| Event::Trade { buyer_took, offset, qty }),
        (0u32..200).prop_map(|new| Event::Level { new }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn fills_stay_within_the_order_and_the_queue_within_its_level(
        n in prop_oneof![Just(None), (1u32..4).prop_map(Some)],
        start in 0u32..200,
        size in 1u32..20,
        events in proptest::collection::vec(event(), 0..60),
    ) {
        let model = n.map_or(QueueModel::RiskAverse, |n| QueueModel::ProbPower(f64::from(n)));
        let mut bid = Resting::join(&model, Side::Buy, 100, f64::from(size), f64::from(start));
        let (mut level, mut filled) = (f64::from(start), 0.0);
        for e in events {
            match e {
                Event::Trade { buyer_took, offset, qty } => {
                    let aggressor = if buyer_took { Side::Buy } else { Side::Sell };
                    let f = bid.on_trade(&model, aggressor, 100 + offset, f64::from(qty), 1.0);
                    prop_assert!(f >= 0.0);
                    if buyer_took { prop_assert_eq!(f, 0.0); }
                    filled += f;
                }
                Event::Level { new } => {
                    bid.on_level(&model, level, f64::from(new));
                    level = f64::from(new);
                    prop_assert!(bid.queue.ahead <= level + 1e-9, "ahead {} > level {}", bid.queue.ahead, level);
                }
            }
            prop_assert!(bid.leaves >= 0.0);
            prop_assert!((filled + bid.leaves - f64::from(size)).abs() < 1e-9);
        }
    }
}
