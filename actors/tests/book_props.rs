//! Property tests of the local book and the quoting math: out-of-order and gapped update ids
//! are detected (never applied), and quotes never cross, stay on tick and lot step, and skew
//! against inventory.

use bybit_v5::ws::{BookData, BookMessage, UpdateType};
use mmbot_actors::market::book::{BookError, LocalBook, Top};
use mmbot_actors::market::quoting::{compute_quotes, Filters, MarketState, Model, QuoteParams, Sides};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn msg(kind: UpdateType, u: u64, bid: i64, ask: i64) -> BookMessage {
    BookMessage {
        topic: "orderbook.50.X".into(),
        kind,
        ts: 0,
        data: BookData {
            s: "X".into(),
            b: vec![(Decimal::new(bid, 1), Decimal::ONE)],
            a: vec![(Decimal::new(ask, 1), Decimal::ONE)],
            u,
            seq: u,
        },
        cts: 0,
    }
}

proptest! {
    #[test]
    fn update_ids_out_of_order_are_detected(ids in proptest::collection::vec(1u64..50, 1..40)) {
        let mut book = LocalBook::default();
        book.apply(&msg(UpdateType::Snapshot, 10, 1000, 1010)).unwrap();
        for u in ids {
            let before = book.u;
            match book.apply(&msg(UpdateType::Delta, u, 1000, 1010)) {
                Ok(()) => prop_assert_eq!(Some(u), before.map(|b| b + 1)),
                Err(BookError::Gap { .. }) => prop_assert!(book.top().is_none() && book.u.is_none()),
                Err(BookError::NoSnapshot) => prop_assert!(before.is_none()),
            }
        }
    }

    #[test]
    fn quotes_never_cross_and_sit_on_the_grid(
        bid_ticks in 10_000i64..10_000_000,
        spread_ticks in 1i64..50,
        inventory in -100i64..100,
        spread_bps in 0u32..200,
        step_bps in 0u32..50,
        levels in 1u32..8,
        avellaneda in proptest::bool::ANY,
        sigma in 0.0f64..50.0,
    ) {
        let f = Filters { tick_size: Decimal::new(1, 1), qty_step: Decimal::new(1, 3), min_qty: Decimal::new(1, 3), max_qty: Decimal::from(1000), min_notional: Decimal::from(5) };
        let top = Top { bid: Decimal::new(bid_ticks, 1), bid_size: Decimal::ONE, ask: Decimal::new(bid_ticks + spread_ticks, 1), ask_size: Decimal::ONE };
        let model = if avellaneda { Model::Avellaneda } else { Model::Fixed };
        let p = QuoteParams { model, levels, spread_bps: spread_bps.into(), level_step_bps: step_bps.into(), ..Default::default() };
        let inv = Decimal::new(inventory, 3);
        let state = |inventory| MarketState { top, sigma, inventory };
        let quotes = compute_quotes(&p, &f, &state(inv), Sides::BOTH);
        for q in &quotes {
            prop_assert!((q.price % f.tick_size).is_zero());
            prop_assert!((q.qty % f.qty_step).is_zero() && q.qty >= f.min_qty);
            match q.side {
                bybit_v5::Side::Buy => prop_assert!(q.price < top.ask),
                bybit_v5::Side::Sell => prop_assert!(q.price > top.bid),
            }
        }
        // Skew goes the right way: long inventory never raises the bid.
        let flat = compute_quotes(&p, &f, &state(Decimal::ZERO), Sides::BOTH);
        for a in &quotes {
            let Some(b) = flat.iter().find(|b| b.side == a.side && b.level == a.level) else { continue };
            if inv > Decimal::ZERO { prop_assert!(a.price <= b.price); }
            if inv < Decimal::ZERO { prop_assert!(a.price >= b.price); }
        }
    }
}
