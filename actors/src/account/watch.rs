//! AccountWatch: the private stream's executions and positions pass through here, so that each
//! execution reaches the Strategy (PnL) and the OrderManager (the audit trail) exactly once, and
//! the positions they see are the exchange's. After every gap in the private stream it re-reads
//! the positions and back-fills the executions since the newest one seen; on a schedule
//! (`reconcile_interval_ms`) it reads the positions and corrects any drift, counted
//! (`mmbot_position_drift_total{symbol}`) and said once per drift with both figures.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rust_decimal::Decimal;

use bybit_v5::rest::{Execution, Position};

use crate::account::fill_ledger::FillLedger;
use crate::account::pnl_scope;
use crate::account::reads;
use crate::exchange::rest_client::RestError;
use crate::exchange::rest_connector::Rest;
use crate::market::net_position::net_positions;
use crate::messages::ha::AccountFrom;
use crate::messages::market::{Fills, PositionUpdate};
use crate::messages::private_stream::{Executions, Positions, ReconcileNow};
use crate::messages::status::StatusPatch;
use crate::orders::link_id::LinkIds;
use crate::telemetry::metrics::{labels, Metrics};

/// Where the account's truth goes.
#[derive(Clone)]
pub struct AccountOutlets {
    pub strategy_fills: Recipient<Fills>,
    pub strategy_position: Recipient<PositionUpdate>,
    pub orders_executions: Recipient<Executions>,
    pub orders_positions: Recipient<Positions>,
    pub status: Recipient<StatusPatch>,
    pub metrics: Arc<Metrics>,
}

/// Why a check runs: after a gap a difference is expected (INFO); on the schedule it is drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    Gap,
    Schedule,
}

pub struct AccountWatch {
    rest: Rest,
    symbols: Vec<String>,
    /// None: no scheduled check (dry run: no account to ask).
    every: Option<Duration>,
    out: AccountOutlets,
    ledger: FillLedger,
    /// The position the bot holds per symbol, as last told (stream or REST).
    believed: BTreeMap<String, Decimal>,
    /// Stream position pushes per symbol: a REST answer older than a push does not overwrite it.
    pushes: BTreeMap<String, u64>,
    /// A check is on its way; a gap meanwhile asks for another after it.
    checking: bool,
    gap_pending: bool,
    /// Symbols whose drift was said (once per drift).
    drifting: HashSet<String>,
    /// False for a standby: the executions are another run's, and nothing is read on its behalf.
    active: bool,
    /// This run's order-link ids: only their fills (and funding) reach the PnL.
    run: LinkIds,
}

impl AccountWatch {
    /// `believed`: the positions read before the first quote; `since_ms`: the run's start, where
    /// this run's executions begin; `run`: this run's link ids (its PnL is its own orders' fills).
    pub fn new(
        rest: Rest,
        symbols: Vec<String>,
        every: Option<Duration>,
        believed: BTreeMap<String, Decimal>,
        since_ms: u64,
        run: LinkIds,
        out: AccountOutlets,
    ) -> Self {
        Self {
            rest,
            symbols,
            every,
            out,
            ledger: FillLedger::from_ms(since_ms),
            believed,
            pushes: BTreeMap::new(),
            checking: false,
            gap_pending: false,
            drifting: HashSet::new(),
            active: true,
            run,
        }
    }

    /// A standby's: positions pass through (the inventory stays warm), executions do not (the
    /// PnL of another run), and no check reads the account until [`AccountFrom`].
    pub fn standby(mut self) -> Self {
        self.active = false;
        self
    }

    fn forward_executions(&mut self, list: Vec<Execution>) -> usize {
        if !self.active {
            return 0;
        }
        let fresh = self.ledger.admit(list);
        let own: Vec<Execution> = fresh.iter().filter(|e| pnl_scope::counts(e, &self.run)).cloned().collect();
        if !own.is_empty() {
            self.out.strategy_fills.do_send(Fills(own));
        }
        if !fresh.is_empty() {
            self.out.orders_executions.do_send(Executions(fresh.clone()));
        }
        fresh.len()
    }

    fn set_position(&mut self, symbol: &str, size: Decimal) {
        self.believed.insert(symbol.to_string(), size);
        self.out.strategy_position.do_send(PositionUpdate {
            symbol: symbol.to_string(),
            size,
        });
        self.out.status.do_send(StatusPatch::Position {
            symbol: symbol.to_string(),
            size,
        });
    }

    fn check(&mut self, why: Why, ctx: &mut Context<Self>) {
        // Once the shutdown has stopped the OrderManager or the Strategy, nobody needs the
        // account's picture any more: no read without a reason.
        if !self.active || !self.out.orders_positions.connected() || !self.out.strategy_position.connected() {
            return;
        }
        if self.checking {
            self.gap_pending |= why == Why::Gap;
            return;
        }
        self.checking = true;
        let (rest, symbols) = (self.rest.clone(), self.symbols.clone());
        let pushes_before = self.pushes.clone();
        let since = self.ledger.newest_ms().saturating_sub(1_000);
        ctx.spawn(
            async move {
                let rows = reads::positions(&rest, &symbols).await;
                // After a gap the executions it hid are read at once; on the schedule only when the
                // positions say something was missed (below).
                let execs = match why {
                    Why::Gap => Some(reads::executions_since(&rest, since).await),
                    Why::Schedule => None,
                };
                (rows, execs)
            }
            .into_actor(self)
            .map(move |(rows, execs), act, ctx| {
                act.checking = false;
                let drifted = act.apply_positions(why, rows, &pushes_before);
                match execs {
                    Some(execs) => act.apply_backfill(execs),
                    None if drifted => act.backfill(ctx),
                    None => {}
                }
                if std::mem::take(&mut act.gap_pending) {
                    act.check(Why::Gap, ctx);
                }
            }),
        );
    }

    /// Whether any symbol's position differed from the exchange's.
    fn apply_positions(&mut self, why: Why, rows: Result<Vec<Position>, RestError>, pushes_before: &BTreeMap<String, u64>) -> bool {
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                log::warn!("account check: reading positions failed: {e}; the positions stay as last read");
                return false;
            }
        };
        let net = net_positions(&rows);
        let mut drifted = false;
        for symbol in self.symbols.clone() {
            if self.pushes.get(&symbol) != pushes_before.get(&symbol) {
                continue; // a push arrived while the read was out: it is newer than the read
            }
            let exchange = net.get(&symbol).map_or(Decimal::ZERO, |p| p.size);
            let bot = self.believed.get(&symbol).copied().unwrap_or_default();
            if exchange == bot {
                self.drifting.remove(&symbol);
                continue;
            }
            drifted = true;
            match why {
                Why::Gap => log::info!(symbol = symbol.as_str(); "{symbol}: position after the gap is {exchange} (the bot had {bot})"),
                Why::Schedule => {
                    self.out.metrics.position_drift.get_or_create(&labels(&[("symbol", &symbol)])).inc();
                    if self.drifting.insert(symbol.clone()) {
                        log::warn!(symbol = symbol.as_str(); "{symbol}: position drift: the bot had {bot}, the exchange has {exchange}; corrected from the exchange");
                    }
                }
            }
            self.set_position(&symbol, exchange);
            self.out.orders_positions.do_send(Positions(vec![(symbol.clone(), exchange)]));
        }
        drifted
    }

    fn backfill(&mut self, ctx: &mut Context<Self>) {
        let rest = self.rest.clone();
        let since = self.ledger.newest_ms().saturating_sub(1_000);
        ctx.spawn(
            async move { reads::executions_since(&rest, since).await }
                .into_actor(self)
                .map(|execs, act, _| act.apply_backfill(execs)),
        );
    }

    fn apply_backfill(&mut self, execs: Result<Vec<Execution>, RestError>) {
        match execs {
            Ok(list) => {
                let n = self.forward_executions(list);
                if n > 0 {
                    log::info!("account check: {n} execution(s) the stream had not delivered, applied once");
                }
            }
            Err(e) => log::warn!("account check: reading executions failed: {e}"),
        }
    }
}

impl Actor for AccountWatch {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(every) = self.every {
            ctx.run_interval(every.max(Duration::from_millis(100)), |act, ctx| act.check(Why::Schedule, ctx));
        }
    }
}

crate::answers_ping!(AccountWatch);

impl Handler<Executions> for AccountWatch {
    type Result = ();

    fn handle(&mut self, msg: Executions, _: &mut Self::Context) {
        self.forward_executions(msg.0);
    }
}

impl Handler<Positions> for AccountWatch {
    type Result = ();

    fn handle(&mut self, msg: Positions, _: &mut Self::Context) {
        for (symbol, size) in &msg.0 {
            *self.pushes.entry(symbol.clone()).or_default() += 1;
            self.set_position(symbol, *size);
        }
        self.out.orders_positions.do_send(msg);
    }
}

impl Handler<AccountFrom> for AccountWatch {
    type Result = ();

    /// Active from now: this run's executions start at `since_ms`, from the positions as read.
    fn handle(&mut self, msg: AccountFrom, _: &mut Self::Context) {
        self.active = true;
        self.ledger = FillLedger::from_ms(msg.since_ms);
        for (symbol, size) in msg.positions {
            self.set_position(&symbol, size);
        }
    }
}

impl Handler<ReconcileNow> for AccountWatch {
    type Result = ();

    fn handle(&mut self, _: ReconcileNow, ctx: &mut Self::Context) {
        self.check(Why::Gap, ctx);
    }
}
