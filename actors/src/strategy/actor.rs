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
use crate::market::book::Top;
use crate::market::net_position::NetPosition;
use crate::market::pnl::Pnl;
use crate::market::quoting::{compute_quotes, rounds_far_up, BelowMinimum, Filters, MarketState, QuoteParams};
use crate::market::risk::{allowed_sides, cap_orders, kill_switch, OnKill, RiskLimits};
use crate::market::volatility::VolatilityEstimator;
use crate::messages::ha::Inherit;
use crate::messages::market::{BookUpdate, Fills, PositionUpdate};
use crate::messages::quotes::DesiredQuotes;
use crate::messages::shutdown::{RequestShutdown, ShutdownSource};
use crate::messages::status::{FillMark, StatusPatch};
use crate::messages::stop::{CloseAtExit, Stop, StopAck};
use crate::telemetry::metrics::{labels, Metrics};

use super::settings::StrategySettings;

struct SymbolState {
    params: QuoteParams,
    filters: Filters,
    top: Option<(Top, Instant)>,
    vol: VolatilityEstimator,
    position: Decimal,
    last_emit: Option<Instant>,
    scheduled: bool,
    stale: bool,
    /// Changed since `/status` last heard: the book's top, or how many quotes are desired.
    status_due: bool,
    desired_count: usize,
    /// Not quoted: its minimum order is far above `order_notional` (`below_minimum = "skip"`).
    skipped: bool,
}

/// How often `/status` hears of book tops and desired quotes (its readers sample at ≤ 4/s).
const STATUS_EVERY: Duration = Duration::from_millis(100);

pub struct Strategy {
    settings: StrategySettings,
    risk: RiskLimits,
    symbols: HashMap<String, SymbolState>,
    pnl: Pnl,
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
        let symbols = filters
            .into_iter()
            .map(|(s, f)| {
                let state = SymbolState {
                    params: settings.quote_params(&s),
                    filters: f,
                    top: None,
                    vol: VolatilityEstimator::new(settings.volatility_half_life_s),
                    position: Decimal::ZERO,
                    last_emit: None,
                    scheduled: false,
                    stale: false,
                    status_due: false,
                    desired_count: 0,
                    skipped: false,
                };
                (s, state)
            })
            .collect();
        Self {
            settings,
            risk,
            symbols,
            pnl: Pnl::default(),
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
        self.inherit(positions);
        self
    }

    /// The inventory and the PnL's baseline, from the positions as the exchange listed them.
    fn inherit(&mut self, positions: &std::collections::BTreeMap<String, NetPosition>) {
        self.pnl = Pnl::default();
        for (symbol, p) in positions {
            if let Some(st) = self.symbols.get_mut(symbol) {
                st.position = p.size;
                if !p.size.is_zero() {
                    self.pnl.inherit(symbol, p.size, p.entry_price);
                }
            }
        }
    }

    /// With `risk.on_kill = "cancel_and_close"`: where the kill switch asks for the close.
    pub fn with_close_at_exit(mut self, r: Recipient<CloseAtExit>) -> Self {
        self.close_at_exit = Some(r);
        self
    }

    /// PnL as it stands (the inherited positions, before any fill).
    pub fn pnl(&self) -> &Pnl {
        &self.pnl
    }

    fn total_notional(&self) -> Decimal {
        self.symbols
            .values()
            .filter_map(|s| s.top.map(|(t, _)| (s.position * t.mid()).abs()))
            .sum()
    }

    /// Send the symbol's desired quotes. `tick` is when the book update that triggered this was
    /// received, when the emission follows it directly (not a throttled or timed requote).
    fn emit_for(&mut self, symbol: &str, tick: Option<Instant>) {
        if self.stopped {
            return;
        }
        let total = self.total_notional();
        let per_symbol_cap = (self.risk.max_open_orders as usize) / self.symbols.len().max(1);
        let Some(st) = self.symbols.get_mut(symbol) else { return };
        let quotes = match st.top {
            Some((top, received_at)) if !st.stale => {
                let sides = allowed_sides(&self.risk, st.position, top.mid(), total);
                let state = MarketState {
                    top,
                    sigma: st.vol.sigma(),
                    inventory: st.position,
                };
                let _ = received_at;
                if self.settings.below_minimum == BelowMinimum::Skip && rounds_far_up(st.params.order_notional, &st.filters, top.mid()) {
                    if !st.skipped {
                        log::warn!(symbol = symbol; "{symbol}: its smallest order is over 1.5x order_notional {}: not quoted (strategy.below_minimum = \"skip\")", st.params.order_notional);
                    }
                    st.skipped = true;
                    st.last_emit = Some(Instant::now());
                    st.desired_count = 0;
                    self.order_manager.do_send(DesiredQuotes {
                        symbol: symbol.to_string(),
                        quotes: Vec::new(),
                        tick,
                    });
                    return;
                }
                st.skipped = false;
                let q = cap_orders(compute_quotes(&st.params, &st.filters, &state, sides), per_symbol_cap);
                if let Some(t) = tick {
                    self.metrics.tick_to_quote.observe(t.elapsed().as_secs_f64());
                }
                q
            }
            _ => vec![],
        };
        st.last_emit = Some(Instant::now());
        st.desired_count = quotes.len();
        st.status_due = true;
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
        let min = Duration::from_millis(self.settings.min_requote_ms);
        let Some(st) = self.symbols.get_mut(symbol) else { return };
        match st.last_emit.map(|t| t.elapsed()) {
            Some(e) if e < min => {
                if !st.scheduled {
                    st.scheduled = true;
                    let symbol = symbol.to_string();
                    ctx.run_later(min - e, move |act, ctx| {
                        if let Some(st) = act.symbols.get_mut(&symbol) {
                            st.scheduled = false;
                        }
                        act.requote(&symbol, ctx);
                    });
                }
            }
            _ => self.emit_for(symbol, tick),
        }
    }

    /// `/status` hears of tops and desired quotes on a timer, not on the hot path: a message to
    /// the web server's thread wakes that thread (a syscall) between a book update and its quotes.
    fn publish_status(&mut self) {
        for (symbol, st) in self.symbols.iter_mut().filter(|(_, st)| st.status_due) {
            st.status_due = false;
            if let Some((top, _)) = st.top {
                self.web.do_send(StatusPatch::BookTop {
                    symbol: symbol.clone(),
                    bid: top.bid,
                    ask: top.ask,
                });
            }
            self.web.do_send(StatusPatch::DesiredQuotes {
                symbol: symbol.clone(),
                count: st.desired_count,
            });
        }
    }

    fn publish_pnl(&self) {
        for (symbol, p) in &self.pnl.symbols {
            self.metrics
                .pnl
                .get_or_create(&labels(&[("symbol", symbol)]))
                .set(p.total().to_f64().unwrap_or(0.0));
        }
        self.metrics.drawdown.set(self.pnl.drawdown().to_f64().unwrap_or(0.0));
        self.web.do_send(StatusPatch::Pnl(self.pnl.clone()));
    }

    fn check_kill_switch(&mut self) {
        if self.stopped {
            return;
        }
        if let Some(reason) = kill_switch(&self.risk, self.pnl.drawdown()) {
            // The supervisor logs it, once, as the shutdown's reason, and records the trip.
            self.stopped = true;
            if let (OnKill::CancelAndClose, Some(r)) = (self.risk.on_kill, &self.close_at_exit) {
                r.do_send(CloseAtExit { reason: reason.clone() });
            }
            self.supervisor.do_send(RequestShutdown {
                source: ShutdownSource::KillSwitch(reason),
            });
        }
    }

    /// Pull the quotes of books that stopped updating.
    fn check_stale(&mut self) {
        let limit = Duration::from_millis(self.risk.stale_book_ms);
        let stale: Vec<String> = self
            .symbols
            .iter()
            .filter(|(_, s)| !s.stale && s.top.is_some_and(|(_, at)| at.elapsed() > limit))
            .map(|(k, _)| k.clone())
            .collect();
        for symbol in stale {
            log::warn!(symbol = AsRef::<str>::as_ref(&symbol); "{symbol}: no book update for {} ms: pulling its quotes", limit.as_millis());
            if let Some(s) = self.symbols.get_mut(&symbol) {
                s.stale = true;
            }
            self.emit(&symbol);
        }
    }
}

impl Actor for Strategy {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let every = Duration::from_millis((self.risk.stale_book_ms / 4).clamp(10, 1000));
        ctx.run_interval(every, |act, _| act.check_stale());
        ctx.run_interval(STATUS_EVERY, |act, _| act.publish_status());
    }
}

crate::answers_ping!(Strategy);

impl Handler<BookUpdate> for Strategy {
    type Result = ();

    fn handle(&mut self, msg: BookUpdate, ctx: &mut Self::Context) {
        self.fault.check("strategy", "a book update");
        let Some(st) = self.symbols.get_mut(&msg.symbol) else { return };
        match msg.top {
            Some(top) => {
                let mid = top.mid();
                st.vol.update(mid.to_f64().unwrap_or(0.0), msg.received_at);
                st.top = Some((top, msg.received_at));
                st.stale = false;
                st.status_due = true;
                self.pnl.mark(&msg.symbol, mid);
                self.check_kill_switch();
                self.requote_after(&msg.symbol, Some(msg.received_at), ctx);
            }
            None => {
                // No book, no quotes: pull them at once rather than quote blind.
                if st.top.take().is_some() {
                    self.emit(&msg.symbol);
                }
            }
        }
    }
}

impl Handler<PositionUpdate> for Strategy {
    type Result = ();

    fn handle(&mut self, msg: PositionUpdate, ctx: &mut Self::Context) {
        let Some(st) = self.symbols.get_mut(&msg.symbol) else { return };
        st.position = msg.size;
        if st.top.is_some() {
            self.requote(&msg.symbol, ctx);
        }
    }
}

impl Handler<Inherit> for Strategy {
    type Result = ();

    /// A standby became active: its PnL starts here, from the positions it takes over (a
    /// standby's own PnL stays empty: the fills before were the previous active's).
    fn handle(&mut self, msg: Inherit, ctx: &mut Self::Context) {
        self.inherit(&msg.0);
        self.web.do_send(StatusPatch::Pnl(self.pnl.clone()));
        let quoted: Vec<String> = self
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
            self.pnl.funding(&e.symbol, e.exec_fee);
        }
        for e in msg.0.iter().filter(|e| e.exec_type == "Trade") {
            self.pnl.fill(&e.symbol, e.side, e.exec_qty, e.exec_price, e.exec_fee);
            if let Some((top, _)) = self.symbols.get(&e.symbol).and_then(|s| s.top) {
                self.pnl.mark(&e.symbol, top.mid());
            }
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
        let funding: Decimal = self.pnl.symbols.values().map(|p| p.funding).sum();
        MessageResult(StopAck::ok(format!(
            "quoting stopped; timers dropped; PnL {} USDT (funding {} of it)",
            self.pnl.total().round_dp(4),
            (Decimal::ZERO - funding).round_dp(4)
        )))
    }
}
