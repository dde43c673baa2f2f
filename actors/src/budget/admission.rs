//! What a sender asks with (its priority) and what the governor answers when a request must
//! wait: the deferral and its reason; the exchange's limit headers it learns from.

use std::time::Instant;

use serde::Serialize;

use bybit_v5::limits;

/// Who is asking: cancels first, then quotes, then reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Cancel,
    Quote,
    Read,
}

impl Priority {
    pub fn of(endpoint: &str, is_get: bool) -> Self {
        if is_get {
            Priority::Read
        } else if limits::is_cancel(endpoint) {
            Priority::Cancel
        } else {
            Priority::Quote
        }
    }
}

/// Why a request may not go now, and when it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deferral {
    pub until: Instant,
    pub reason: DeferReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeferReason {
    /// The endpoint's window is spent.
    Budget,
    /// The exchange answered 10006; blocked until its reset timestamp.
    RateLimited,
    /// The IP window is spent.
    IpWindow,
    /// The exchange banned the IP (HTTP 403).
    IpBan,
    /// This endpoint answered an HTTP 403 that is not the rate ban (a WAF or CDN refusal):
    /// held back briefly over REST, this endpoint only.
    Forbidden,
}

impl DeferReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DeferReason::Budget => "budget",
            DeferReason::RateLimited => "rate_limited",
            DeferReason::IpWindow => "ip_window",
            DeferReason::IpBan => "ip_ban",
            DeferReason::Forbidden => "forbidden",
        }
    }
}

/// What an answer's `X-Bapi-Limit*` headers said, with the reset already on our clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitHeaders {
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
    /// `X-Bapi-Limit-Reset-Timestamp` as a local instant.
    pub reset_at: Option<Instant>,
}

/// The exchange's headers named a limit other than the last one known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitChange {
    pub configured: u32,
    pub exchange_says: u32,
}
