//! Flattening: make the exchange list none of the targeted orders, by whatever path to it works.
//! One loop per symbol, driven by events (an attempt's answer, a read of the open orders, a
//! timer): attempts go by the escalation in `cancel_path`, reads of `/v5/order/realtime` are the
//! only proof of flat, and when no cancel path works (or time runs short) the private
//! connections are closed so that the exchange's dead-man switch fires. Used at shutdown and for
//! startup's leftovers.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::join_all;
use futures_util::FutureExt;
use tokio::sync::mpsc;

use bybit_v5::rest::{path, MAX_BATCH_ITEMS};

use crate::budget::rate_governor::{Governor, Priority, Transport};
use crate::budget::round_trips::SilenceBounds;
use crate::exchange::rest_connector::{OrderEntry, Rest, Route};
use crate::messages::private_stream::ClosePrivateStream;
use crate::orders::cancel_path::{AttemptEnd, CancelPath, Escalation, SymbolFlatten};

mod cancel_requests;
mod listing;
mod symbol_loop;

use cancel_requests::*;
use listing::*;
pub use listing::{list_open_orders, open_orders_in};
use symbol_loop::flatten_symbol;

/// The settle coin of every symbol the bot trades (USDT linear perpetuals): the scope of the
/// account-wide cancel-all and listing.
const SETTLE_COIN: &str = "USDT";

/// How long orders whose cancel the exchange accepted may stay listed before they are cancelled
/// again (Bybit's cancel-all is asynchronous).
pub const CANCEL_SETTLE: Duration = Duration::from_secs(1);

/// The dead-man switch is started at the latest this long before its window would end past
/// the deadline, so that its effect can still be seen by a read.
pub const DEAD_MAN_MARGIN: Duration = Duration::from_secs(3);

/// Single cancels of one symbol on their way at once.
const SINGLES_AT_ONCE: usize = 2;

/// Re-read while accepted cancels settle (asynchronous cancel-all: a few milliseconds) — at
/// least this far apart, and never faster than the read budget allows (`Shared::settle_poll`).
const SETTLE_POLL: Duration = Duration::from_millis(5);
/// Re-read while waiting on something slower: a hanging path, the dead-man switch, a create in doubt.
const WATCH_POLL: Duration = Duration::from_millis(200);

/// The largest cancel-batch the budget can ever take at once (at most Bybit's 20 items).
pub fn cancel_batch_size(governor: &Governor) -> usize {
    (governor.max_units(path::ORDER_CANCEL_BATCH) as usize).clamp(1, MAX_BATCH_ITEMS)
}

/// The exchange-side dead-man switch, when it is armed.
#[derive(Clone)]
pub struct DeadMan {
    pub window: Duration,
    pub close: Recipient<ClosePrivateStream>,
}

/// The ways to the exchange.
#[derive(Clone)]
pub struct Transports {
    pub rest: Rest,
    pub governor: Governor,
    /// Whether a trade WebSocket is configured (the connector holds it).
    pub trade_socket: bool,
    /// The transport order requests take; the other one is the fallback for cancels.
    pub order_entry: OrderEntry,
    pub dead_man: Option<DeadMan>,
}

/// What to flatten, how, and until when.
pub struct FlattenJob {
    pub symbols: Vec<String>,
    pub paths: Vec<CancelPath>,
    /// Which order-link ids are to go (the bot's own, or an earlier run's).
    pub target: Rc<dyn Fn(&str) -> bool>,
    /// Orders believed open per symbol: the targets until the first read, and what may remain
    /// when reads fail.
    pub known: HashMap<String, Vec<String>>,
    pub deadline: Instant,
    /// When a silent cancel path is passed over for the next (its cap is `escalate_after_ms`).
    pub silence: SilenceBounds,
    /// Reads prove flat only once this holds (requests in flight have settled).
    pub settled: Rc<dyn Fn() -> bool>,
    /// Until when a create whose outcome is unknown could still land.
    pub doubt_until: Rc<dyn Fn() -> Option<Instant>>,
    /// Kept up to date for whoever must say what may be live (a forced exit).
    pub believed_open: Rc<RefCell<BTreeMap<String, Vec<String>>>>,
    /// Cancel-all and the reads that prove flat go once for every symbol (`settleCoin`), not
    /// once per symbol: `cancel_scope = "account"`, for an account the bot has to itself.
    pub account_wide: bool,
}

#[derive(Debug, Clone, Default)]
pub struct FlattenOutcome {
    pub symbols: Vec<SymbolFlatten>,
    /// When the private connections were closed for the dead-man switch, from the start.
    pub dead_man_after_ms: Option<u64>,
}

impl FlattenOutcome {
    pub fn flat(&self) -> bool {
        self.symbols.iter().all(|s| s.flat)
    }
}

/// A request (or a few, paginated) whose answer several symbols wait for.
type Pending<T> = futures_util::future::Shared<futures_util::future::LocalBoxFuture<'static, T>>;

/// The account-wide cancel-all: how it ended, and the order-link ids it took (Bybit's answer
/// names no symbol: each symbol keeps the ids it knows).
#[derive(Clone)]
struct AccountCancel {
    end: AttemptEnd,
    taken: Rc<Vec<String>>,
    /// Requests it sent (more than one when an answer listed Bybit's cap of 500).
    requests: u32,
}

/// The account-wide listing: the targeted order-link ids per symbol, None when it failed.
type AccountListing = Option<Rc<HashMap<String, Vec<String>>>>;

/// State the symbols share: one dead-man switch; with `account_wide`, one cancel-all and one
/// listing at a time for all of them.
struct Shared {
    transports: Transports,
    account_cancel: RefCell<Option<Pending<AccountCancel>>>,
    /// The listing on its way; it started once requests in flight had settled.
    account_read: RefCell<Option<(Instant, Pending<AccountListing>)>>,
    dead_man_at: Cell<Option<Instant>>,
    started: Instant,
    /// The reads that prove flat go as one account-wide listing for every symbol: one request
    /// (a page per 50 orders) instead of one per symbol. Off when a listing took more pages than
    /// there are symbols (other symbols' orders on a shared account): per symbol is cheaper then.
    reads_shared: Rc<Cell<bool>>,
    /// When the last account-wide listing left: the next waits a read-budget slot after it
    /// once the read window is nearly spent.
    last_account_read: Cell<Option<Instant>>,
    symbols: usize,
}

impl Shared {
    /// How far apart a round of `reads` must start so that it never queues behind the last:
    /// nothing while the read window has room for it and a reserve, one read slot of the
    /// budget per read once it is that spent (reads further apart than a slot never queue).
    fn read_spacing(&self, reads: u32) -> Duration {
        let governor = &self.transports.governor;
        let per_sec = governor.max_units(path::ORDER_REALTIME).max(1);
        let reserve = (per_sec / 10).max(1);
        if governor.available(path::ORDER_REALTIME, Priority::Read) >= reads + reserve {
            return Duration::ZERO;
        }
        Duration::from_secs(1) / per_sec * reads
    }

    /// How soon to re-read while accepted cancels settle: every SETTLE_POLL while the read budget
    /// has room for the reads that poll (one shared listing, or one per symbol), as often as it
    /// allows once it has not.
    fn settle_poll(&self) -> Duration {
        let readers = if self.reads_shared.get() { 1 } else { self.symbols.max(1) as u32 };
        SETTLE_POLL.max(self.read_spacing(readers))
    }

    fn account_cancel_on_its_way(&self) -> bool {
        self.account_cancel.borrow().as_ref().is_some_and(|p| p.peek().is_none())
    }

    /// The account-wide cancel-all on its way, or a new one.
    fn account_cancel(&self) -> Pending<AccountCancel> {
        let mut slot = self.account_cancel.borrow_mut();
        if let Some(p) = slot.as_ref().filter(|p| p.peek().is_none()) {
            return p.clone();
        }
        let (rest, governor) = (self.transports.rest.clone(), self.transports.governor.clone());
        let p = cancel_all_account(rest, governor).boxed_local().shared();
        *slot = Some(p.clone());
        p
    }

    /// The account-wide listing on its way, or a new one (only called once requests in flight
    /// have settled, so any listing on its way started after that too).
    fn account_read(&self, target: Rc<dyn Fn(&str) -> bool>) -> (Instant, Pending<AccountListing>) {
        let mut slot = self.account_read.borrow_mut();
        if let Some((at, p)) = slot.as_ref().filter(|(_, p)| p.peek().is_none()) {
            return (*at, p.clone());
        }
        let rest = self.transports.rest.clone();
        // Paced to the read budget, so that a listing never waits behind the previous one.
        let now = Instant::now();
        let at = self
            .last_account_read
            .get()
            .map_or(now, |last| now.max(last + self.read_spacing(1)));
        self.last_account_read.set(Some(at));
        let (shared_reads, symbols) = (self.reads_shared.clone(), self.symbols as u32);
        let p = async move {
            tokio::time::sleep_until(at.into()).await;
            match list_account_orders(&rest).await {
                Ok((list, pages)) => {
                    if pages > symbols.max(1) && shared_reads.replace(false) {
                        log::info!("the account-wide listing took {pages} pages for {symbols} symbols: reading per symbol from here");
                    }
                    let mut by_symbol: HashMap<String, Vec<String>> = HashMap::new();
                    for o in list.into_iter().filter(|o| target(&o.order_link_id)) {
                        by_symbol.entry(o.symbol).or_default().push(o.order_link_id);
                    }
                    Some(Rc::new(by_symbol))
                }
                Err(e) => {
                    log::warn!("listing the account's open orders failed: {e}");
                    None
                }
            }
        }
        .boxed_local()
        .shared();
        *slot = Some((at, p.clone()));
        (at, p)
    }

    fn trigger_dead_man(&self, why: &str) -> bool {
        let Some(dm) = &self.transports.dead_man else {
            return false;
        };
        if self.dead_man_at.get().is_none() {
            log::error!(
                "{why}: closing the private connections so that the exchange's dead-man switch cancels every order within {} s",
                dm.window.as_secs()
            );
            dm.close.do_send(ClosePrivateStream);
            self.dead_man_at.set(Some(Instant::now()));
        }
        true
    }
}

/// Flatten every symbol of the job, side by side.
pub async fn flatten(job: FlattenJob, transports: Transports) -> FlattenOutcome {
    let shared = Rc::new(Shared {
        transports,
        account_cancel: RefCell::new(None),
        account_read: RefCell::new(None),
        dead_man_at: Cell::new(None),
        started: Instant::now(),
        reads_shared: Rc::new(Cell::new(job.account_wide || job.symbols.len() > 1)),
        last_account_read: Cell::new(None),
        symbols: job.symbols.len(),
    });
    let job = Rc::new(job);
    let symbols = join_all(job.symbols.iter().map(|s| flatten_symbol(s.clone(), job.clone(), shared.clone()))).await;
    FlattenOutcome {
        symbols,
        dead_man_after_ms: shared
            .dead_man_at
            .get()
            .map(|t| t.saturating_duration_since(shared.started).as_millis() as u64),
    }
}

enum Ev {
    /// A request counted at the attempt's start never went out (no room after all).
    Unsent { path: CancelPath },
    /// Cancels the exchange took (or whose orders it says are gone), as each request answers.
    Taken { path: CancelPath, ids: Vec<String> },
    /// An attempt sent more requests than counted at its start (the account-wide cancel-all
    /// repeated past Bybit's cap of 500 orders per call).
    MoreRequests { path: CancelPath, n: u32 },
    /// The same for an account-wide cancel-all: the ids of every symbol, this one keeps its own.
    TakenAmong { path: CancelPath, ids: Rc<Vec<String>> },
    /// An attempt is over.
    Ended { path: CancelPath, end: AttemptEnd },
    /// The targets listed (None when the read failed), by a read sent at `sent`.
    Read { list: Option<Vec<String>>, sent: Instant },
}

/// How an attempt tells its symbol's loop what the exchange took, request by request.
#[derive(Clone)]
struct Reporter {
    path: CancelPath,
    tx: mpsc::UnboundedSender<Ev>,
}

impl Reporter {
    fn unsent(&self) {
        let _ = self.tx.send(Ev::Unsent { path: self.path });
    }

    fn taken(&self, ids: Vec<String>) {
        if !ids.is_empty() {
            let _ = self.tx.send(Ev::Taken { path: self.path, ids });
        }
    }
}

/// The next path whose budget has room now, and for how many orders. A path without room rests
/// until it has (our own budget is not the path failing): its requests would only queue here
/// while another path could act — and then go out after that path had done the work.
fn next_with_room(esc: &mut Escalation, governor: &Governor, targets: usize, now: Instant) -> Option<(CancelPath, usize)> {
    for _ in 0..esc.paths().len() {
        let p = esc.next(now)?;
        if p != CancelPath::CancelAll && targets == 0 {
            // Only cancel-all works without knowing the orders.
            return None;
        }
        let endpoint = endpoint_of(p);
        let room = governor.available(endpoint, Priority::Cancel) as usize;
        if room > 0 {
            let orders = if p == CancelPath::CancelAll { targets } else { targets.min(room) };
            return Some((p, orders));
        }
        esc.no_room(p, governor.with(|g| g.room_at(endpoint, 1, Priority::Cancel, now)));
    }
    None
}

/// The budget (and round trips) a path's requests go by.
fn endpoint_of(p: CancelPath) -> &'static str {
    match p {
        CancelPath::CancelAll | CancelPath::DeadManSwitch => path::ORDER_CANCEL_ALL,
        CancelPath::CancelSingle => path::ORDER_CANCEL,
        CancelPath::CancelBatch | CancelPath::WsTrade => path::ORDER_CANCEL_BATCH,
    }
}

/// How long `p` may stay silent: a few of its transport's recent round trips to that endpoint
/// (the trade socket's for `WsTrade`), within the job's floor and cap.
fn silence_of(p: CancelPath, job: &FlattenJob, governor: &Governor) -> Duration {
    let transport = if p == CancelPath::WsTrade {
        Transport::WebSocket
    } else {
        Transport::Rest
    };
    job.silence.bound(governor.round_trip_p99(transport, endpoint_of(p)))
}

/// Requests an attempt sends (counted when it starts: a hanging one never answers).
fn requests_for(path: CancelPath, targets: usize, governor: &Governor) -> u32 {
    match path {
        CancelPath::CancelAll | CancelPath::DeadManSwitch => 1,
        CancelPath::CancelSingle => targets as u32,
        CancelPath::CancelBatch | CancelPath::WsTrade => targets.div_ceil(cancel_batch_size(governor)) as u32,
    }
}

fn spawn_read(shared: &Rc<Shared>, job: &Rc<FlattenJob>, symbol: &str, tx: mpsc::UnboundedSender<Ev>) {
    if job.account_wide || shared.reads_shared.get() {
        let (sent, listing) = shared.account_read(job.target.clone());
        let symbol = symbol.to_string();
        actix_rt::spawn(async move {
            let list = listing.await.map(|by| by.get(&symbol).cloned().unwrap_or_default());
            let _ = tx.send(Ev::Read { list, sent });
        });
        return;
    }
    let rest = shared.transports.rest.clone();
    let target = job.target.clone();
    let left = job.deadline.saturating_duration_since(Instant::now());
    let symbol = symbol.to_string();
    let sent = Instant::now();
    actix_rt::spawn(async move {
        let r = tokio::time::timeout(left, list_open_orders_with(&rest, &symbol, true)).await;
        let list = match r {
            Ok(Ok(list)) => Some(
                list.into_iter()
                    .filter(|o| target(&o.order_link_id))
                    .map(|o| o.order_link_id)
                    .collect(),
            ),
            Ok(Err(e)) => {
                log::warn!(symbol = AsRef::<str>::as_ref(&symbol); "{symbol}: listing open orders failed: {e}");
                None
            }
            Err(_) => None,
        };
        let _ = tx.send(Ev::Read { list, sent });
    });
}

fn spawn_attempt(symbol: &str, targets: Vec<String>, shared: &Rc<Shared>, job: &FlattenJob, r: Reporter) {
    let account = job.account_wide;
    let target = job.target.clone();
    // Started (or joined) now, so that the next symbol's loop sees it on its way.
    let account_cancel = (account && r.path == CancelPath::CancelAll).then(|| {
        let started_it = !shared.account_cancel_on_its_way();
        (shared.account_cancel(), started_it)
    });
    let shared = shared.clone();
    let symbol = symbol.to_string();
    actix_rt::spawn(async move {
        let path = r.path;
        let end = match path {
            CancelPath::CancelAll if account => {
                let (answer, started_it) = account_cancel.expect("started with the attempt");
                let answer = answer.await;
                if started_it && answer.requests > 1 {
                    let _ = r.tx.send(Ev::MoreRequests {
                        path,
                        n: answer.requests - 1,
                    });
                }
                if !answer.taken.is_empty() {
                    let _ = r.tx.send(Ev::TakenAmong {
                        path,
                        ids: answer.taken.clone(),
                    });
                }
                answer.end
            }
            CancelPath::CancelAll => cancel_all(&shared.transports, &symbol, &*target, &r).await,
            CancelPath::CancelBatch => cancel_batch(&shared.transports, Route::Rest, &symbol, &targets, &r).await,
            CancelPath::CancelSingle => cancel_singles(&shared.transports, &symbol, &targets, &r).await,
            CancelPath::WsTrade => cancel_batch(&shared.transports, Route::TradeSocket, &symbol, &targets, &r).await,
            CancelPath::DeadManSwitch => AttemptEnd::Failed,
        };
        log::info!(
            "{symbol}: {path} → {}",
            match end {
                AttemptEnd::Accepted => "answered",
                AttemptEnd::RateLimited { .. } => "rate-limited",
                AttemptEnd::Failed => "failed",
                AttemptEnd::NotSent { .. } => "not sent (no room)",
            }
        );
        let _ = r.tx.send(Ev::Ended { path, end });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_codes_of_taken_or_gone_orders_count_as_taken() {
        let links = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(taken(&links, &[0, 110001, 10001]), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn an_attempt_worked_if_any_request_was_answered() {
        let t = Instant::now();
        assert_eq!(fold_ends(&[AttemptEnd::Failed, AttemptEnd::Accepted]), AttemptEnd::Accepted);
        assert_eq!(
            fold_ends(&[AttemptEnd::Failed, AttemptEnd::RateLimited { until: t }]),
            AttemptEnd::RateLimited { until: t }
        );
        assert_eq!(fold_ends(&[AttemptEnd::Failed]), AttemptEnd::Failed);
    }
}
