//! Bybit's request budgets (V5, the default tier's table) — which budget each path spends and
//! how much of it an account has by default. Client and simulator both read this table, so
//! they cannot drift apart. Source: shared/bybit-v5-reference.md §3.

use crate::rest::path;

/// Order-endpoint budget per second and account (create, amend, cancel, cancel-all and each
/// batch endpoint separately; a batch spends one unit per order). Upgradable (VIP, PRO).
pub const DEFAULT_ORDERS_PER_SEC: u32 = 10;
/// Order/position/account reads per second and account.
pub const DEFAULT_READS_PER_SEC: u32 = 50;
/// HTTP requests per rolling five seconds per IP, over every path; above it, HTTP 403.
pub const IP_REQUESTS_PER_5S: u32 = 600;
/// How long Bybit asks a banned IP to stay away ("at least 10 minutes").
pub const IP_BAN_MS: u64 = 600_000;

/// Which per-account budget a path spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// The order-endpoint budget (default 10/s, upgradable).
    Orders,
    /// The read budget (default 50/s).
    Reads,
    /// A fixed budget that no account tier changes.
    Fixed(u32),
}

/// The per-account budget `p` spends; `None` for public market data (IP limit only).
pub fn budget_of(p: &str) -> Option<Budget> {
    match p {
        path::DCP | path::FEE_RATE | path::COIN_INFO | path::DCP_INFO => Some(Budget::Fixed(5)),
        path::SWITCH_MODE | path::SET_LEVERAGE | path::TRADING_STOP => Some(Budget::Fixed(10)),
        path::ORDER_REALTIME | path::ORDER_HISTORY => Some(Budget::Reads),
        p if p.starts_with("/v5/order/") => Some(Budget::Orders),
        p if p.starts_with("/v5/market/") => None,
        _ => Some(Budget::Reads),
    }
}

/// Units a request spends: one per order in a batch, one otherwise.
pub fn is_batch(p: &str) -> bool {
    matches!(p, path::ORDER_CREATE_BATCH | path::ORDER_AMEND_BATCH | path::ORDER_CANCEL_BATCH)
}

/// A request that removes orders (it reduces risk, so it goes before anything else).
pub fn is_cancel(p: &str) -> bool {
    matches!(p, path::ORDER_CANCEL | path::ORDER_CANCEL_ALL | path::ORDER_CANCEL_BATCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(budget_of(path::ORDER_AMEND_BATCH), Some(Budget::Orders));
        assert_eq!(budget_of(path::ORDER_CANCEL_ALL), Some(Budget::Orders));
        assert_eq!(budget_of(path::ORDER_REALTIME), Some(Budget::Reads));
        assert_eq!(budget_of(path::WALLET_BALANCE), Some(Budget::Reads));
        assert_eq!(budget_of(path::DCP), Some(Budget::Fixed(5)));
        assert_eq!(budget_of(path::ORDERBOOK), None);
        assert!(is_cancel(path::ORDER_CANCEL_BATCH) && !is_cancel(path::ORDER_AMEND));
    }
}
