//! The Strategy's decisions as a plain type, with no actor or clock of its own: per symbol the
//! book top, a volatility estimate and the position; across symbols PnL and the risk limits.
//! It says which quotes are wanted now, when a requote is due (`min_requote_ms`), which books
//! went stale and whether the kill switch trips. The Strategy actor drives it on the wall clock;
//! the backtest drives the same code on a virtual one.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rust_decimal::prelude::*;

use crate::market::book::Top;
use crate::market::net_position::NetPosition;
use crate::market::pnl::Pnl;
use crate::market::quoting::{rounds_far_up, BelowMinimum, Filters, MarketState, Quote, QuoteParams};
use crate::market::risk::{allowed_sides, cap_orders, kill_switch, RiskLimits};
use crate::market::volatility::VolatilityEstimator;

use super::quote_memo::QuoteMemo;
use super::settings::StrategySettings;

pub struct SymbolQuoting {
    /// The symbol's quoting and its instrument's filters: fixed for the run (`memo` answers for
    /// them; a change to either would have to clear it).
    pub params: QuoteParams,
    pub filters: Filters,
    /// The book's top and when it was received.
    pub top: Option<(Top, Instant)>,
    /// The top's mid (worked out once per top: every quote, risk check and mark reads it).
    pub mid: Decimal,
    pub vol: VolatilityEstimator,
    pub position: Decimal,
    /// When quotes were last wanted (sent or not).
    pub last_emit: Option<Instant>,
    /// No book update for `risk.stale_book_ms`: its quotes are pulled.
    pub stale: bool,
    /// Not quoted: its minimum order is far above `order_notional` (`below_minimum = "skip"`).
    pub skipped: bool,
    /// The last quotes and the top, inventory, sides and σ they were worked out from.
    pub memo: QuoteMemo,
}

/// When the next quotes for a symbol may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Now,
    /// Within `min_requote_ms` of the last: wait this long.
    After(Duration),
}

pub struct Quoter {
    pub settings: StrategySettings,
    pub risk: RiskLimits,
    /// By symbol, in a fixed order (a backtest's runs must not depend on a hash seed).
    pub symbols: BTreeMap<String, SymbolQuoting>,
    pub pnl: Pnl,
}

impl Quoter {
    pub fn new(settings: StrategySettings, risk: RiskLimits, filters: HashMap<String, Filters>) -> Self {
        let symbols = filters
            .into_iter()
            .map(|(s, f)| {
                let state = SymbolQuoting {
                    params: settings.quote_params(&s),
                    filters: f,
                    top: None,
                    mid: Decimal::ZERO,
                    vol: VolatilityEstimator::new(settings.volatility_half_life_s),
                    position: Decimal::ZERO,
                    last_emit: None,
                    stale: false,
                    skipped: false,
                    memo: QuoteMemo::default(),
                };
                (s, state)
            })
            .collect();
        Self {
            settings,
            risk,
            symbols,
            pnl: Pnl::default(),
        }
    }

    /// The inventory and the PnL's baseline, from the positions as the exchange listed them.
    pub fn inherit(&mut self, positions: &BTreeMap<String, NetPosition>) {
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

    fn total_notional(&self) -> Decimal {
        self.symbols
            .values()
            .filter_map(|s| s.top.map(|_| (s.position * s.mid).abs()))
            .sum()
    }

    /// A new top of the book (None: the book is gone). True when the symbol had a top and lost
    /// it (its quotes must be pulled at once).
    pub fn book(&mut self, symbol: &str, top: Option<Top>, at: Instant) -> bool {
        let Some(st) = self.symbols.get_mut(symbol) else { return false };
        match top {
            Some(top) => {
                let mid = top.mid();
                st.vol.update(crate::market::exact::to_f64(mid), at);
                st.top = Some((top, at));
                st.mid = mid;
                st.stale = false;
                self.pnl.mark(symbol, mid);
                false
            }
            None => st.top.take().is_some(),
        }
    }

    /// Whether quotes may go now or after a pause (`min_requote_ms` since the last).
    pub fn pace(&self, symbol: &str, now: Instant) -> Pace {
        let min = Duration::from_millis(self.settings.min_requote_ms);
        match self.symbols.get(symbol).and_then(|s| s.last_emit) {
            Some(t) if now.saturating_duration_since(t) < min => Pace::After(min - now.saturating_duration_since(t)),
            _ => Pace::Now,
        }
    }

    /// The quotes wanted for `symbol` now (none while its book is missing or stale, or it is
    /// skipped); the emission is counted for the pace.
    pub fn quotes(&mut self, symbol: &str, now: Instant) -> Vec<Quote> {
        let total = self.total_notional();
        let per_symbol_cap = (self.risk.max_open_orders as usize) / self.symbols.len().max(1);
        let below_minimum = self.settings.below_minimum;
        let Some(st) = self.symbols.get_mut(symbol) else {
            return Vec::new();
        };
        st.last_emit = Some(now);
        let Some((top, _)) = st.top.filter(|_| !st.stale) else {
            return Vec::new();
        };
        if below_minimum == BelowMinimum::Skip && rounds_far_up(st.params.order_notional, &st.filters, st.mid) {
            if !st.skipped {
                log::warn!(symbol = symbol; "{symbol}: its smallest order is over 1.5x order_notional {}: not quoted (strategy.below_minimum = \"skip\")", st.params.order_notional);
            }
            st.skipped = true;
            return Vec::new();
        }
        st.skipped = false;
        let sides = allowed_sides(&self.risk, st.position, st.mid, total);
        let state = MarketState {
            top,
            sigma: st.vol.sigma(),
            inventory: st.position,
        };
        cap_orders(st.memo.quotes(&st.params, &st.filters, &state, sides), per_symbol_cap)
    }

    pub fn set_position(&mut self, symbol: &str, size: Decimal) -> bool {
        match self.symbols.get_mut(symbol) {
            Some(st) => {
                st.position = size;
                st.top.is_some()
            }
            None => false,
        }
    }

    /// One of the bot's fills, into PnL (marked at the book's mid).
    pub fn fill(&mut self, symbol: &str, side: bybit_v5::Side, qty: Decimal, price: Decimal, fee: Decimal) {
        self.pnl.fill(symbol, side, qty, price, fee);
        if let Some(st) = self.symbols.get(symbol).filter(|s| s.top.is_some()) {
            self.pnl.mark(symbol, st.mid);
        }
    }

    pub fn funding(&mut self, symbol: &str, fee: Decimal) {
        self.pnl.funding(symbol, fee);
    }

    /// The kill switch's reason, if the drawdown is past the limit.
    pub fn kill_reason(&self) -> Option<String> {
        // Asked after every book change: the drawdown is worked out only when there is a limit.
        if self.risk.max_drawdown <= Decimal::ZERO {
            return None;
        }
        kill_switch(&self.risk, self.pnl.drawdown())
    }

    /// Books that stopped updating for `risk.stale_book_ms`: now stale (their quotes are pulled).
    pub fn newly_stale(&mut self, now: Instant) -> Vec<String> {
        let limit = Duration::from_millis(self.risk.stale_book_ms);
        let mut out = Vec::new();
        for (symbol, s) in self.symbols.iter_mut() {
            if !s.stale && s.top.is_some_and(|(_, at)| now.saturating_duration_since(at) > limit) {
                s.stale = true;
                out.push(symbol.clone());
            }
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn quoter() -> Quoter {
        let filters = Filters::btcusdt();
        let settings = StrategySettings {
            min_requote_ms: 250,
            ..Default::default()
        };
        let risk = RiskLimits {
            stale_book_ms: 1_000,
            ..Default::default()
        };
        Quoter::new(settings, risk, HashMap::from([("X".to_string(), filters)]))
    }

    fn top() -> Top {
        Top {
            bid: dec!(100),
            bid_size: dec!(1),
            ask: dec!(100.2),
            ask_size: dec!(1),
        }
    }

    #[test]
    fn quotes_are_paced_pulled_when_the_book_goes_stale_and_none_without_a_book() {
        let mut q = quoter();
        let t0 = Instant::now();
        assert!(q.quotes("X", t0).is_empty(), "no book, no quotes");
        q.book("X", Some(top()), t0);
        assert_eq!(q.pace("X", t0), Pace::After(Duration::from_millis(250)), "just emitted (empty)");
        let t1 = t0 + Duration::from_millis(300);
        assert_eq!(q.pace("X", t1), Pace::Now);
        let quotes = q.quotes("X", t1);
        assert!(!quotes.is_empty(), "a book, and the pause is over: quotes");
        assert!(
            quotes
                .iter()
                .all(|x| (x.side == bybit_v5::Side::Buy && x.price <= dec!(100))
                    || (x.side == bybit_v5::Side::Sell && x.price >= dec!(100.2)))
        );
        assert!(q.newly_stale(t0 + Duration::from_millis(900)).is_empty());
        assert_eq!(q.newly_stale(t0 + Duration::from_millis(1_100)), vec!["X".to_string()]);
        assert!(
            q.quotes("X", t0 + Duration::from_millis(1_200)).is_empty(),
            "a stale book is not quoted"
        );
        assert!(q.book("X", None, t1), "a lost top says so");
    }
}
