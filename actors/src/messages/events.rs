//! What the Recorder writes: one JSON object per line, each with a sequence number, a
//! timestamp and a `kind`.

use rust_decimal::Decimal;
use serde::Serialize;

use bybit_v5::Side;

use crate::messages::report::{ShutdownReport, StepReport};
use crate::orders::order_table::TrackedOrder;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Started {
        run_id: String,
        mode: String,
        symbols: Vec<String>,
        version: String,
    },
    OrderSent {
        action: String,
        link_id: String,
        symbol: String,
        side: Option<Side>,
        price: Option<Decimal>,
        qty: Option<Decimal>,
    },
    OrderRejected {
        action: String,
        link_id: String,
        code: i64,
        message: String,
    },
    OrderClosed {
        link_id: String,
        symbol: String,
        status: String,
        reason: String,
    },
    Fill {
        link_id: String,
        symbol: String,
        side: Side,
        price: Decimal,
        qty: Decimal,
        fee: Decimal,
        is_maker: bool,
    },
    Connection {
        stream: String,
        state: String,
    },
    StartupReconciliation {
        policy: String,
        leftovers: Vec<String>,
        cancelled: usize,
        foreign: Vec<String>,
        /// Per symbol with leftovers: the path that cancelled them, requests per path.
        symbols: Vec<crate::orders::cancel_path::SymbolFlatten>,
    },
    DeadManSwitch {
        armed: bool,
        window_s: u32,
        detail: String,
    },
    /// The high-availability role changed (standby, taking over, active, released, lost).
    HaRole {
        from: String,
        to: String,
        key: String,
        why: String,
    },
    Error {
        source: String,
        message: String,
    },
    ShutdownStarted {
        shutdown_id: String,
        reason: String,
    },
    ShutdownStep(StepReport),
    ShutdownCancelOrders {
        cancelled: usize,
        remaining: Option<usize>,
        verified_flat: bool,
        attempts: u32,
        elapsed_ms: u64,
        skipped_dry_run: bool,
        /// Per symbol: the path that flattened it, requests per path, time to flat.
        symbols: Vec<crate::orders::cancel_path::SymbolFlatten>,
        dead_man_after_ms: Option<u64>,
    },
    FinalState {
        open_orders: Vec<TrackedOrder>,
        positions: Vec<(String, Decimal)>,
    },
    ShutdownForced {
        shutdown_id: String,
        /// Per symbol, the order-link ids the bot believed open (None: the order manager did not say).
        believed_open: Option<std::collections::BTreeMap<String, Vec<String>>>,
    },
    ShutdownReport(ShutdownReport),
    Resources(crate::telemetry::resources::ResourceReport),
}

impl Event {
    /// Events that must reach the disk at once, not at the next periodic flush.
    pub fn is_urgent(&self) -> bool {
        matches!(
            self,
            Event::ShutdownStarted { .. }
                | Event::ShutdownForced { .. }
                | Event::ShutdownReport(_)
                | Event::Error { .. }
                | Event::StartupReconciliation { .. }
                | Event::DeadManSwitch { .. }
                | Event::HaRole { .. }
        )
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Event::Started { .. } => "started",
            Event::OrderSent { .. } => "order_sent",
            Event::OrderRejected { .. } => "order_rejected",
            Event::OrderClosed { .. } => "order_closed",
            Event::Fill { .. } => "fill",
            Event::Connection { .. } => "connection",
            Event::StartupReconciliation { .. } => "startup_reconciliation",
            Event::DeadManSwitch { .. } => "dead_man_switch",
            Event::HaRole { .. } => "ha_role",
            Event::Error { .. } => "error",
            Event::ShutdownStarted { .. } => "shutdown_started",
            Event::ShutdownStep(_) => "shutdown_step",
            Event::ShutdownCancelOrders { .. } => "shutdown_cancel_orders",
            Event::FinalState { .. } => "final_state",
            Event::ShutdownForced { .. } => "shutdown_forced",
            Event::ShutdownReport(_) => "shutdown_report",
            Event::Resources(_) => "resources",
        }
    }
}
