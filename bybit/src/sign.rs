//! Request signing as Bybit V5 defines it: HMAC-SHA256, lowercase hex.
//!
//! REST: `timestamp + api_key + recv_window + payload`, where the payload is the query string
//! exactly as sent (GET) or the raw body exactly as sent (POST). Servers must verify against the
//! received bytes, never a re-serialisation, because clients differ in key order and spacing.
//! WebSocket auth: `"GET/realtime" + expires`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(secret.as_bytes()).expect("hmac accepts any key length")
}

/// The exact string Bybit signs for a REST request.
pub fn rest_sign_payload(timestamp_ms: u64, api_key: &str, recv_window_ms: &str, payload: &str) -> String {
    format!("{timestamp_ms}{api_key}{recv_window_ms}{payload}")
}

/// Signature for a REST request (GET: raw query without `?`; POST: raw body).
pub fn sign_rest(secret: &str, timestamp_ms: u64, api_key: &str, recv_window_ms: &str, payload: &str) -> String {
    let mut m = mac(secret);
    m.update(rest_sign_payload(timestamp_ms, api_key, recv_window_ms, payload).as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Signature for the private WebSocket `auth` op.
pub fn sign_ws_auth(secret: &str, expires_ms: u64) -> String {
    let mut m = mac(secret);
    m.update(format!("GET/realtime{expires_ms}").as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Constant-time check of a hex signature against the signed text.
pub fn verify(secret: &str, signed_text: &str, signature_hex: &str) -> bool {
    let Ok(expected) = hex::decode(signature_hex) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(signed_text.as_bytes());
    m.verify_slice(&expected).is_ok()
}

/// The auth headers of a signed REST request, in the order Bybit documents them.
pub fn rest_headers(api_key: &str, secret: &str, timestamp_ms: u64, recv_window_ms: &str, payload: &str) -> [(&'static str, String); 5] {
    [
        ("X-BAPI-API-KEY", api_key.to_string()),
        ("X-BAPI-TIMESTAMP", timestamp_ms.to_string()),
        ("X-BAPI-RECV-WINDOW", recv_window_ms.to_string()),
        ("X-BAPI-SIGN", sign_rest(secret, timestamp_ms, api_key, recv_window_ms, payload)),
        ("X-BAPI-SIGN-TYPE", "2".to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from shared/bybit-v5-reference.md §1.4 (computed with Python hmac and openssl).
    const SECRET: &str = "testsecret";
    const KEY: &str = "testkey";
    const TS: u64 = 1_700_000_000_000;

    #[test]
    fn get_with_query() {
        assert_eq!(
            sign_rest(SECRET, TS, KEY, "5000", "category=linear&symbol=BTCUSDT"),
            "f2f79889fd1201752936b389c890e9d393e01e0311a6d8785fb80753aa26c69b"
        );
    }

    #[test]
    fn get_without_query() {
        assert_eq!(
            sign_rest(SECRET, TS, KEY, "5000", ""),
            "2fc9e776b3f07b2ee447067e0f627438055b198bb14dba79e1a3d50e40a5bd8d"
        );
    }

    #[test]
    fn post_compact_body() {
        let body = r#"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"30000","timeInForce":"PostOnly"}"#;
        assert_eq!(
            sign_rest(SECRET, TS, KEY, "5000", body),
            "71625f07459dc1dd9b8291a96063912798a98ccb723f9408be181ad7c684159b"
        );
    }

    #[test]
    fn post_spaced_body() {
        let body = r#"{"category": "linear", "symbol": "BTCUSDT"}"#;
        assert_eq!(
            sign_rest(SECRET, TS, KEY, "5000", body),
            "def0b8e056c650fcf7cdc09615b4e494f418e0a17b52d7f7bf0ee27a8383e52f"
        );
    }

    #[test]
    fn ws_auth() {
        assert_eq!(
            sign_ws_auth(SECRET, 1_700_000_010_000),
            "6a806639d27b1c24c3808a191e9d0274d0c9d3a04a160233856d65840dfda2c8"
        );
    }

    #[test]
    fn verify_accepts_good_and_rejects_bad() {
        let text = rest_sign_payload(TS, KEY, "5000", "a=1");
        let sig = sign_rest(SECRET, TS, KEY, "5000", "a=1");
        assert!(verify(SECRET, &text, &sig));
        assert!(!verify("other", &text, &sig));
        assert!(!verify(SECRET, &text, "zz"));
        assert!(!verify(SECRET, &format!("{text}x"), &sig));
    }
}
