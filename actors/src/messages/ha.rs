//! The lease's role, and what a standby tells the actors when it becomes active.

use std::collections::BTreeMap;

use actix::Message;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::market::net_position::NetPosition;

/// Which instance quotes, as this one sees it (`/status.ha`, the dashboard).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HaView {
    /// "standby", "taking over", "active", "released" (after a planned stop) or "lost" (the
    /// lease could not be renewed in time).
    pub role: String,
    /// Unix milliseconds when this role began.
    pub since_ms: u64,
    /// The etcd key whose holder is active.
    pub key: String,
    /// Who holds the key, as the holder wrote it (run id, host, control address); None: free.
    pub holder: Option<String>,
    /// The last etcd request's outcome: "ok" or the error.
    pub etcd: String,
    /// Milliseconds the active has left before it gives up its lease (None unless active).
    pub give_up_in_ms: Option<u64>,
    /// The account's kill switch tripped (what it says): no instance takes over until an
    /// operator clears it.
    pub kill_switch: Option<String>,
}

impl HaView {
    pub fn is_standby(&self) -> bool {
        matches!(self.role.as_str(), "standby" | "taking over")
    }
}

/// From the Supervisor: the kill switch tripped. Under a lease it is the account's: kept in etcd
/// so that the standby does not take over a bot that was stopped for its losses.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct KillSwitchTripped {
    pub reason: String,
}

/// To the OrderManager: the lease is won and the account read; quote. The answer says whether
/// it still can (false once its shutdown has begun).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "bool")]
pub struct Activate;

/// To the Strategy: the positions the new active takes over, the baseline of its PnL.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Inherit(pub BTreeMap<String, NetPosition>);

/// To the AccountWatch: this run's executions begin at `since_ms`; the positions as read.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct AccountFrom {
    pub since_ms: u64,
    pub positions: BTreeMap<String, Decimal>,
}
