//! A business error as the exchange answers it: HTTP 200, a retCode and a message.

use bybit_v5::RetCode;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code:?} ({}): {msg}", code.code())]
pub struct ApiError {
    pub code: RetCode,
    pub msg: String,
}

impl ApiError {
    pub fn new(code: RetCode, msg: impl Into<String>) -> Self {
        Self { code, msg: msg.into() }
    }

    pub fn param(msg: impl Into<String>) -> Self {
        Self::new(RetCode::ParamError, msg)
    }
}
