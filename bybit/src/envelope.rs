//! The response envelope every Bybit V5 REST answer carries.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::codes::RetCode;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de> + Default"))]
pub struct Envelope<T> {
    pub ret_code: i64,
    #[serde(default)]
    pub ret_msg: String,
    /// Absent from some documented answers (disconnected-cancel-all sends only `retCode` and
    /// `retMsg`): then the type's default, e.g. `null` for a `Value`.
    #[serde(default)]
    pub result: T,
    #[serde(default = "empty_object")]
    pub ret_ext_info: Value,
    #[serde(default)]
    pub time: u64,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

impl<T> Envelope<T> {
    pub fn ok(result: T, time: u64) -> Self {
        Self {
            ret_code: 0,
            ret_msg: "OK".into(),
            result,
            ret_ext_info: empty_object(),
            time,
        }
    }

    pub fn code(&self) -> RetCode {
        RetCode::from_code(self.ret_code)
    }
}

impl Envelope<Value> {
    pub fn error(code: RetCode, msg: impl Into<String>, time: u64) -> Self {
        Self {
            ret_code: code.code(),
            ret_msg: msg.into(),
            result: empty_object(),
            ret_ext_info: empty_object(),
            time,
        }
    }
}

/// Per-item outcome of a batch call, found in `retExtInfo.list`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BatchItemCode {
    pub code: i64,
    pub msg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct BatchExtInfo {
    #[serde(default)]
    pub list: Vec<BatchItemCode>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_error_with_empty_result() {
        let e: Envelope<Value> =
            serde_json::from_str(r#"{"retCode":10003,"retMsg":"API key is invalid.","result":{},"retExtInfo":{},"time":1}"#).unwrap();
        assert_eq!(e.code(), RetCode::InvalidApiKey);
    }

    #[test]
    fn the_documented_bare_dcp_answer_decodes() {
        let e: Envelope<Value> = serde_json::from_str(r#"{"retCode":0,"retMsg":"success"}"#).unwrap();
        assert_eq!((e.code(), e.result), (RetCode::Ok, Value::Null));
    }

    #[test]
    fn dcp_answer_without_time_or_ext_decodes() {
        let e: Envelope<Option<Value>> = serde_json::from_str(r#"{"retCode":0,"retMsg":"success","result":null}"#).unwrap();
        assert_eq!(e.code(), RetCode::Ok);
    }
}
