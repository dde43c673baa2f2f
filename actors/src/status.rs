//! What `/status` shows, and the patches other actors send to keep it current.

use std::collections::BTreeMap;

use actix::Message;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::orders::TrackedOrder;
use crate::report::StepReport;

#[derive(Debug, Clone, Default, Serialize)]
pub struct ShutdownProgress {
    pub shutdown_id: String,
    pub reason: String,
    pub steps: Vec<StepReport>,
    pub finished: bool,
    pub exit_code: Option<i32>,
    /// The orders' outcome once the order step answered: per symbol, the path that flattened it.
    pub orders: Option<crate::stop::OrdersOutcome>,
    /// Positions at exit, once the positions step answered.
    pub positions: Option<crate::stop::PositionsOutcome>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusView {
    pub run_id: String,
    pub mode: String,
    pub symbols: Vec<String>,
    pub ready: bool,
    pub shutting_down: bool,
    pub connections: BTreeMap<String, String>,
    pub open_orders: Vec<TrackedOrder>,
    pub positions: BTreeMap<String, Decimal>,
    pub book_tops: BTreeMap<String, (Decimal, Decimal)>,
    /// Quotes the strategy wants (in dry-run, nothing is sent for them).
    pub desired_quotes: BTreeMap<String, usize>,
    pub recorder_file: String,
    pub pnl: crate::pnl::Pnl,
    pub resources: Option<crate::monitor::ResourceReport>,
    /// The account's request budget: per endpoint limit/remaining/deferred, the IP window, and
    /// the exchange's refusals by code.
    pub budget: crate::rate_governor::BudgetSnapshot,
    pub shutdown: Option<ShutdownProgress>,
}

#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub enum StatusPatch {
    Ready(bool),
    Connection {
        stream: String,
        state: String,
    },
    Orders(Vec<TrackedOrder>),
    Position {
        symbol: String,
        size: Decimal,
    },
    BookTop {
        symbol: String,
        bid: Decimal,
        ask: Decimal,
    },
    DesiredQuotes {
        symbol: String,
        count: usize,
    },
    Shutdown(ShutdownProgress),
    Pnl(crate::pnl::Pnl),
    Resources(crate::monitor::ResourceReport),
    Budget(crate::rate_governor::BudgetSnapshot),
    /// What the shutdown's positions step read (and closed), as soon as it knows.
    ExitPositions(crate::stop::PositionsOutcome),
}

impl StatusView {
    pub fn apply(&mut self, patch: StatusPatch) {
        match patch {
            StatusPatch::Ready(r) => self.ready = r,
            StatusPatch::Connection { stream, state } => {
                self.connections.insert(stream, state);
            }
            StatusPatch::Orders(o) => self.open_orders = o,
            StatusPatch::Position { symbol, size } => {
                self.positions.insert(symbol, size);
            }
            StatusPatch::BookTop { symbol, bid, ask } => {
                self.book_tops.insert(symbol, (bid, ask));
            }
            StatusPatch::DesiredQuotes { symbol, count } => {
                self.desired_quotes.insert(symbol, count);
            }
            StatusPatch::Pnl(p) => self.pnl = p,
            StatusPatch::Resources(r) => self.resources = Some(r),
            StatusPatch::Budget(b) => self.budget = b,
            StatusPatch::ExitPositions(p) => {
                if let Some(s) = self.shutdown.as_mut() {
                    s.positions = Some(p);
                }
            }
            StatusPatch::Shutdown(mut p) => {
                self.shutting_down = true;
                self.ready = false;
                // The positions step reports early; a progress patch does not erase it.
                if p.positions.is_none() {
                    p.positions = self.shutdown.as_mut().and_then(|s| s.positions.take());
                }
                self.shutdown = Some(p);
            }
        }
    }
}
