//! Strategy: on each book change, the quotes the bot wants resting, handed to the OrderManager.
//! Throttled per symbol so a fast book does not turn into a flood of requests; pulls its quotes
//! (empty desired set) when a book is lost.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::book::Top;
use crate::metrics::Metrics;
use crate::order_manager::{DesiredQuotes, OrderManager};
use crate::quoting::{compute_quotes, Filters, QuoteParams};
use crate::status::StatusPatch;
use crate::stop::{Stop, StopAck};
use crate::web_server::WebServer;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrategySettings {
    /// Levels per side.
    pub levels: u32,
    /// Distance of the first level from the mid, each side, in basis points.
    pub spread_bps: Decimal,
    /// Distance between consecutive levels, in basis points.
    pub level_step_bps: Decimal,
    /// Value of each order in USDT.
    pub order_notional: Decimal,
    /// Shift of both sides per order-notional of inventory, in basis points.
    pub inventory_skew_bps: Decimal,
    /// Least time between two quote updates of one symbol.
    pub min_requote_ms: u64,
}

impl Default for StrategySettings {
    fn default() -> Self {
        let q = QuoteParams::default();
        Self {
            levels: q.levels,
            spread_bps: q.spread_bps,
            level_step_bps: q.level_step_bps,
            order_notional: q.order_notional,
            inventory_skew_bps: q.inventory_skew_bps,
            min_requote_ms: 250,
        }
    }
}

impl StrategySettings {
    pub fn quote_params(&self) -> QuoteParams {
        QuoteParams {
            levels: self.levels,
            spread_bps: self.spread_bps,
            level_step_bps: self.level_step_bps,
            order_notional: self.order_notional,
            inventory_skew_bps: self.inventory_skew_bps,
        }
    }
}

/// The book's top changed (None: the book is lost until the next snapshot).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct BookUpdate {
    pub symbol: String,
    pub top: Option<Top>,
    pub received_at: Instant,
}

/// The exchange's view of a position (signed size in base units).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct PositionUpdate {
    pub symbol: String,
    pub size: Decimal,
}

pub struct Strategy {
    settings: StrategySettings,
    params: QuoteParams,
    filters: HashMap<String, Filters>,
    tops: HashMap<String, (Top, Instant)>,
    positions: HashMap<String, Decimal>,
    last_emit: HashMap<String, Instant>,
    scheduled: HashSet<String>,
    stopped: bool,
    order_manager: Addr<OrderManager>,
    web: Addr<WebServer>,
    metrics: Arc<Metrics>,
}

impl Strategy {
    pub fn new(
        settings: StrategySettings,
        filters: HashMap<String, Filters>,
        order_manager: Addr<OrderManager>,
        web: Addr<WebServer>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            params: settings.quote_params(),
            settings,
            filters,
            tops: HashMap::new(),
            positions: HashMap::new(),
            last_emit: HashMap::new(),
            scheduled: HashSet::new(),
            stopped: false,
            order_manager,
            web,
            metrics,
        }
    }

    fn emit(&mut self, symbol: &str) {
        if self.stopped {
            return;
        }
        let Some(filters) = self.filters.get(symbol) else {
            return;
        };
        let quotes = match self.tops.get(symbol) {
            Some((top, received_at)) => {
                let q = compute_quotes(&self.params, filters, top, self.positions.get(symbol).copied().unwrap_or_default());
                self.metrics.tick_to_quote.observe(received_at.elapsed().as_secs_f64());
                q
            }
            None => vec![],
        };
        self.last_emit.insert(symbol.to_string(), Instant::now());
        self.web.do_send(StatusPatch::DesiredQuotes {
            symbol: symbol.to_string(),
            count: quotes.len(),
        });
        self.order_manager.do_send(DesiredQuotes {
            symbol: symbol.to_string(),
            quotes,
        });
    }

    fn requote(&mut self, symbol: &str, ctx: &mut Context<Self>) {
        let min = Duration::from_millis(self.settings.min_requote_ms);
        let since = self.last_emit.get(symbol).map(|t| t.elapsed());
        match since {
            Some(e) if e < min => {
                if self.scheduled.insert(symbol.to_string()) {
                    let symbol = symbol.to_string();
                    ctx.run_later(min - e, move |act, ctx| {
                        act.scheduled.remove(&symbol);
                        act.requote(&symbol, ctx);
                    });
                }
            }
            _ => self.emit(symbol),
        }
    }
}

impl Actor for Strategy {
    type Context = Context<Self>;
}

impl Handler<BookUpdate> for Strategy {
    type Result = ();

    fn handle(&mut self, msg: BookUpdate, ctx: &mut Self::Context) {
        match msg.top {
            Some(top) => {
                self.web.do_send(StatusPatch::BookTop {
                    symbol: msg.symbol.clone(),
                    bid: top.bid,
                    ask: top.ask,
                });
                self.tops.insert(msg.symbol.clone(), (top, msg.received_at));
                self.requote(&msg.symbol, ctx);
            }
            None => {
                // No book, no quotes: pull them at once rather than quote blind.
                if self.tops.remove(&msg.symbol).is_some() {
                    self.emit(&msg.symbol);
                }
            }
        }
    }
}

impl Handler<PositionUpdate> for Strategy {
    type Result = ();

    fn handle(&mut self, msg: PositionUpdate, ctx: &mut Self::Context) {
        self.positions.insert(msg.symbol.clone(), msg.size);
        if self.tops.contains_key(&msg.symbol) {
            self.requote(&msg.symbol, ctx);
        }
    }
}

impl Handler<Stop> for Strategy {
    type Result = MessageResult<Stop>;

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) -> Self::Result {
        self.stopped = true;
        ctx.stop();
        MessageResult(StopAck::ok("quoting stopped; timers dropped"))
    }
}
