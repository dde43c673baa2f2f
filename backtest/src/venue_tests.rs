//! The venue's rules, one event at a time: post-only, the queue (risk-averse), a trade at and
//! through the price, the opposite best reaching it, the amend rule, funding — and the recorded
//! book left as recorded.

use std::collections::BTreeMap;

use bybit_v5::Side;
use fill_model::QueueModel;
use market_data::event::Level;
use market_data::{Aggressor, BookFrame, Event, Kind, Trade};
use mmbot_actors::market::quoting::{Filters, Quote};
use mmbot_actors::orders::order_diff::Action;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::schedule::Outcome;
use crate::settings::Instrument;

const S: &str = "BTCUSDT";

fn venue() -> Venue {
    let instrument = Instrument {
        filters: Filters::btcusdt(),
        maker_fee: dec!(0.0002),
        taker_fee: dec!(0.00055),
    };
    Venue::new(QueueModel::RiskAverse, BTreeMap::from([(S.to_string(), instrument)]))
}

fn book(v: &mut Venue, at: u64, snapshot: bool, u: u64, bids: &[Level], asks: &[Level]) -> Applied {
    let frame = BookFrame {
        symbol: S.into(),
        depth: 50,
        snapshot,
        bids: bids.to_vec(),
        asks: asks.to_vec(),
        u,
        seq: u,
    };
    let sym = v.id(S);
    v.apply(
        at,
        sym,
        &Event {
            exchange_ms: at,
            kind: Kind::Book(frame),
        },
    )
}

fn trade(v: &mut Venue, at: u64, aggressor: Aggressor, price: Decimal, qty: Decimal) -> Applied {
    let trades = vec![Trade {
        time_ms: at,
        aggressor,
        price,
        qty,
        id: format!("t{at}"),
    }];
    let sym = v.id(S);
    v.apply(
        at,
        sym,
        &Event {
            exchange_ms: at,
            kind: Kind::Trades { symbol: S.into(), trades },
        },
    )
}

/// 100.0 × 2.0 | 100.1 × 3.0.
fn market() -> Venue {
    let mut v = venue();
    book(
        &mut v,
        1,
        true,
        1,
        &[(dec!(100.0), dec!(2.0)), (dec!(99.9), dec!(5))],
        &[(dec!(100.1), dec!(3.0))],
    );
    v
}

fn create(v: &mut Venue, id: &str, side: Side, price: Decimal) -> Outcome {
    let q = Quote {
        side,
        level: 0,
        price,
        qty: dec!(0.001),
    };
    let out = v.arrive(0, &[(id.to_string(), Action::Create(q))]);
    out[0].1
}

#[test]
fn a_post_only_order_that_would_cross_is_cancelled_and_one_that_would_not_rests() {
    let mut v = market();
    assert_eq!(create(&mut v, "a", Side::Buy, dec!(100.1)), Outcome::PostOnlyCancelled);
    assert_eq!(create(&mut v, "b", Side::Sell, dec!(100.0)), Outcome::PostOnlyCancelled);
    assert_eq!(create(&mut v, "c", Side::Buy, dec!(100.0)), Outcome::Done);
    assert_eq!(v.orders.keys().collect::<Vec<_>>(), ["c"]);
}

#[test]
fn trades_at_the_price_fill_once_the_queue_ahead_is_gone_and_our_order_leaves_the_book_as_recorded() {
    let mut v = market();
    create(&mut v, "bid", Side::Buy, dec!(100.0));
    let before = v.markets[v.id(S).unwrap()].book.bids.clone();
    // 2.0 ahead of us: 1.5 sold at our price leaves 0.5 ahead.
    assert!(trade(&mut v, 10, Aggressor::Sell, dec!(100.0), dec!(1.5)).fills.is_empty());
    // A buyer does not trade against our bid.
    assert!(trade(&mut v, 11, Aggressor::Buy, dec!(100.1), dec!(9)).fills.is_empty());
    let fills = trade(&mut v, 12, Aggressor::Sell, dec!(100.0), dec!(0.6)).fills;
    assert_eq!(fills.len(), 1);
    let f = &fills[0];
    assert_eq!((f.side, f.price, f.qty, f.at_ms), (Side::Buy, dec!(100.0), dec!(0.001), 12));
    assert_eq!(f.fee, dec!(0.00002), "maker fee on 0.1 USDT");
    assert_eq!(f.mid, dec!(100.05));
    assert!(v.orders.is_empty(), "filled whole");
    assert_eq!(
        v.markets[v.id(S).unwrap()].book.bids,
        before,
        "trades do not move the recorded book; deltas do"
    );
}

#[test]
fn a_trade_through_the_price_fills_at_once_whatever_the_queue() {
    let mut v = market();
    create(&mut v, "ask", Side::Sell, dec!(100.1));
    let fills = trade(&mut v, 10, Aggressor::Buy, dec!(100.2), dec!(0.001)).fills;
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].price, dec!(100.1), "at our price, not the trade's");
}

#[test]
fn the_opposite_best_reaching_the_price_fills_it() {
    let mut v = market();
    create(&mut v, "bid", Side::Buy, dec!(100.0));
    // The ask side falls to 100.0 (the recorded book locks at our price).
    let applied = book(&mut v, 10, false, 2, &[], &[(dec!(100.1), dec!(0)), (dec!(100.0), dec!(1))]);
    assert!(applied.book);
    assert_eq!(applied.fills.len(), 1);
    assert_eq!(applied.fills[0].link_id, "bid");
}

#[test]
fn a_shrinking_level_caps_the_queue_an_amend_in_place_keeps_it_and_one_to_a_new_price_joins_at_the_back() {
    let mut v = market();
    create(&mut v, "bid", Side::Buy, dec!(100.0));
    // Cancels ahead: the level is 0.2 now, so at most 0.2 is ahead of us; then 3.8 joins behind.
    book(&mut v, 5, false, 2, &[(dec!(100.0), dec!(0.2))], &[]);
    book(&mut v, 6, false, 3, &[(dec!(100.0), dec!(4.0))], &[]);
    // Same price, same size: the place is kept (0.2 ahead, not 4.0); 0.3 at our price fills.
    let kept = Action::Amend {
        link_id: "bid".into(),
        price: Some(dec!(100.0)),
        qty: None,
    };
    assert_eq!(v.arrive(0, &[("bid".into(), kept)])[0].1, Outcome::Done);
    assert_eq!(trade(&mut v, 10, Aggressor::Sell, dec!(100.0), dec!(0.3)).fills.len(), 1);

    let mut v = market();
    create(&mut v, "bid", Side::Buy, dec!(100.0));
    book(&mut v, 5, false, 2, &[(dec!(100.0), dec!(0.2))], &[]);
    let moved = Action::Amend {
        link_id: "bid".into(),
        price: Some(dec!(99.9)),
        qty: None,
    };
    assert_eq!(v.arrive(0, &[("bid".into(), moved)])[0].1, Outcome::Done);
    // At 99.9 it is behind the level's 5: 0.3 there fills nothing.
    assert!(trade(&mut v, 10, Aggressor::Sell, dec!(99.9), dec!(0.3)).fills.is_empty());
    assert_eq!(v.orders["bid"].price, dec!(99.9));
    // An amend or cancel of an order that is gone is "not found".
    v.orders.clear();
    let cancel = Action::Cancel { link_id: "bid".into() };
    assert_eq!(v.arrive(0, &[("bid".into(), cancel)])[0].1, Outcome::NotFound);
}

#[test]
fn funding_is_settled_once_at_the_announced_time_on_the_position() {
    let mut v = market();
    create(&mut v, "bid", Side::Buy, dec!(100.0));
    trade(&mut v, 10, Aggressor::Sell, dec!(99.9), dec!(1));
    let fields = vec![
        ("fundingRate".to_string(), "0.0001".to_string()),
        ("nextFundingTime".to_string(), "1000".to_string()),
        ("markPrice".to_string(), "100".to_string()),
    ];
    let ticker = Event {
        exchange_ms: 20,
        kind: Kind::Ticker { symbol: S.into(), fields },
    };
    assert!(v.apply(20, v.id(S), &ticker).funding.is_empty(), "not due yet");
    let due = trade(&mut v, 1_000, Aggressor::Buy, dec!(100.1), dec!(0.1)).funding;
    assert_eq!(due, vec![(0, dec!(0.00001))], "long 0.001 × 100 × 0.0001 pays");
    assert!(
        trade(&mut v, 1_001, Aggressor::Buy, dec!(100.1), dec!(0.1)).funding.is_empty(),
        "once"
    );
}
