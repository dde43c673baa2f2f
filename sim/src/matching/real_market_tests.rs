//! Orders on a real market, driven event by event without a clock: queue positions, the fill
//! rules, an amend that keeps or loses its place, a taker that does not move the market, and
//! funding at the time the ticker announced.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use bybit_v5::rest::{AmendOrder, CreateOrder};
use bybit_v5::{Category, OrderType, Side, TimeInForce};
use fill_model::QueueModel;
use market_data::{parse_event, Event};

use crate::exchange::{Exchange, MarketParams};
use crate::market::instrument::default_instruments;
use crate::market::source::{FeedLatency, MarketSource};

fn real_exchange() -> Exchange {
    let mut ex = Exchange::new(
        default_instruments(),
        vec![("k".into(), "s".into())],
        MarketParams::default(),
        1,
        dec!(100000),
    );
    let mirror = MarketSource::Mirror {
        ws_url: "ws://unused".into(),
        rest_url: None,
    };
    ex.use_source(&mirror, QueueModel::RiskAverse, FeedLatency::None).unwrap();
    ex
}

fn event(frame: &str) -> Event {
    parse_event(frame).unwrap().unwrap()
}

/// A book frame: a snapshot (update id 1) or the delta after it (`n`: 2, 3, …), at time `at`.
fn book(ex: &mut Exchange, u: u64, at: u64, bids: &str, asks: &str) {
    let kind = if u == 1 { "snapshot" } else { "delta" };
    let f = format!(
        r#"{{"topic":"orderbook.200.BTCUSDT","type":"{kind}","ts":{at},"data":{{"s":"BTCUSDT","b":{bids},"a":{asks},"u":{u},"seq":{u}}},"cts":{at}}}"#
    );
    ex.apply_market_event(at, &event(&f), 0);
}

fn trade(ex: &mut Exchange, t: u64, side: &str, price: &str, qty: &str) {
    let f = format!(
        r#"{{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":{t},"data":[{{"T":{t},"s":"BTCUSDT","S":"{side}","v":"{qty}","p":"{price}","i":"x{t}"}}]}}"#
    );
    ex.apply_market_event(t, &event(&f), 0);
}

fn post_only(ex: &mut Exchange, side: Side, price: Decimal, qty: Decimal) -> String {
    let o = CreateOrder {
        category: Some(Category::Linear),
        symbol: "BTCUSDT".into(),
        side,
        order_type: OrderType::Limit,
        qty,
        price: Some(price),
        time_in_force: Some(TimeInForce::PostOnly),
        ..Default::default()
    };
    ex.create_order(0, &o, 10).unwrap().order_id
}

fn filled(ex: &Exchange, id: &str) -> Decimal {
    let seq = ex.by_order_id[id];
    ex.orders
        .get(&seq)
        .or_else(|| ex.closed.iter().find(|o| o.seq == seq))
        .unwrap()
        .info
        .cum_exec_qty
}

#[test]
fn the_queue_ahead_is_the_level_trades_at_the_price_take_it_and_a_shrinking_level_caps_it() {
    let mut ex = real_exchange();
    book(&mut ex, 1, 1, r#"[["100.0","2.000"],["99.9","5.000"]]"#, r#"[["100.1","1.000"]]"#);
    let id = post_only(&mut ex, Side::Buy, dec!(100.0), dec!(0.5));
    trade(&mut ex, 2, "Sell", "100.0", "1.5");
    assert_eq!(filled(&ex, &id), dec!(0), "1.5 of the 2 ahead traded");
    // Cancels ahead: the level shrinks to 0.3, which caps the queue ahead at 0.3.
    book(&mut ex, 2, 3, r#"[["100.0","0.300"]]"#, "[]");
    trade(&mut ex, 4, "Buy", "100.0", "5");
    assert_eq!(filled(&ex, &id), dec!(0), "a buyer does not trade with our bid");
    trade(&mut ex, 5, "Sell", "100.0", "0.5");
    assert_eq!(filled(&ex, &id), dec!(0.2), "0.2 past the queue: a partial fill, whole lots");
    trade(&mut ex, 6, "Sell", "99.9", "0.001");
    assert_eq!(filled(&ex, &id), dec!(0.5), "a trade through the price fills the rest");
    // The market's book is as the source sent it: our order never took from it.
    assert_eq!(ex.markets["BTCUSDT"].outside.bids[&dec!(100.0)], dec!(0.300));
}

#[test]
fn the_other_sides_best_reaching_the_price_fills_and_an_amend_down_keeps_the_place() {
    let mut ex = real_exchange();
    book(&mut ex, 1, 1, r#"[["100.0","1.000"]]"#, r#"[["100.5","1.000"]]"#);
    let ask = post_only(&mut ex, Side::Sell, dec!(100.4), dec!(0.3));
    let amend = |ex: &mut Exchange, qty: Decimal| {
        let a = AmendOrder {
            category: Some(Category::Linear),
            symbol: "BTCUSDT".into(),
            order_id: Some(ask.clone()),
            qty: Some(qty),
            ..Default::default()
        };
        ex.amend_order(0, &a, 11).unwrap();
    };
    // Alone at 100.4 (nothing ahead): the first buyer at the price fills it, even after a smaller amend.
    amend(&mut ex, dec!(0.2));
    let seq = ex.by_order_id[&ask];
    assert_eq!(ex.markets["BTCUSDT"].real.as_ref().unwrap().queues[&seq].queue.ahead, 0.0);
    book(&mut ex, 2, 2, r#"[["100.4","3.000"]]"#, "[]");
    assert_eq!(filled(&ex, &ask), dec!(0.2), "the bids reached our offer's price");
}

#[test]
fn a_taker_walks_the_real_book_without_moving_it() {
    let mut ex = real_exchange();
    book(&mut ex, 1, 1, r#"[["100.0","1.000"]]"#, r#"[["100.5","0.050"],["100.6","1.000"]]"#);
    let o = CreateOrder {
        category: Some(Category::Linear),
        symbol: "BTCUSDT".into(),
        side: Side::Buy,
        order_type: OrderType::Market,
        qty: dec!(0.06),
        ..Default::default()
    };
    let id = ex.create_order(0, &o, 5).unwrap().order_id;
    assert_eq!(filled(&ex, &id), dec!(0.06));
    let avg = &ex.closed.back().unwrap().info.avg_price;
    assert_eq!(
        avg.parse::<Decimal>().unwrap(),
        dec!(100.51666667),
        "0.05 at 100.5 and 0.01 at 100.6"
    );
    let asks = &ex.markets["BTCUSDT"].outside.asks;
    assert_eq!((asks[&dec!(100.5)], asks[&dec!(100.6)]), (dec!(0.050), dec!(1.000)));
}

#[test]
fn funding_is_settled_once_at_the_announced_time_at_the_announced_rate() {
    let mut ex = real_exchange();
    book(&mut ex, 1, 1, r#"[["100.0","1.000"]]"#, r#"[["100.1","1.000"]]"#);
    let ticker = r#"{"topic":"tickers.BTCUSDT","type":"snapshot","ts":2,"data":{"symbol":"BTCUSDT","markPrice":"100.0","fundingRate":"0.0001","nextFundingTime":"1000"}}"#;
    ex.apply_market_event(2, &event(ticker), 0);
    let o = CreateOrder {
        category: Some(Category::Linear),
        symbol: "BTCUSDT".into(),
        side: Side::Buy,
        order_type: OrderType::Market,
        qty: dec!(1),
        ..Default::default()
    };
    ex.create_order(0, &o, 3).unwrap();
    let before = ex.accounts[0].wallet_balance;
    book(&mut ex, 2, 999, "[]", "[]");
    assert_eq!(ex.accounts[0].wallet_balance, before, "not yet");
    let next = r#"{"topic":"tickers.BTCUSDT","type":"delta","ts":1001,"data":{"symbol":"BTCUSDT","nextFundingTime":"29801000","fundingRate":"0.0002"}}"#;
    ex.apply_market_event(1001, &event(next), 0);
    assert_eq!(before - ex.accounts[0].wallet_balance, dec!(0.01), "a long of 100 USDT pays 0.01 %");
    book(&mut ex, 3, 1002, "[]", "[]");
    assert_eq!(before - ex.accounts[0].wallet_balance, dec!(0.01), "once");
    let funding: Vec<_> = ex.accounts[0].executions.iter().filter(|e| e.exec_type == "Funding").collect();
    assert_eq!(funding.len(), 1);
    assert_eq!(funding[0].exec_time, "1000");
}
