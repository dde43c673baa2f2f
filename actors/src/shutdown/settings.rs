//! `[shutdown]`: the stop sequence's per-step timeouts, its overall deadline, and whether the
//! positions are closed at the end.

use serde::{Deserialize, Serialize};

/// Per-step timeouts and the overall deadline, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownSettings {
    /// Hard bound on the whole sequence. Keep the container grace period above it.
    pub deadline_ms: u64,
    pub order_manager_ms: u64,
    /// The positions step: read what is left (and close it, when asked).
    pub positions_ms: u64,
    /// Close positions with reduce-only IOC orders after the cancels (off: report them only).
    pub close_positions: bool,
    /// How far from the mark price a close may fill, in basis points.
    pub close_slippage_bps: rust_decimal::Decimal,
    pub strategy_ms: u64,
    pub ws_connector_ms: u64,
    pub rest_connector_ms: u64,
    pub web_server_ms: u64,
    pub recorder_ms: u64,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        Self {
            deadline_ms: 40_000,
            order_manager_ms: 20_000,
            positions_ms: 5_000,
            close_positions: false,
            close_slippage_bps: rust_decimal::Decimal::from(50),
            strategy_ms: 2_000,
            ws_connector_ms: 3_000,
            rest_connector_ms: 3_000,
            web_server_ms: 5_000,
            recorder_ms: 10_000,
        }
    }
}
