#![no_main]
//! Any bytes on the WebSocket: decoding returns a frame or an error, never panics.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = bybit_v5::ws::decode(text);
    }
});
