//! Strategy: on each book change, the quotes the bot wants resting, handed to the OrderManager.
//! Per symbol it keeps the book top, a volatility estimate and the position; across symbols it
//! keeps PnL from the bot's executions and enforces the risk limits — sides beyond a position
//! limit are not quoted, a stale book pulls its quotes, and a drawdown beyond the limit trips the
//! kill switch, which stops the bot through the Supervisor like any other shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use rust_decimal::prelude::*;

use crate::fault_injection::PanicSwitch;
use crate::market::net_position::NetPosition;
use crate::market::pnl::Pnl;
use crate::market::quoting::Filters;
use crate::market::risk::{OnKill, RiskLimits};
use crate::messages::ha::Inherit;
use crate::messages::market::{BookUpdate, Fills, PositionUpdate};
use crate::messages::quotes::DesiredQuotes;
use crate::messages::shutdown::{RequestShutdown, ShutdownSource};
use crate::messages::status::{FillMark, StatusPatch};
use crate::messages::stop::{CloseAtExit, Stop, StopAck};
use crate::telemetry::metrics::{labels, Metrics};

use super::quoter::{Pace, Quoter};
use super::settings::StrategySettings;

/// What the actor keeps per symbol beside the Quoter's state: its timer and `/status`.
#[derive(Default)]
struct SymbolExtra {
    scheduled: bool,
    /// Changed since `/status` last heard: the book's top, or how many quotes are desired.
    status_due: bool,
    desired_count: usize,
}

/// How often `/status` hears of book tops and desired quotes (its readers sample at ≤ 4/s).
const STATUS_EVERY: Duration = Duration::from_millis(100);

pub struct Strategy {
    quoter: Quoter,
    extra: HashMap<String, SymbolExtra>,
    stopped: bool,
    order_manager: Recipient<DesiredQuotes>,
    web: Recipient<StatusPatch>,
    supervisor: Recipient<RequestShutdown>,
    /// The positions step, told to close when the kill switch asks for it.
    close_at_exit: Option<Recipient<CloseAtExit>>,
    metrics: Arc<Metrics>,
    fault: PanicSwitch,
}

impl Strategy {
    pub fn new(
        settings: StrategySettings,
        risk: RiskLimits,
        filters: HashMap<String, Filters>,
        order_manager: Recipient<DesiredQuotes>,
        web: Recipient<StatusPatch>,
        supervisor: Recipient<RequestShutdown>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let extra = filters.keys().map(|s| (s.clone(), SymbolExtra::default())).collect();
        Self {
            quoter: Quoter::new(settings, risk, filters),
            extra,
            stopped: false,
            order_manager,
            web,
            supervisor,
            close_at_exit: None,
            metrics,
            fault: PanicSwitch::for_actor("strategy"),
        }
    }

    /// The positions the exchange listed before the first quote: the inventory skew, the
    /// position limits and PnL start from them (held at their entry price), not from zero.
    pub fn with_inherited(mut self, positions: &std::collections::BTreeMap<String, NetPosition>) -> Self {
        self.quoter.inherit(positions);
        self
    }

    /// With `risk.on_kill = "cancel_and_close"`: where the kill switch asks for the close.
    pub fn with_close_at_exit(mut self, r: Recipient<CloseAtExit>) -> Self {
        self.close_at_exit = Some(r);
        self
    }

    /// PnL as it stands (the inherited positions, before any fill).
    pub fn pnl(&self) -> &Pnl {
        &self.quoter.pnl
    }

    /// Send the symbol's desired quotes. `tick` is when the book update that triggered this was
    /// received, when the emission follows it directly (not a throttled or timed requote).
    fn emit_for(&mut self, symbol: &str, tick: Option<Instant>) {
        if self.stopped {
            return;
        }
        let quotes = self.quoter.quotes(symbol, Instant::now());
        if let Some(t) = tick.filter(|_| !quotes.is_empty()) {
            self.metrics.tick_to_quote.observe(t.elapsed().as_secs_f64());
        }
        if let Some(x) = self.extra.get_mut(symbol) {
            x.desired_count = quotes.len();
            x.status_due = true;
        }
        self.order_manager.do_send(DesiredQuotes {
            symbol: symbol.to_string(),
            quotes,
            tick,
        });
    }

    fn emit(&mut self, symbol: &str) {
        self.emit_for(symbol, None);
    }

    fn requote(&mut self, symbol: &str, ctx: &mut Context<Self>) {
        self.requote_after(symbol, None, ctx);
    }

    fn requote_after(&mut self, symbol: &str, tick: Option<Instant>, ctx: &mut Context<Self>) {
        match self.quoter.pace(symbol, Instant::now()) {
            Pace::After(wait) => {
                let Some(x) = self.extra.get_mut(symbol) else { return };
                if !x.scheduled {
                    x.scheduled = true;
                    let symbol = symbol.to_string();
                    ctx.run_later(wait, move |act, ctx| {
                        if let Some(x) = act.extra.get_mut(&symbol) {
                            x.scheduled = false;
                        }
                        act.requote(&symbol, ctx);
                    });
                }
            }
            Pace::Now => self.emit_for(symbol, tick),
        }
    }

    /// `/status` hears of tops and desired quotes on a timer, not on the hot path: a message to
    /// the web server's thread wakes that thread (a syscall) between a book update and its quotes.
    fn publish_status(&mut self) {
        for (symbol, x) in self.extra.iter_mut().filter(|(_, x)| x.status_due) {
            x.status_due = false;
            if let Some((top, _)) = self.quoter.symbols.get(symbol).and_then(|s| s.top) {
                self.web.do_send(StatusPatch::BookTop {
                    symbol: symbol.clone(),
                    bid: top.bid,
                    ask: top.ask,
                });
            }
            self.web.do_send(StatusPatch::DesiredQuotes {
                symbol: symbol.clone(),
                count: x.desired_count,
            });
        }
    }

    fn publish_pnl(&self) {
        for (symbol, p) in &self.quoter.pnl.symbols {
            self.metrics
                .pnl
                .get_or_create(&labels(&[("symbol", symbol)]))
                .set(p.total().to_f64().unwrap_or(0.0));
        }
        self.metrics.drawdown.set(self.quoter.pnl.drawdown().to_f64().unwrap_or(0.0));
        self.web.do_send(StatusPatch::Pnl(self.quoter.pnl.clone()));
    }

    fn check_kill_switch(&mut self) {
        if self.stopped {
            return;
        }
        if let Some(reason) = self.quoter.kill_reason() {
            // The supervisor logs it, once, as the shutdown's reason, and records the trip.
            self.stopped = true;
            if let (OnKill::CancelAndClose, Some(r)) = (self.quoter.risk.on_kill, &self.close_at_exit) {
                r.do_send(CloseAtExit { reason: reason.clone() });
            }
            self.supervisor.do_send(RequestShutdown {
                source: ShutdownSource::KillSwitch(reason),
            });
        }
    }

    /// Pull the quotes of books that stopped updating.
    fn check_stale(&mut self) {
        for symbol in self.quoter.newly_stale(Instant::now()) {
            log::warn!(symbol = AsRef::<str>::as_ref(&symbol); "{symbol}: no book update for {} ms: pulling its quotes", self.quoter.risk.stale_book_ms);
            self.emit(&symbol);
        }
    }
}

impl Actor for Strategy {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let every = Duration::from_millis((self.quoter.risk.stale_book_ms / 4).clamp(10, 1000));
        ctx.run_interval(every, |act, _| act.check_stale());
        ctx.run_interval(STATUS_EVERY, |act, _| act.publish_status());
    }
}

crate::answers_ping!(Strategy);

impl Handler<BookUpdate> for Strategy {
    type Result = ();

    fn handle(&mut self, msg: BookUpdate, ctx: &mut Self::Context) {
        self.fault.check("strategy", "a book update");
        if !self.quoter.symbols.contains_key(&msg.symbol) {
            return;
        }
        let had_top_lost = self.quoter.book(&msg.symbol, msg.top, msg.received_at);
        match msg.top {
            Some(_) => {
                if let Some(x) = self.extra.get_mut(&msg.symbol) {
                    x.status_due = true;
                }
                self.check_kill_switch();
                self.requote_after(&msg.symbol, Some(msg.received_at), ctx);
            }
            // No book, no quotes: pull them at once rather than quote blind.
            None if had_top_lost => self.emit(&msg.symbol),
            None => {}
        }
    }
}

impl Handler<PositionUpdate> for Strategy {
    type Result = ();

    fn handle(&mut self, msg: PositionUpdate, ctx: &mut Self::Context) {
        if self.quoter.set_position(&msg.symbol, msg.size) {
            self.requote(&msg.symbol, ctx);
        }
    }
}

impl Handler<Inherit> for Strategy {
    type Result = ();

    /// A standby became active: its PnL starts here, from the positions it takes over (a
    /// standby's own PnL stays empty: the fills before were the previous active's).
    fn handle(&mut self, msg: Inherit, ctx: &mut Self::Context) {
        self.quoter.inherit(&msg.0);
        self.web.do_send(StatusPatch::Pnl(self.quoter.pnl.clone()));
        let quoted: Vec<String> = self
            .quoter
            .symbols
            .iter()
            .filter(|(_, s)| s.top.is_some())
            .map(|(k, _)| k.clone())
            .collect();
        for symbol in quoted {
            self.requote(&symbol, ctx);
        }
    }
}

impl Handler<Fills> for Strategy {
    type Result = ();

    fn handle(&mut self, msg: Fills, _: &mut Self::Context) {
        let marks: Vec<FillMark> = msg
            .0
            .iter()
            .filter(|e| e.exec_type == "Trade")
            .map(|e| FillMark {
                symbol: e.symbol.clone(),
                side: e.side,
                price: e.exec_price,
                qty: e.exec_qty,
                t: e.exec_time.parse().unwrap_or(0),
            })
            .collect();
        if !marks.is_empty() {
            self.web.do_send(StatusPatch::Fills(marks));
        }
        for e in msg.0.iter().filter(|e| e.exec_type == "Funding") {
            self.quoter.funding(&e.symbol, e.exec_fee);
        }
        for e in msg.0.iter().filter(|e| e.exec_type == "Trade") {
            self.quoter.fill(&e.symbol, e.side, e.exec_qty, e.exec_price, e.exec_fee);
        }
        self.publish_pnl();
        self.check_kill_switch();
    }
}

impl Handler<Stop> for Strategy {
    type Result = MessageResult<Stop>;

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) -> Self::Result {
        self.stopped = true;
        ctx.stop();
        let funding: Decimal = self.quoter.pnl.symbols.values().map(|p| p.funding).sum();
        MessageResult(StopAck::ok(format!(
            "quoting stopped; timers dropped; PnL {} USDT (funding {} of it)",
            self.quoter.pnl.total().round_dp(4),
            (Decimal::ZERO - funding).round_dp(4)
        )))
    }
}
