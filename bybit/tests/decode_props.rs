//! Property tests of the WebSocket and REST decoders: whatever arrives — random text, valid
//! frames cut short or corrupted, oversized frames, unknown topics — decoding returns a value or
//! an error and never panics.

use bybit_v5::envelope::Envelope;
use bybit_v5::ws::{decode, BookData, BookMessage, Frame, UpdateType};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;

const SAMPLES: [&str; 6] = [
    r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["30000.0","1.000"]],"a":[["30000.1","0"]],"u":7,"seq":9},"cts":1}"#,
    r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"0.010","p":"30000.1","L":"PlusTick","i":"x","BT":false}]}"#,
    r#"{"topic":"tickers.BTCUSDT","type":"delta","cs":1,"ts":1,"data":{"symbol":"BTCUSDT","bid1Price":"1"}}"#,
    r#"{"id":"a","topic":"order","creationTime":1,"data":[{"category":"linear","symbol":"BTCUSDT","orderId":"1","orderLinkId":"m","side":"Buy","orderType":"Limit","price":"1","qty":"1","leavesQty":"1","cumExecQty":"0","orderStatus":"New","timeInForce":"PostOnly","createdTime":"1","updatedTime":"1"}]}"#,
    r#"{"success":true,"ret_msg":"pong","conn_id":"c","req_id":"1","op":"ping"}"#,
    r#"{"retCode":0,"retMsg":"OK","result":{"list":[]},"retExtInfo":{},"time":1}"#,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_text_never_panics(s in ".{0,400}") {
        let _ = decode(&s);
        let _ = serde_json::from_str::<Envelope<Value>>(&s);
    }

    #[test]
    fn truncated_frames_never_panic(which in 0..SAMPLES.len(), cut in 0usize..400) {
        let s = SAMPLES[which];
        let cut = cut.min(s.len());
        let _ = decode(&s[..cut]);
        let _ = serde_json::from_str::<Envelope<Value>>(&s[..cut]);
    }

    #[test]
    fn corrupted_frames_never_panic(which in 0..SAMPLES.len(), at in 0usize..400, byte in 32u8..127) {
        let mut bytes = SAMPLES[which].as_bytes().to_vec();
        let at = at % bytes.len();
        bytes[at] = byte;
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = decode(s);
        }
    }

    #[test]
    fn unknown_topics_are_reported_not_fatal(topic in "[a-z]{1,12}(\\.[A-Z]{1,8})?") {
        prop_assume!(!["orderbook", "publicTrade", "tickers", "order", "execution", "position", "wallet", "dcp"].contains(&topic.split('.').next().unwrap()));
        let f = decode(&format!(r#"{{"topic":"{topic}","data":[]}}"#)).unwrap();
        prop_assert_eq!(f, Frame::UnknownTopic(topic));
    }

    #[test]
    fn book_messages_round_trip(u in 1u64..u64::MAX / 2, levels in proptest::collection::vec((1u32..1_000_000, 0u32..10_000), 0..60)) {
        let to_level = |(p, s): (u32, u32)| (Decimal::new(p as i64, 1), Decimal::new(s as i64, 3));
        let m = BookMessage {
            topic: "orderbook.50.BTCUSDT".into(),
            kind: UpdateType::Delta,
            ts: 1,
            data: BookData { s: "BTCUSDT".into(), b: levels.iter().copied().map(to_level).collect(), a: levels.iter().rev().copied().map(to_level).collect(), u, seq: u },
            cts: 1,
        };
        let text = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(decode(&text).unwrap(), Frame::Book(m));
    }
}

#[test]
fn oversized_frame_is_refused() {
    let big = format!(
        r#"{{"topic":"orderbook.50.X","pad":"{}"}}"#,
        "x".repeat(bybit_v5::ws::MAX_FRAME_BYTES)
    );
    assert!(decode(&big).is_err());
}
