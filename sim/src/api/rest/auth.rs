//! REST authentication exactly as Bybit checks it: API key, timestamp inside the receive window,
//! and an HMAC over the raw query string or raw body as received.

use bybit_v5::{sign, RetCode};

use crate::error::ApiError;

pub const DEFAULT_RECV_WINDOW: u64 = 5000;

/// The auth headers of one request and the payload that was signed.
#[derive(Debug, Clone, Copy)]
pub struct AuthInput<'a> {
    pub api_key: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub recv_window: Option<&'a str>,
    pub payload: &'a str,
}

/// Check a request against the account list `(api_key, secret)`; returns the account index.
pub fn authenticate<'k>(accounts: impl Iterator<Item = (&'k str, &'k str)>, input: AuthInput<'_>, now_ms: u64) -> Result<usize, ApiError> {
    let key = input
        .api_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::new(RetCode::InvalidApiKey, "API key is invalid."))?;
    let (index, secret) = accounts
        .enumerate()
        .find(|(_, (k, _))| *k == key)
        .map(|(i, (_, s))| (i, s))
        .ok_or_else(|| ApiError::new(RetCode::InvalidApiKey, "API key is invalid."))?;
    let ts_text = input
        .timestamp
        .ok_or_else(|| ApiError::param("params error: X-BAPI-TIMESTAMP is missing"))?;
    let ts: u64 = ts_text
        .trim()
        .parse()
        .map_err(|_| ApiError::param("params error: X-BAPI-TIMESTAMP is not a number"))?;
    let window_text = input.recv_window.unwrap_or("5000");
    let window: u64 = window_text
        .trim()
        .parse()
        .map_err(|_| ApiError::param("params error: X-BAPI-RECV-WINDOW is not a number"))?;
    if ts + window < now_ms || ts >= now_ms + 1000 {
        return Err(ApiError::new(
            RetCode::TimestampOutOfWindow,
            format!("invalid request, please check your server timestamp or recv_window param. req_timestamp[{ts}],server_timestamp[{now_ms}],recv_window[{window}]"),
        ));
    }
    let signed = sign::rest_sign_payload(ts, key, window_text, input.payload);
    let ok = input.signature.is_some_and(|s| sign::verify(secret, &signed, s));
    if !ok {
        return Err(ApiError::new(
            RetCode::SignatureError,
            format!("Error sign, please check your signature generation algorithm: origin_string[{signed}]"),
        ));
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNTS: [(&str, &str); 1] = [("testkey", "testsecret")];

    fn input<'a>(ts: &'a str, sig: &'a str, payload: &'a str) -> AuthInput<'a> {
        AuthInput {
            api_key: Some("testkey"),
            timestamp: Some(ts),
            signature: Some(sig),
            recv_window: Some("5000"),
            payload,
        }
    }

    #[test]
    fn accepts_reference_vector() {
        let sig = "f2f79889fd1201752936b389c890e9d393e01e0311a6d8785fb80753aa26c69b";
        let r = authenticate(
            ACCOUNTS.iter().copied(),
            input("1700000000000", sig, "category=linear&symbol=BTCUSDT"),
            1_700_000_000_500,
        );
        assert_eq!(r, Ok(0));
    }

    #[test]
    fn rejects_bad_sig_key_and_time() {
        let sig = "f2f79889fd1201752936b389c890e9d393e01e0311a6d8785fb80753aa26c69b";
        let now = 1_700_000_000_500;
        let reordered = authenticate(
            ACCOUNTS.iter().copied(),
            input("1700000000000", sig, "symbol=BTCUSDT&category=linear"),
            now,
        );
        assert_eq!(reordered.unwrap_err().code, RetCode::SignatureError);
        let mut bad_key = input("1700000000000", sig, "");
        bad_key.api_key = Some("nope");
        assert_eq!(
            authenticate(ACCOUNTS.iter().copied(), bad_key, now).unwrap_err().code,
            RetCode::InvalidApiKey
        );
        let late = authenticate(
            ACCOUNTS.iter().copied(),
            input("1700000000000", sig, "category=linear&symbol=BTCUSDT"),
            now + 5000,
        );
        assert_eq!(late.unwrap_err().code, RetCode::TimestampOutOfWindow);
        let early = authenticate(
            ACCOUNTS.iter().copied(),
            input("1700000000000", sig, "category=linear&symbol=BTCUSDT"),
            1_699_999_999_000,
        );
        assert_eq!(early.unwrap_err().code, RetCode::TimestampOutOfWindow);
    }
}
