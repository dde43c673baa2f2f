//! Every field of every private payload kind, replaced by each odd value Bybit is known to send
//! (or might): `""`, `null`, an array, an object, an unknown enum word, a number where a string
//! was expected. The frame never fails as a whole: the good item next to the odd one is always
//! kept, and the odd one is either decoded or counted as skipped — never silently lost. A field
//! the bot does not read never costs the item: with an odd value there the item still decodes
//! (captured Bybit answers carry `"blockTradeId": null`, `"orderIv": null`).

use bybit_v5::execution_item::ExecutionView;
use bybit_v5::order_item::OrderView;
use bybit_v5::position_item::PositionView;
use bybit_v5::rest::{Execution, OrderInfo, Position, WalletAccount};
use bybit_v5::ws::{decode, Frame};
use proptest::prelude::*;
use serde_json::{json, Value};

fn odd_values() -> Vec<Value> {
    vec![
        json!(""),
        Value::Null,
        json!([]),
        json!(["x", {"a": 1}]),
        json!({}),
        json!("SOMETHING_NEW"),
        json!(12.5),
        json!(true),
    ]
}

/// A complete item of each kind as Bybit's stream shows it, with a marker to find it again.
fn samples() -> Vec<(&'static str, Value)> {
    let order = OrderInfo {
        order_link_id: "good".into(),
        symbol: "BTCUSDT".into(),
        category: "linear".into(),
        ..Default::default()
    };
    let exec = Execution {
        exec_id: "good".into(),
        symbol: "BTCUSDT".into(),
        category: "linear".into(),
        ..Default::default()
    };
    let position = Position {
        symbol: "GOOD".into(),
        ..Default::default()
    };
    let wallet = serde_json::to_value(WalletAccount {
        account_type: "GOOD".into(),
        ..Default::default()
    })
    .unwrap();
    vec![
        ("order", order.to_wire(OrderView::Stream)),
        ("execution", exec.to_wire(ExecutionView::Stream)),
        ("position", position.to_wire(PositionView::Stream)),
        ("wallet", wallet),
    ]
}

/// The fields the bot reads, per kind (wire names): only an odd value in one of these may cost
/// the item (counted as skipped); any other field must decode whatever it holds.
fn needed(topic: &str) -> &'static [&'static str] {
    match topic {
        "order" => &[
            "category",
            "symbol",
            "orderId",
            "orderLinkId",
            "price",
            "qty",
            "side",
            "orderStatus",
            "leavesQty",
            "cumExecQty",
            "avgPrice",
            "rejectReason",
            "cancelType",
        ],
        "execution" => &[
            "category",
            "symbol",
            "orderId",
            "orderLinkId",
            "side",
            "execFee",
            "execId",
            "execPrice",
            "execQty",
            "execType",
            "execTime",
            "isMaker",
        ],
        "position" => &["category", "symbol", "side", "size", "entryPrice", "avgPrice", "markPrice"],
        // The wallet is shown, never acted on: every odd item is at least counted.
        _ => &[],
    }
}

/// How many items of the frame were decoded, whether the good one is among them, and how many
/// were skipped.
fn decoded(frame: &str) -> (usize, bool, usize) {
    match decode(frame).expect("a private frame with an odd item still decodes") {
        Frame::Orders(m) => (m.data.len(), m.data.iter().any(|o| o.order_link_id == "good"), m.skipped.len()),
        Frame::Executions(m) => (m.data.len(), m.data.iter().any(|e| e.exec_id == "good"), m.skipped.len()),
        Frame::Positions(m) => (m.data.len(), m.data.iter().any(|p| p.symbol == "GOOD"), m.skipped.len()),
        Frame::Wallet(m) => (m.data.len(), m.data.iter().any(|w| w.account_type == "GOOD"), m.skipped.len()),
        other => panic!("not a private frame: {other:?}"),
    }
}

#[test]
fn every_field_of_every_kind_tolerates_every_odd_value() {
    for (topic, good) in samples() {
        let fields: Vec<String> = good.as_object().unwrap().keys().cloned().collect();
        assert!(fields.len() > 5, "{topic} sample has its fields");
        for field in &fields {
            for odd_value in odd_values() {
                let mut odd = good.clone();
                odd[field.as_str()] = odd_value.clone();
                // The marker field of the odd item differs, so "good" names the untouched one.
                for marker in ["orderLinkId", "execId", "symbol", "accountType"] {
                    if odd.get(marker).is_some() && field != marker {
                        odd[marker] = json!("odd");
                    }
                }
                let frame = json!({"id": "1", "topic": topic, "creationTime": 1, "data": [odd, good]}).to_string();
                let (n, kept_good, skipped) = decoded(&frame);
                assert!(kept_good, "{topic}.{field} = {odd_value}: the good item was lost");
                // An item of another category (spot, option) is left out on purpose.
                let other_category = field == "category" && odd_value.as_str().is_some_and(|c| !c.is_empty());
                let expected = if other_category { 1 } else { 2 };
                assert_eq!(n + skipped, expected, "{topic}.{field} = {odd_value}: an item vanished uncounted");
                if topic != "wallet" && !needed(topic).contains(&field.as_str()) {
                    assert_eq!(
                        (n, skipped),
                        (2, 0),
                        "{topic}.{field} = {odd_value}: a field the bot does not read cost the item"
                    );
                }
            }
        }
    }
}

#[test]
fn empty_decimal_fields_decode_as_none_yet() {
    let frame = r#"{"id":"1","topic":"execution","creationTime":1,"data":[{"category":"linear","symbol":"BTCUSDT","execId":"e","side":"Buy","execPrice":"100","execQty":"0.1","execType":"Trade","closedSize":"","execPnl":"","leavesQty":"","orderPrice":"","extraFees":[]}]}"#;
    let Frame::Executions(m) = decode(frame).unwrap() else { panic!() };
    assert_eq!(m.data.len(), 1, "{:?}", m.skipped);
    assert!(m.data[0].closed_size.is_zero() && m.data[0].exec_pnl.is_zero());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Any JSON at all in place of one item: the frame still decodes and keeps the good item.
    #[test]
    fn any_json_as_an_item_keeps_the_others(which in 0usize..4, junk in proptest::collection::vec(any::<u8>(), 0..40)) {
        let (topic, good) = samples().swap_remove(which);
        let junk = Value::String(String::from_utf8_lossy(&junk).into_owned());
        let frame = json!({"id": "1", "topic": topic, "creationTime": 1, "data": [junk, good]}).to_string();
        let (n, kept_good, skipped) = decoded(&frame);
        prop_assert!(kept_good);
        prop_assert_eq!(n + skipped, 2);
    }
}
