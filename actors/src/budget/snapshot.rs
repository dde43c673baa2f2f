//! The budget as `/status` and the dashboard show it.

use std::collections::BTreeMap;

use serde::Serialize;

/// Per endpoint, as `/status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointBudget {
    pub limit: u32,
    pub configured: u32,
    /// The account's budget per the exchange's headers, once known.
    pub exchange_says: Option<u32>,
    pub remaining: u32,
    pub deferred: u64,
    pub blocked_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BudgetSnapshot {
    pub endpoints: BTreeMap<String, EndpointBudget>,
    pub ip_limit: u32,
    pub ip_remaining: u32,
    pub ip_banned_ms: u64,
    /// Exchange refusals by endpoint and retCode (HTTP 403 as code 403).
    pub rejections: BTreeMap<String, BTreeMap<String, u64>>,
}
