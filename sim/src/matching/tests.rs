use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use bybit_v5::rest::CreateOrder;
use bybit_v5::{Category, OrderStatus, OrderType, RetCode, Side, TimeInForce};

use crate::exchange::Exchange;
use crate::exchange::MarketParams;
use crate::market::instrument::default_instruments;
use crate::matching::cancel_all::CancelAllScope;
use crate::matching::conditional::OrderKind;
use crate::matching::EC_POST_ONLY;

fn exchange() -> Exchange {
    let params = MarketParams {
        trade_probability: 0.0,
        ..Default::default()
    };
    Exchange::new(default_instruments(), vec![("k".into(), "s".into())], params, 1, dec!(100000))
}

fn limit(side: Side, price: Decimal, qty: Decimal, tif: TimeInForce, link: &str) -> CreateOrder {
    CreateOrder {
        category: Some(Category::Linear),
        symbol: "BTCUSDT".into(),
        side,
        order_type: OrderType::Limit,
        qty,
        price: Some(price),
        time_in_force: Some(tif),
        order_link_id: Some(link.into()),
        reduce_only: None,
        position_idx: None,
        ..Default::default()
    }
}

#[test]
fn post_only_crossing_is_cancelled_and_resting_one_rests() {
    let mut ex = exchange();
    let ask = ex.best_ask("BTCUSDT").unwrap();
    ex.create_order(0, &limit(Side::Buy, ask, dec!(0.01), TimeInForce::PostOnly, "a"), 1)
        .unwrap();
    assert!(ex.orders.is_empty());
    assert_eq!(ex.closed.back().unwrap().info.reject_reason, EC_POST_ONLY);
    ex.create_order(0, &limit(Side::Buy, ask - dec!(1), dec!(0.01), TimeInForce::PostOnly, "b"), 1)
        .unwrap();
    assert_eq!(ex.orders.len(), 1);
    let err = ex
        .create_order(0, &limit(Side::Buy, ask - dec!(1), dec!(0.01), TimeInForce::PostOnly, "b"), 1)
        .unwrap_err();
    assert_eq!(err.code, RetCode::DuplicateOrderLinkId);
}

#[test]
fn market_trade_fills_resting_order_partially_then_fully() {
    let mut ex = exchange();
    let bid = ex.best_bid("BTCUSDT").unwrap() + dec!(0.1);
    ex.create_order(0, &limit(Side::Buy, bid, dec!(0.010), TimeInForce::PostOnly, "m"), 1)
        .unwrap();
    ex.market_trade("BTCUSDT", Side::Sell, dec!(0.004), 2);
    let o = ex.orders.values().next().unwrap();
    assert_eq!(o.info.order_status, OrderStatus::PartiallyFilled);
    assert_eq!(ex.accounts[0].positions[&("BTCUSDT".to_string(), 0)].size, dec!(0.004));
    ex.market_trade("BTCUSDT", Side::Sell, dec!(0.010), 3);
    assert!(ex.orders.is_empty());
    assert_eq!(ex.accounts[0].positions[&("BTCUSDT".to_string(), 0)].size, dec!(0.010));
    assert!(ex.accounts[0].wallet_balance < dec!(100000));
}

#[test]
fn bad_steps_are_param_errors() {
    let mut ex = exchange();
    let bid = ex.best_bid("BTCUSDT").unwrap();
    let e = ex
        .create_order(0, &limit(Side::Buy, bid + dec!(0.05), dec!(0.01), TimeInForce::GTC, "x"), 1)
        .unwrap_err();
    assert_eq!(e.code, RetCode::ParamError);
    let e = ex
        .create_order(0, &limit(Side::Buy, bid, dec!(0.0015), TimeInForce::GTC, "y"), 1)
        .unwrap_err();
    assert_eq!(e.code, RetCode::ParamError);
}

#[test]
fn cancel_all_caps_at_500() {
    let mut ex = exchange();
    let bid = ex.best_bid("BTCUSDT").unwrap();
    ex.markets.get_mut("BTCUSDT").unwrap().spec.min_notional = Decimal::ZERO;
    for sym in ["BTCUSDT", "ETHUSDT"] {
        let b = ex.best_bid(sym).unwrap();
        let step = ex.markets[sym].spec.min_qty;
        for i in 0..300 {
            let mut o = limit(Side::Buy, b, step * dec!(3), TimeInForce::PostOnly, &format!("{sym}{i}"));
            o.symbol = sym.into();
            ex.create_order(0, &o, 1).unwrap();
        }
    }
    let _ = bid;
    let usdt = CancelAllScope {
        settle_coin: Some("USDT"),
        ..Default::default()
    };
    assert_eq!(ex.cancel_all(0, usdt, &[OrderKind::Active], "CancelByUser", 2).len(), 500);
    assert_eq!(ex.orders.len(), 100);
    assert_eq!(ex.cancel_all(0, usdt, &[OrderKind::Active], "CancelByUser", 3).len(), 100);
}

#[test]
fn dcp_cancels_every_order_past_the_cancel_all_cap() {
    let mut ex = exchange();
    for sym in ["BTCUSDT", "ETHUSDT"] {
        let b = ex.best_bid(sym).unwrap();
        let step = ex.markets[sym].spec.min_qty;
        ex.markets.get_mut(sym).unwrap().spec.min_notional = Decimal::ZERO;
        for i in 0..300 {
            let mut o = limit(Side::Buy, b, step * dec!(3), TimeInForce::PostOnly, &format!("{sym}{i}"));
            o.symbol = sym.into();
            ex.create_order(0, &o, 1).unwrap();
        }
    }
    assert_eq!(ex.orders.len(), 600);
    ex.set_dcp(0, 3);
    ex.dcp_connection(0, true, 0);
    ex.dcp_connection(0, false, 1000);
    ex.check_dcp(4_001);
    assert!(ex.orders.is_empty(), "{} left", ex.orders.len());
}

#[test]
fn dcp_fires_after_window_only_when_all_connections_gone() {
    let mut ex = exchange();
    let bid = ex.best_bid("BTCUSDT").unwrap();
    ex.create_order(0, &limit(Side::Buy, bid, dec!(0.01), TimeInForce::PostOnly, "d"), 1)
        .unwrap();
    ex.set_dcp(0, 3);
    ex.dcp_connection(0, true, 0);
    ex.dcp_connection(0, true, 0);
    ex.dcp_connection(0, false, 1000);
    // The other connection is alive: it keeps sending (pings) inside the window.
    for t in [3_000, 6_000, 9_000] {
        ex.dcp_heartbeat(0, t);
        ex.check_dcp(t + 500);
    }
    ex.check_dcp(10_000);
    assert_eq!(ex.orders.len(), 1);
    ex.dcp_connection(0, false, 10_000);
    ex.check_dcp(12_000);
    assert_eq!(ex.orders.len(), 1);
    ex.check_dcp(13_001);
    assert!(ex.orders.is_empty());
    assert_eq!(ex.closed.back().unwrap().info.cancel_type, "CancelByDCP");
}

#[test]
fn dcp_fires_for_an_open_connection_that_went_silent() {
    let mut ex = exchange();
    let bid = ex.best_bid("BTCUSDT").unwrap();
    ex.create_order(0, &limit(Side::Buy, bid, dec!(0.01), TimeInForce::PostOnly, "s"), 1)
        .unwrap();
    ex.set_dcp(0, 3);
    ex.dcp_connection(0, true, 0);
    ex.dcp_heartbeat(0, 2_000);
    ex.check_dcp(5_000);
    assert_eq!(ex.orders.len(), 1, "within the window of the last heartbeat");
    ex.check_dcp(5_001);
    assert!(ex.orders.is_empty(), "silent for the window, connection open: fired");
}
