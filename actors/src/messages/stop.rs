//! The one `Stop` message every stoppable actor handles, and what it answers: the step's own
//! verdict, a line for the operator, and (OrderManager only) what happened to the orders.

use std::time::Instant;

use actix::Message;
use serde::Serialize;

use crate::orders::cancel_path::SymbolFlatten;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    TimedOut,
    Failed,
}

impl std::fmt::Display for StepStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StepStatus::Ok => "ok",
            StepStatus::TimedOut => "timed out",
            StepStatus::Failed => "failed",
        })
    }
}

/// What became of the bot's orders during shutdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrdersOutcome {
    pub cancelled: usize,
    /// Orders of the bot still open at the last check (None when the check never succeeded).
    pub remaining: Option<usize>,
    /// The exchange confirmed zero open orders of the bot.
    pub verified_flat: bool,
    /// Nothing was ever sent (a dry run, or a standby that never became active), so nothing was
    /// cancelled.
    pub skipped_dry_run: bool,
    pub attempts: u32,
    /// Order-link ids that may still rest on the exchange.
    pub may_remain: Vec<String>,
    /// Per symbol: the path that flattened it, requests per path, time to flat.
    pub symbols: Vec<SymbolFlatten>,
}

/// A position left at exit (or closed), from the exchange's position list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PositionAtExit {
    pub symbol: String,
    /// Signed: positive long, negative short.
    pub size: rust_decimal::Decimal,
    pub mark_price: rust_decimal::Decimal,
    /// |size| × mark price, in the settle coin.
    pub notional: rust_decimal::Decimal,
}

impl PositionAtExit {
    /// "SOLUSDT 0.6 (notional 59.73), BTCUSDT -0.01 (notional 601.2)".
    pub fn describe(list: &[PositionAtExit]) -> String {
        list.iter()
            .map(|p| format!("{} {} (notional {})", p.symbol, p.size, p.notional.round_dp(2)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What the positions step found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PositionsOutcome {
    /// The positions at the end of the step (None: the exchange could not be asked).
    pub left: Option<Vec<PositionAtExit>>,
    /// `shutdown.close_positions` was on.
    pub close_requested: bool,
    /// Positions found open before closing, when closing was asked.
    pub before_close: Vec<PositionAtExit>,
    /// Closes were withheld because they could land after this instance's lease could lapse
    /// (the next active may have read the positions as its own already).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lease_ended: bool,
}

/// Stop now; answer before `deadline`.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "StopAck")]
pub struct Stop {
    pub deadline: Instant,
    /// The orders step has verified on the exchange that no order of this run rests (or there
    /// was none to place): what releasing the high-availability lease waits for.
    pub orders_flat: bool,
}

/// The positions step closes what is left whatever `shutdown.close_positions` says (the kill
/// switch with `risk.on_kill = "cancel_and_close"`). Sent before the shutdown is asked for.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct CloseAtExit {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StopAck {
    pub status: StepStatus,
    pub detail: String,
    pub orders: Option<OrdersOutcome>,
    /// The positions step only.
    pub positions: Option<PositionsOutcome>,
}

impl StopAck {
    pub fn ok(detail: impl Into<String>) -> Self {
        Self {
            status: StepStatus::Ok,
            detail: detail.into(),
            orders: None,
            positions: None,
        }
    }

    pub fn with_status(status: StepStatus, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            orders: None,
            positions: None,
        }
    }
}
