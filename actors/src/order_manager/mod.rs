//! OrderManager: turns desired quotes into batch creates / amends / cancels, tracks every order
//! from REST answers and the private stream, and on Stop makes the account flat: close the gate,
//! drain requests in flight, cancel everything per symbol in parallel, then verify on the
//! exchange that none of the bot's orders remains, repeating within the step's budget.

mod answers;
mod planning;
mod reconciliation;
mod refusals;
pub mod settings;
mod shutdown;
mod stream_updates;

pub use settings::{CancelScope, LeftoverPolicy, OrderManagerSettings};
pub use shutdown::UseExitPaths;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use rust_decimal::Decimal;

use crate::budget::rate_governor::Governor;
use crate::exchange::rest_connector::{OrderEntry, Rest};
use crate::fault_injection::PanicSwitch;
use crate::ha::fence::Fence;
use crate::market::quoting::Quote;
use crate::messages::events::Event;
use crate::messages::ha::Activate;
use crate::messages::record::Record;
use crate::messages::status::StatusPatch;
use crate::orders::link_id::LinkIds;
use crate::orders::order_table::OrderTable;
use crate::orders::refusal_breaker::RefusalBreaker;
use crate::orders::refusal_log::RefusalLog;
use crate::shutdown::flatten::DeadMan;
use crate::telemetry::metrics::Metrics;

/// How often `/status` gets the order table.
const STATUS_EVERY: Duration = Duration::from_millis(100);

pub struct OrderManager {
    fault: PanicSwitch,
    settings: OrderManagerSettings,
    symbols: Vec<String>,
    dry_run: bool,
    ids: LinkIds,
    table: OrderTable,
    gate_open: bool,
    stream_ready: bool,
    status_dirty: bool,
    in_flight: Rc<Cell<usize>>,
    /// Longest time after sending that a create can still land: the exchange refuses requests
    /// older than the receive window, plus a margin for clock error.
    create_window: Duration,
    last_create_sent: Rc<Cell<Option<Instant>>>,
    /// Until when a create whose outcome we never learned could still land on the exchange.
    doubt_until: Rc<Cell<Option<Instant>>>,
    /// Each create whose outcome is unknown, until when it may still land.
    creates_in_doubt: crate::orders::creates_in_doubt::CreatesInDoubt,
    /// When the next plan is due because the budget held changes back.
    replan_at: Option<Instant>,
    /// Orders the exchange refused to amend: the next change replaces them instead.
    replace: HashSet<String>,
    /// When the book update behind each symbol's latest desired quotes arrived.
    ticks: HashMap<String, Option<Instant>>,
    desired: HashMap<String, Vec<Quote>>,
    positions: BTreeMap<String, Decimal>,
    rest: Rest,
    /// The account's request budget, shared with every sender.
    governor: Governor,
    recorder: Recipient<Record>,
    /// `/status`.
    web: Recipient<StatusPatch>,
    metrics: Arc<Metrics>,
    /// Whether a trade WebSocket is configured, and whether orders go by it.
    trade_socket: bool,
    order_entry: OrderEntry,
    /// The exchange's dead-man switch, when armed: the last resort.
    dead_man: Option<DeadMan>,
    /// The last plan held changes back for budget: the next plans cover every symbol.
    held_back: bool,
    /// While `act` sends: the events to record once the requests are on their way.
    held_records: Option<Vec<Event>>,
    /// What the exchange listed last during the shutdown, per symbol.
    believed_open: Rc<RefCell<BTreeMap<String, Vec<String>>>>,
    /// Symbols whose creates keep being refused for a reason that will not heal stop quoting.
    breaker: RefusalBreaker,
    refusal_log: RefusalLog,
    /// The code each halted symbol's `mmbot_quoting_halted` series carries.
    halted_codes: BTreeMap<String, i64>,
    /// "Every symbol halted" is said once per episode.
    all_halted_said: bool,
    /// Until when orders may go: always without a lease; with one, while it is held.
    fence: Fence,
    /// The shutdown cancels this run's orders only, not every run's with the prefix: under a
    /// lease another run may be the active one.
    this_run_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BatchKind {
    Create,
    Amend,
    Cancel,
}

/// What a batch answer says of one of its orders.
struct ItemAnswer {
    code: i64,
    msg: String,
    order_id: String,
}

fn extend_doubt(doubt: &Cell<Option<Instant>>, until: Instant) {
    doubt.set(Some(doubt.get().map_or(until, |d| d.max(until))));
}

impl OrderManager {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: OrderManagerSettings,
        symbols: Vec<String>,
        dry_run: bool,
        run_id: &str,
        create_window: Duration,
        rest: Rest,
        governor: Governor,
        recorder: Recipient<Record>,
        web: Recipient<StatusPatch>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let ids = LinkIds::new(&settings.link_prefix, run_id);
        Self {
            fault: PanicSwitch::for_actor("order_manager"),
            settings,
            symbols,
            dry_run,
            ids,
            table: OrderTable::default(),
            gate_open: true,
            stream_ready: false,
            status_dirty: false,
            in_flight: Rc::new(Cell::new(0)),
            create_window,
            last_create_sent: Rc::new(Cell::new(None)),
            doubt_until: Rc::new(Cell::new(None)),
            creates_in_doubt: Default::default(),
            replan_at: None,
            ticks: HashMap::new(),
            replace: HashSet::new(),
            desired: HashMap::new(),
            positions: BTreeMap::new(),
            rest,
            governor,
            recorder,
            web,
            metrics,
            trade_socket: false,
            order_entry: OrderEntry::Rest,
            dead_man: None,
            held_back: false,
            held_records: None,
            believed_open: Rc::default(),
            breaker: RefusalBreaker::default(),
            refusal_log: RefusalLog::default(),
            halted_codes: BTreeMap::new(),
            all_halted_said: false,
            fence: Fence::always_open(),
            this_run_only: false,
        }
    }

    /// A standby's: nothing is sent (no order, no cancel, no listing) until the fence opens,
    /// and then only while it stays open; the shutdown cancels this run's orders alone.
    pub fn under_lease(mut self, fence: Fence) -> Self {
        self.fence = fence;
        self.this_run_only = true;
        self
    }

    /// Note that the orders changed; `/status` gets a copy at most every STATUS_EVERY, so a burst
    /// of updates (a thousand cancels at shutdown) does not copy the table a thousand times.
    fn publish(&mut self) {
        self.metrics.orders_open.set(self.table.len() as i64);
        self.status_dirty = true;
    }

    fn flush_status(&mut self) {
        if std::mem::take(&mut self.status_dirty) {
            self.web.do_send(StatusPatch::Orders(self.table.all().cloned().collect()));
        }
        // The budget rolls on by itself: its view goes with every status tick.
        self.web.do_send(StatusPatch::Budget(self.governor.snapshot()));
    }

    fn record(&mut self, e: Event) {
        match &mut self.held_records {
            Some(held) => held.push(e),
            None => self.recorder.do_send(Record(e)),
        }
    }
}

impl Actor for OrderManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_millis(self.settings.reconcile_interval_ms.max(100)), |act, ctx| {
            act.reconcile(ctx)
        });
        ctx.run_interval(STATUS_EVERY, |act, _| act.flush_status());
        // A halted symbol's probe is due by the clock, whether or not its book moves.
        ctx.run_interval(Duration::from_secs(1), |act, ctx| {
            if act.breaker.next_probe().is_some_and(|t| t <= Instant::now()) {
                act.act(ctx);
            }
        });
    }
}

crate::answers_ping!(OrderManager);

impl Handler<Activate> for OrderManager {
    type Result = bool;

    /// The lease is won and the account read: plan now rather than at the next book update.
    fn handle(&mut self, _: Activate, ctx: &mut Self::Context) -> bool {
        if self.gate_open {
            self.act(ctx);
        }
        self.gate_open
    }
}
