#![no_main]
//! Any REST answer body: the envelope and the typed results decode or fail, never panic.

use libfuzzer_sys::fuzz_target;

use bybit_v5::envelope::Envelope;
use bybit_v5::rest::{CancelAllResult, ListResult, OrderInfo, OrderbookResult};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Envelope<serde_json::Value>>(data);
    let _ = serde_json::from_slice::<Envelope<ListResult<OrderInfo>>>(data);
    let _ = serde_json::from_slice::<Envelope<OrderbookResult>>(data);
    let _ = serde_json::from_slice::<Envelope<CancelAllResult>>(data);
});
