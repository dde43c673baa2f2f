//! What `/status` shows, and the patches other actors send to keep it current.

use std::collections::BTreeMap;

use actix::Message;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::messages::report::StepReport;
use crate::orders::order_table::TrackedOrder;

/// The step the shutdown is in: shown as it starts, with its timeout.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunningStep {
    pub step: String,
    pub timeout_ms: u64,
    /// Since the shutdown started.
    pub started_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ShutdownProgress {
    pub shutdown_id: String,
    pub reason: String,
    /// Finished steps, in order.
    pub steps: Vec<StepReport>,
    pub running: Option<RunningStep>,
    /// Steps still to come.
    pub upcoming: Vec<String>,
    pub elapsed_ms: u64,
    pub deadline_ms: u64,
    pub finished: bool,
    /// The web server is stopping: this is the last update its clients get, and `exit_code` is
    /// the verdict if the remaining steps succeed.
    pub last_from_server: bool,
    /// The final exit code once finished (or the expected one, with `last_from_server`).
    pub exit_code: Option<i32>,
    /// The orders' outcome once the order step answered: per symbol, the path that flattened it.
    pub orders: Option<crate::messages::stop::OrdersOutcome>,
    /// Positions at exit, once the positions step answered.
    pub positions: Option<crate::messages::stop::PositionsOutcome>,
}

/// A fill of the bot's, as the dashboard marks it on the chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FillMark {
    pub symbol: String,
    pub side: bybit_v5::Side,
    pub price: Decimal,
    pub qty: Decimal,
    /// Unix milliseconds (the exchange's execution time).
    pub t: u64,
}

/// Fills kept for the dashboard.
pub const FILLS_KEPT: usize = 500;

/// What the dashboard needs to round a symbol's numbers: prices to the tick, sizes to the step.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InstrumentView {
    pub tick_size: Decimal,
    pub qty_step: Decimal,
}

/// The limits the header measures against.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LimitsView {
    /// Kill-switch drawdown, USDT (0: off).
    pub max_drawdown: Decimal,
    pub max_position_notional: Decimal,
}

/// One row of the account checks (the preflight, the dead-man switch's confirmation).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountCheck {
    pub check: String,
    /// "ok", "WARN" or "BLOCKER".
    pub verdict: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusView {
    pub run_id: String,
    pub mode: String,
    pub symbols: Vec<String>,
    /// What `/readyz` answers: the streams are up and the bot's quotes rest.
    pub ready: bool,
    /// Why not, when not ready: "starting", "stream private is reconnecting", "quoting halted…".
    pub not_ready: Option<String>,
    /// The startup finished (reconciled, every actor running).
    pub started: bool,
    /// Orders are part of being ready (not in dry-run, where nothing is ever sent).
    pub expects_orders: bool,
    /// An order of this run has rested on the exchange.
    pub quoted: bool,
    /// Symbols the refusal breaker halted, with the refusal that halted them.
    pub halted: BTreeMap<String, String>,
    /// The account checks, as the start ran them.
    pub account: Vec<AccountCheck>,
    pub shutting_down: bool,
    /// Unix milliseconds when this run started.
    pub started_ms: u64,
    pub instruments: BTreeMap<String, InstrumentView>,
    pub limits: LimitsView,
    /// The account's equity when the run started (None in dry-run: not asked).
    pub starting_equity: Option<Decimal>,
    /// The account's available balance when the run started (None in dry-run: not asked).
    pub starting_available: Option<Decimal>,
    /// The bot's latest fills, oldest first.
    pub fills: std::collections::VecDeque<FillMark>,
    pub connections: BTreeMap<String, String>,
    pub open_orders: Vec<TrackedOrder>,
    pub positions: BTreeMap<String, Decimal>,
    pub book_tops: BTreeMap<String, (Decimal, Decimal)>,
    /// Quotes the strategy wants (in dry-run, nothing is sent for them).
    pub desired_quotes: BTreeMap<String, usize>,
    pub recorder_file: String,
    pub pnl: crate::market::pnl::Pnl,
    pub resources: Option<crate::telemetry::resources::ResourceReport>,
    /// The account's request budget: per endpoint limit/remaining/deferred, the IP window, and
    /// the exchange's refusals by code.
    pub budget: crate::budget::rate_governor::BudgetSnapshot,
    pub shutdown: Option<ShutdownProgress>,
    /// How the previous run's shutdown went (from the data directory).
    pub previous_shutdown: Option<crate::messages::previous_shutdown::PreviousShutdown>,
    /// The high-availability role (None without `[ha]`).
    pub ha: Option<crate::messages::ha::HaView>,
}

#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub enum StatusPatch {
    /// The startup finished.
    Started,
    /// The symbols the refusal breaker halts now, with why.
    Halted(BTreeMap<String, String>),
    /// An account check's row, new or replacing the one of the same name.
    AccountCheck(AccountCheck),
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
    Shutdown(Box<ShutdownProgress>),
    Fills(Vec<FillMark>),
    Pnl(crate::market::pnl::Pnl),
    Resources(crate::telemetry::resources::ResourceReport),
    Budget(crate::budget::rate_governor::BudgetSnapshot),
    /// What the shutdown's positions step read (and closed), as soon as it knows.
    ExitPositions(crate::messages::stop::PositionsOutcome),
    /// The high-availability role changed, or its lease's figures did.
    Ha(crate::messages::ha::HaView),
}

impl StatusView {
    pub fn apply(&mut self, patch: StatusPatch) {
        self.apply_patch(patch);
        let verdict = self.readiness();
        self.ready = verdict.is_ok();
        self.not_ready = verdict.err();
    }

    /// Ready means quoting: started, the streams up, the first quotes resting, and not every
    /// symbol halted by refusals.
    pub fn readiness(&self) -> Result<(), String> {
        if self.shutting_down {
            return Err("shutting down".into());
        }
        if !self.started {
            return Err("starting".into());
        }
        let streams: &[&str] = if self.expects_orders { &["public", "private"] } else { &["public"] };
        for stream in streams {
            match self.connections.get(*stream).map(String::as_str) {
                Some("connected") => {}
                state => return Err(format!("stream {stream} is {}", state.unwrap_or("not connected yet"))),
            }
        }
        if self.expects_orders && !self.symbols.is_empty() && self.symbols.iter().all(|s| self.halted.contains_key(s)) {
            let why: Vec<String> = self.halted.iter().map(|(s, r)| format!("{s} {r}")).collect();
            return Err(format!("quoting halted by the exchange's refusals: {}", why.join("; ")));
        }
        // A warm standby is what a rolling update waits for before stopping the active: ready
        // with its streams up and etcd answering (it could take over), before it has quoted.
        if let Some(h) = self.ha.as_ref().filter(|h| h.is_standby()) {
            return match h.etcd.as_str() {
                "ok" => Ok(()),
                e => Err(format!("standby, but etcd does not answer: {e}")),
            };
        }
        if let Some(h) = self.ha.as_ref().filter(|h| h.role != "active") {
            return Err(format!("high availability: {}", h.role));
        }
        if self.expects_orders && !self.quoted {
            return Err("no quote rests yet".into());
        }
        Ok(())
    }

    fn apply_patch(&mut self, patch: StatusPatch) {
        match patch {
            StatusPatch::Started => self.started = true,
            StatusPatch::Halted(h) => self.halted = h,
            StatusPatch::AccountCheck(c) => match self.account.iter_mut().find(|r| r.check == c.check) {
                Some(r) => *r = c,
                None => self.account.push(c),
            },
            StatusPatch::Connection { stream, state } => {
                self.connections.insert(stream, state);
            }
            StatusPatch::Orders(o) => {
                self.quoted |= o.iter().any(|o| o.phase == crate::orders::order_table::Phase::Live);
                self.open_orders = o;
            }
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
            StatusPatch::Fills(f) => {
                self.fills.extend(f);
                while self.fills.len() > FILLS_KEPT {
                    self.fills.pop_front();
                }
            }
            StatusPatch::Resources(r) => self.resources = Some(r),
            StatusPatch::Ha(h) => self.ha = Some(h),
            StatusPatch::Budget(b) => self.budget = b,
            StatusPatch::ExitPositions(p) => {
                if let Some(s) = self.shutdown.as_mut() {
                    s.positions = Some(p);
                }
            }
            StatusPatch::Shutdown(p) => {
                let mut p = *p;
                self.shutting_down = true;
                // The positions step reports early; a progress patch does not erase it.
                if p.positions.is_none() {
                    p.positions = self.shutdown.as_mut().and_then(|s| s.positions.take());
                }
                self.shutdown = Some(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warm_standby_is_ready_without_quotes_and_a_lost_active_is_not() {
        let mut v = started();
        v.apply(StatusPatch::Connection {
            stream: "public".into(),
            state: "connected".into(),
        });
        v.apply(StatusPatch::Connection {
            stream: "private".into(),
            state: "connected".into(),
        });
        let role = |r: &str| {
            StatusPatch::Ha(crate::messages::ha::HaView {
                role: r.into(),
                etcd: "ok".into(),
                ..Default::default()
            })
        };
        v.apply(role("standby"));
        assert!(v.ready, "{:?}", v.not_ready);
        v.apply(StatusPatch::Ha(crate::messages::ha::HaView {
            role: "standby".into(),
            etcd: "not asked yet".into(),
            ..Default::default()
        }));
        assert_eq!(v.not_ready.as_deref(), Some("standby, but etcd does not answer: not asked yet"));
        v.apply(role("active"));
        assert_eq!(v.not_ready.as_deref(), Some("no quote rests yet"));
        v.apply(role("lost"));
        assert_eq!(v.not_ready.as_deref(), Some("high availability: lost"));
    }

    fn started() -> StatusView {
        let mut v = StatusView {
            symbols: vec!["BTCUSDT".into()],
            expects_orders: true,
            ..Default::default()
        };
        v.apply(StatusPatch::Started);
        v
    }

    fn connect(v: &mut StatusView, stream: &str, state: &str) {
        v.apply(StatusPatch::Connection {
            stream: stream.into(),
            state: state.into(),
        });
    }

    #[test]
    fn ready_only_once_streams_are_up_and_quotes_rest() {
        let mut v = StatusView {
            expects_orders: true,
            ..Default::default()
        };
        v.apply(StatusPatch::Pnl(Default::default()));
        assert_eq!(v.not_ready.as_deref(), Some("starting"));
        let mut v = started();
        assert_eq!(v.not_ready.as_deref(), Some("stream public is not connected yet"));
        connect(&mut v, "public", "connected");
        connect(&mut v, "private", "connecting");
        assert_eq!(v.not_ready.as_deref(), Some("stream private is connecting"));
        connect(&mut v, "private", "connected");
        assert_eq!(v.not_ready.as_deref(), Some("no quote rests yet"));
        let order = crate::orders::order_table::TrackedOrder {
            link_id: "l".into(),
            order_id: None,
            symbol: "BTCUSDT".into(),
            side: bybit_v5::Side::Buy,
            level: 0,
            price: Decimal::ONE,
            qty: Decimal::ONE,
            filled: Decimal::ZERO,
            phase: crate::orders::order_table::Phase::Creating,
            amend_from: None,
        };
        v.apply(StatusPatch::Orders(vec![order.clone()]));
        assert!(!v.ready, "sent is not resting");
        let live = crate::orders::order_table::TrackedOrder {
            phase: crate::orders::order_table::Phase::Live,
            ..order
        };
        v.apply(StatusPatch::Orders(vec![live]));
        assert!(v.ready && v.not_ready.is_none());
        v.apply(StatusPatch::Orders(Vec::new()));
        assert!(v.ready, "both quotes filled is still a quoting bot");
        v.apply(StatusPatch::Halted(BTreeMap::from([(
            "BTCUSDT".to_string(),
            "110007 Insufficient balance".to_string(),
        )])));
        assert_eq!(
            v.not_ready.as_deref(),
            Some("quoting halted by the exchange's refusals: BTCUSDT 110007 Insufficient balance")
        );
        v.apply(StatusPatch::Halted(BTreeMap::new()));
        assert!(v.ready);
        connect(&mut v, "public", "disconnected");
        assert_eq!(v.not_ready.as_deref(), Some("stream public is disconnected"));
    }

    #[test]
    fn dry_run_is_ready_on_the_public_stream_alone() {
        let mut v = started();
        v.expects_orders = false;
        connect(&mut v, "public", "connected");
        assert!(v.ready);
    }
}
