//! Typed WebSocket frames: client ops (subscribe, auth, ping), server op answers and pongs,
//! public topics (orderbook, publicTrade, tickers) and private topics (order, execution,
//! position, wallet, dcp). [`decode`] turns one text frame into a [`Frame`], and never panics on
//! bad input: malformed frames come back as errors the caller counts and skips.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lenient::SkippedItem;
use crate::rest::{Execution, Level, OrderInfo, Position, WalletAccount};

/// WebSocket paths.
pub mod path {
    pub const PUBLIC_LINEAR: &str = "/v5/public/linear";
    pub const PRIVATE: &str = "/v5/private";
    pub const TRADE: &str = "/v5/trade";
}

/// Frames larger than this are refused by decoders and servers alike.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// A client op: `subscribe`, `unsubscribe`, `auth`, `ping`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WsRequest {
    pub op: String,
    /// Echoed verbatim by the server, whatever its JSON type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_id: Option<Value>,
    #[serde(default)]
    pub args: Vec<Value>,
}

impl WsRequest {
    pub fn subscribe(req_id: &str, topics: &[String]) -> Self {
        Self {
            op: "subscribe".into(),
            req_id: Some(Value::from(req_id)),
            args: topics.iter().map(|t| Value::from(t.as_str())).collect(),
        }
    }

    pub fn ping(req_id: &str) -> Self {
        Self {
            op: "ping".into(),
            req_id: Some(Value::from(req_id)),
            args: vec![],
        }
    }

    pub fn auth(api_key: &str, expires_ms: u64, signature: &str) -> Self {
        Self {
            op: "auth".into(),
            req_id: None,
            args: vec![Value::from(api_key), Value::from(expires_ms), Value::from(signature)],
        }
    }
}

/// A server's answer to an op (`subscribe`, `auth`, public `ping`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpResponse {
    pub success: bool,
    #[serde(default)]
    pub ret_msg: String,
    #[serde(default)]
    pub conn_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_id: Option<Value>,
    pub op: String,
}

/// Private-stream pong: `{"req_id", "op":"pong", "args":["<ms>"], "conn_id"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PrivatePong {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_id: Option<Value>,
    pub op: String,
    pub args: Vec<String>,
    pub conn_id: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UpdateType {
    Snapshot,
    Delta,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BookData {
    pub s: String,
    pub b: Vec<Level>,
    pub a: Vec<Level>,
    pub u: u64,
    pub seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BookMessage {
    pub topic: String,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    pub ts: u64,
    pub data: BookData,
    #[serde(default)]
    pub cts: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TradeItem {
    #[serde(rename = "T")]
    pub time: u64,
    pub s: String,
    #[serde(rename = "S")]
    pub side: crate::model::Side,
    pub v: Decimal,
    pub p: Decimal,
    #[serde(rename = "L", default)]
    pub tick_direction: String,
    pub i: String,
    #[serde(rename = "BT", default)]
    pub block_trade: bool,
    #[serde(rename = "RPI", default)]
    pub rpi: bool,
    /// Cross sequence.
    #[serde(default)]
    pub seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TradeMessage {
    pub topic: String,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    pub ts: u64,
    pub data: Vec<TradeItem>,
}

/// Ticker deltas carry only the fields that changed, so `data` stays a map.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TickerMessage {
    pub topic: String,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    #[serde(default)]
    pub cs: u64,
    pub ts: u64,
    pub data: serde_json::Map<String, Value>,
}

/// `{"id", "topic", "creationTime", "data": [...]}` on the private stream.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrivateMessage<T> {
    pub id: String,
    pub topic: String,
    pub creation_time: u64,
    pub data: Vec<T>,
    /// Items of `data` that did not decode; the others are in `data` (see [`crate::lenient`]).
    #[serde(skip)]
    pub skipped: Vec<SkippedItem>,
}

/// A private frame before its items are decoded one by one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPrivateMessage {
    #[serde(default)]
    id: String,
    topic: String,
    #[serde(default)]
    creation_time: u64,
    #[serde(default)]
    data: Value,
}

fn private_message<T: serde::de::DeserializeOwned>(text: &str) -> Result<PrivateMessage<T>, DecodeError> {
    let raw: RawPrivateMessage = serde_json::from_str(text)?;
    let (data, skipped) = crate::lenient::items(&raw.data);
    Ok(PrivateMessage {
        id: raw.id,
        topic: raw.topic,
        creation_time: raw.creation_time,
        data,
        skipped,
    })
}

/// Every frame a client can receive, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Op(OpResponse),
    Pong,
    Book(BookMessage),
    Trades(TradeMessage),
    Ticker(TickerMessage),
    Orders(PrivateMessage<OrderInfo>),
    Executions(PrivateMessage<Execution>),
    Positions(PrivateMessage<Position>),
    Wallet(PrivateMessage<WalletAccount>),
    Dcp(Value),
    /// A well-formed frame on a topic this crate does not model.
    UnknownTopic(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("frame of {0} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("malformed frame: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("frame has neither op nor topic")]
    Unrecognised,
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    op: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    topic: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    ret_msg: Option<String>,
}

const BOOK_FRAME_PREFIX: &str = r#"{"topic":"orderbook."#;

/// Decode one text frame.
pub fn decode(text: &str) -> Result<Frame, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge(text.len()));
    }
    // Book frames are most of the traffic, and Bybit writes `topic` first: such a frame is
    // parsed once, without the peek pass (any other key order takes the general path).
    if text.starts_with(BOOK_FRAME_PREFIX) {
        return Ok(Frame::Book(serde_json::from_str(text)?));
    }
    let peek: Peek = serde_json::from_str(text)?;
    if let Some(topic) = peek.topic.as_deref() {
        let family = topic.split('.').next().unwrap_or("");
        return Ok(match family {
            "orderbook" => Frame::Book(serde_json::from_str(text)?),
            "publicTrade" => Frame::Trades(serde_json::from_str(text)?),
            "tickers" => Frame::Ticker(serde_json::from_str(text)?),
            "order" => Frame::Orders(private_message(text)?),
            "execution" => Frame::Executions(private_message(text)?),
            "position" => Frame::Positions(private_message(text)?),
            "wallet" => Frame::Wallet(private_message(text)?),
            "dcp" => Frame::Dcp(serde_json::from_str(text)?),
            _ => Frame::UnknownTopic(topic.to_string()),
        });
    }
    match peek.op.as_deref() {
        Some("pong") => Ok(Frame::Pong),
        Some("ping") if peek.ret_msg.as_deref() == Some("pong") => Ok(Frame::Pong),
        Some(_) => Ok(Frame::Op(serde_json::from_str(text)?)),
        None => Err(DecodeError::Unrecognised),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn decodes_book_snapshot() {
        let f = decode(r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["30000.0","1.000"]],"a":[["30000.1","1.500"]],"u":400001,"seq":7},"cts":1}"#).unwrap();
        let Frame::Book(b) = f else { panic!("not a book: {f:?}") };
        assert_eq!(b.kind, UpdateType::Snapshot);
        assert_eq!(b.data.a[0], (dec!(30000.1), dec!(1.5)));
    }

    #[test]
    fn decodes_both_pong_shapes() {
        assert_eq!(
            decode(r#"{"success":true,"ret_msg":"pong","conn_id":"x","req_id":"","op":"ping"}"#).unwrap(),
            Frame::Pong
        );
        assert_eq!(
            decode(r#"{"req_id":"1","op":"pong","args":["1"],"conn_id":"x"}"#).unwrap(),
            Frame::Pong
        );
    }

    #[test]
    fn decodes_op_response_with_integer_req_id() {
        let Frame::Op(op) = decode(r#"{"success":false,"ret_msg":"Params Error","op":"auth","conn_id":"c","req_id":7}"#).unwrap() else {
            panic!()
        };
        assert!(!op.success);
        assert_eq!(op.req_id, Some(Value::from(7)));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "{",
            "[]",
            "null",
            r#"{"x":1}"#,
            r#"{"topic":"orderbook.1.X","type":"nope"}"#,
            r#"{"topic":5}"#,
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
        assert_eq!(
            decode(r#"{"topic":"greeks","data":[]}"#).unwrap(),
            Frame::UnknownTopic("greeks".into())
        );
        let big = "x".repeat(MAX_FRAME_BYTES + 1);
        assert!(matches!(decode(&big), Err(DecodeError::TooLarge(_))));
    }
}
