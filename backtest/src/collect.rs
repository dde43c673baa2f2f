//! What happened in a run, gathered as it happens: every fill with the mid at that moment, the
//! mids over time (for markouts and the chart), cash, fees, funding and positions (for PnL and
//! its parts), whether both sides were quoted and how far from the touch, and the drawdown.

use std::collections::{BTreeMap, HashMap};

use bybit_v5::Side;
use market_data::price_key::same_value;
use mmbot_actors::market::exact::{half, to_f64};
use rust_decimal::Decimal;

use crate::ratio_memo::RatioMemo;
use crate::venue::{Fill, Venue};

/// One point of the chart: per symbol, sampled at most every `CHART_EVERY_MS`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPoint {
    pub t: u64,
    pub mid: Decimal,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub position: Decimal,
    pub pnl: Decimal,
}

/// Chart samples are this far apart at the least.
const CHART_EVERY_MS: u64 = 1_000;

#[derive(Default)]
pub struct SymbolRecord {
    pub mids: Vec<(u64, Decimal)>,
    pub cash: Decimal,
    pub position: Decimal,
    pub fees: Decimal,
    pub funding: Decimal,
    /// Σ over fills of the edge against the mid: what the spread earned.
    pub spread_capture: Decimal,
    last_t: Option<u64>,
    two_sided: bool,
    pub quoted_ms: u64,
    pub observed_ms: u64,
    pub touch_bps_sum: f64,
    pub touch_samples: u64,
    pub chart: Vec<ChartPoint>,
    /// Distances to the touch, by (our price, the best).
    touch: RatioMemo,
    /// The last (best bid, best ask) and its mid.
    top_mid: Option<((Decimal, Decimal), Decimal)>,
}

#[derive(Default)]
pub struct Collector {
    pub events: u64,
    pub fills: Vec<Fill>,
    pub symbols: BTreeMap<String, SymbolRecord>,
    pub peak_equity: Decimal,
    pub max_drawdown: Decimal,
    pub max_inventory: Decimal,
    pub first_ms: Option<u64>,
    pub last_ms: u64,
}

fn bps(a: Decimal, b: Decimal) -> f64 {
    if b.is_zero() {
        0.0
    } else {
        to_f64((a - b).abs() / b * Decimal::from(10_000))
    }
}

/// `bps(ours, best)`, once per pair of prices; at the touch, no division.
fn touch_bps(memo: &mut RatioMemo, ours: Decimal, best: Decimal) -> f64 {
    if same_value(ours, best) && !best.is_zero() && best.is_sign_positive() {
        // What the division gives: |0| / best · 10 000 is zero.
        return 0.0;
    }
    memo.get(ours, best, bps)
}

impl Collector {
    pub fn new(symbols: &[String]) -> Self {
        Self {
            symbols: symbols.iter().map(|s| (s.clone(), SymbolRecord::default())).collect(),
            ..Default::default()
        }
    }

    /// After each market event: the symbol's mid, quoting state and the equity.
    /// `changed`: the symbol whose book changed, as the venue's index and by name.
    pub fn market(&mut self, at: u64, changed: Option<(usize, &str)>, venue: &Venue) {
        self.events += 1;
        self.first_ms.get_or_insert(at);
        self.last_ms = self.last_ms.max(at);
        let Some((sym, symbol)) = changed else { return };
        let Some(r) = self.symbols.get_mut(symbol) else { return };
        let book = &venue.markets[sym].book;
        let (Some(best_bid), Some(best_ask)) = (book.best_bid(), book.best_ask()) else {
            return;
        };
        let mid = match r.top_mid {
            Some((top, mid)) if top == (best_bid, best_ask) => mid,
            _ => {
                let mid = half(best_bid + best_ask);
                r.top_mid = Some(((best_bid, best_ask), mid));
                mid
            }
        };
        let (mut own_bid, mut own_ask): (Option<Decimal>, Option<Decimal>) = (None, None);
        for o in venue.orders.values().filter(|o| o.sym == sym) {
            match o.side {
                Side::Buy => own_bid = Some(own_bid.map_or(o.price, |b| b.max(o.price))),
                Side::Sell => own_ask = Some(own_ask.map_or(o.price, |a| a.min(o.price))),
            }
        }
        let moved = r.mids.last().is_none_or(|(_, m)| *m != mid);
        if moved {
            r.mids.push((at, mid));
        }
        if let Some(last) = r.last_t {
            let dt = at.saturating_sub(last);
            r.observed_ms += dt;
            if r.two_sided {
                r.quoted_ms += dt;
            }
        }
        r.last_t = Some(at);
        r.two_sided = own_bid.is_some() && own_ask.is_some();
        if let Some(b) = own_bid {
            r.touch_bps_sum += touch_bps(&mut r.touch, b, best_bid);
            r.touch_samples += 1;
        }
        if let Some(a) = own_ask {
            r.touch_bps_sum += touch_bps(&mut r.touch, a, best_ask);
            r.touch_samples += 1;
        }
        if r.chart.last().is_none_or(|p| at >= p.t + CHART_EVERY_MS) {
            r.chart.push(ChartPoint {
                t: at,
                mid,
                bid: own_bid,
                ask: own_ask,
                position: r.position,
                pnl: r.cash + r.position * mid - r.fees - r.funding,
            });
        }
        // Equity moves with a mid (or a fill, which tracks it there).
        if moved {
            self.track_equity(venue);
        }
    }

    fn track_equity(&mut self, venue: &Venue) {
        let mut equity = Decimal::ZERO;
        let mut inventory = Decimal::ZERO;
        for (s, r) in &self.symbols {
            let mid = venue
                .id(s)
                .and_then(|i| venue.mid(i))
                .or_else(|| r.mids.last().map(|(_, m)| *m))
                .unwrap_or_default();
            equity += r.cash + r.position * mid - r.fees - r.funding;
            inventory += (r.position * mid).abs();
        }
        self.peak_equity = self.peak_equity.max(equity);
        self.max_drawdown = self.max_drawdown.max(self.peak_equity - equity);
        self.max_inventory = self.max_inventory.max(inventory);
    }

    pub fn fill(&mut self, f: &Fill, venue: &Venue) {
        self.account(f);
        self.track_equity(venue);
    }

    fn account(&mut self, f: &Fill) {
        let r = self.symbols.entry(f.symbol.clone()).or_default();
        let signed = if f.side == Side::Buy { f.qty } else { -f.qty };
        r.cash -= signed * f.price;
        r.position += signed;
        r.fees += f.fee;
        r.spread_capture += signed * (f.mid - f.price);
        self.fills.push(f.clone());
    }

    /// A fill of a run read afterwards (no venue): equity marked at each symbol's mid then.
    pub fn record_fill(&mut self, f: &Fill) {
        self.account(f);
        let mut equity = Decimal::ZERO;
        let mut inventory = Decimal::ZERO;
        for r in self.symbols.values() {
            let mid = crate::report::markouts::mid_at(&r.mids, f.at_ms).unwrap_or(f.mid);
            equity += r.cash + r.position * mid - r.fees - r.funding;
            inventory += (r.position * mid).abs();
        }
        self.peak_equity = self.peak_equity.max(equity);
        self.max_drawdown = self.max_drawdown.max(self.peak_equity - equity);
        self.max_inventory = self.max_inventory.max(inventory);
    }

    pub fn funding(&mut self, symbol: &str, fee: Decimal) {
        self.symbols.entry(symbol.to_string()).or_default().funding += fee;
    }

    /// Each symbol's last mid.
    pub fn last_mids(&self) -> HashMap<String, Decimal> {
        self.symbols
            .iter()
            .filter_map(|(s, r)| r.mids.last().map(|(_, m)| (s.clone(), *m)))
            .collect()
    }
}
