//! The exchange's state: markets, accounts, orders, and the streams they feed. Everything that
//! changes state happens under one lock, in plain methods that take `now_ms`, so tests can drive
//! it without a clock. The HTTP and WebSocket layers only translate wire requests into these
//! calls and forward the frames the exchange publishes.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokio::sync::broadcast;

use bybit_v5::rest::Level;
use bybit_v5::rest::{CoinBalance, Execution, OrderInfo, Position, WalletAccount};
use bybit_v5::ws::{BookData, BookMessage, PrivateMessage, UpdateType};

use crate::account_options::AccountOptions;
use crate::feed::{DepthFeed, DEPTHS};
use crate::instrument::InstrumentSpec;
use crate::position::PositionState;
use crate::synthetic::{SyntheticBook, SyntheticParams};

/// Maker and taker fees, as Bybit's default tier.
pub const MAKER_FEE: Decimal = dec!(0.0002);
pub const TAKER_FEE: Decimal = dec!(0.00055);
/// Leverage of a symbol until the account sets another (margin checks use the symbol's).
pub const LEVERAGE: Decimal = dec!(10);
/// Most open orders per symbol and account.
pub const MAX_OPEN_PER_SYMBOL: usize = 500;
/// Closed orders kept for `/v5/order/history`.
const HISTORY_CAP: usize = 20_000;
const EXECUTIONS_CAP: usize = 20_000;

/// A frame on the public stream, tagged with its topic; `u` is set for book frames.
#[derive(Debug, Clone)]
pub struct PublicEvent {
    pub topic: String,
    pub u: Option<u64>,
    pub text: Arc<str>,
}

/// A frame on one account's private stream, tagged with its topic family.
#[derive(Debug, Clone)]
pub struct PrivateEvent {
    pub topic: &'static str,
    pub text: Arc<str>,
}

#[derive(Debug, Clone)]
pub struct MarketParams {
    pub synthetic: SyntheticParams,
    /// Standard deviation of each random-walk step, in basis points.
    pub volatility_bps: f64,
    /// Chance per tick that a taker trade arrives.
    pub trade_probability: f64,
    /// Largest taker trade, as a multiple of the minimum quantity.
    pub max_trade_lots: u32,
}

impl Default for MarketParams {
    fn default() -> Self {
        Self {
            synthetic: SyntheticParams::default(),
            volatility_bps: 0.5,
            trade_probability: 0.3,
            max_trade_lots: 60,
        }
    }
}

#[derive(Debug)]
pub struct Market {
    pub spec: InstrumentSpec,
    pub mid: Decimal,
    pub synthetic: SyntheticBook,
    /// Resting user orders, price → order sequence numbers in time priority.
    pub bids: BTreeMap<Decimal, VecDeque<u64>>,
    pub asks: BTreeMap<Decimal, VecDeque<u64>>,
    pub feeds: Vec<DepthFeed>,
    pub cross_seq: u64,
    pub last_price: Decimal,
    /// Since the simulator started (its "24 h").
    pub high_price: Decimal,
    pub low_price: Decimal,
    pub tick_direction: &'static str,
    /// Newest first, for `/v5/market/recent-trade`.
    pub recent_trades: VecDeque<bybit_v5::ws::TradeItem>,
    /// The instrument's place in the shipped table (Bybit's `symbolId`).
    pub symbol_id: u32,
    pub volume24h: Decimal,
    pub turnover24h: Decimal,
    pub last_ticker: BTreeMap<&'static str, String>,
    pub ticker_cs: u64,
    /// `Trading`, or what `/sim/instrument` set (`Settling`, `Closed`, …): orders are refused
    /// while it is not `Trading`.
    pub status: String,
}

#[derive(Debug, Clone)]
pub struct SimOrder {
    pub seq: u64,
    pub account: usize,
    pub info: OrderInfo,
    /// When it began to rest and when it stopped: (µs since the epoch, the exchange's event
    /// number). Event numbers order every open and close exactly, where microseconds may tie:
    /// what `/sim/orders` gives a test that asks whether two orders ever rested together.
    pub opened: (u64, u64),
    pub closed: Option<(u64, u64)>,
}

impl SimOrder {
    /// An order that began to rest (or wait) at `opened`.
    pub fn opened(seq: u64, account: usize, info: OrderInfo, opened: (u64, u64)) -> Self {
        Self {
            seq,
            account,
            info,
            opened,
            closed: None,
        }
    }
}

pub struct Account {
    pub api_key: String,
    pub secret: String,
    pub wallet_balance: Decimal,
    /// Position rows by symbol and positionIdx (0 one-way; 1 long and 2 short in hedge mode).
    pub positions: BTreeMap<(String, u8), PositionState>,
    pub options: AccountOptions,
    /// Symbols in hedge mode (`/v5/position/switch-mode` mode 3).
    pub hedge: BTreeSet<String>,
    /// Leverage per symbol, where set (`/v5/position/set-leverage`); LEVERAGE otherwise.
    pub leverage: BTreeMap<String, Decimal>,
    pub executions: VecDeque<Execution>,
    /// DCP window in seconds, once enabled.
    pub dcp_window_s: Option<u32>,
    /// Live private connections subscribed to a `dcp.*` topic.
    pub dcp_connections: usize,
    /// The last sign of life of a `dcp.*`-subscribed connection (a message from the client, a
    /// subscribe, or the moment the last one closed); None while nothing is protected. Bybit
    /// fires when no such connection has been alive for the window, whether or not its TCP
    /// connection is still open.
    pub dcp_alive_at_ms: Option<u64>,
    pub dcp_fired: u64,
    /// When the account's last open order closed (µs since the epoch); None while any is open.
    pub flat_at_us: Option<u64>,
    /// Order units (create/amend/cancel endpoints) refused with 10006 because the account's
    /// budget was spent (whole requests and batch items): what a client that respects the
    /// budget never sees.
    pub rate_limited_units: u64,
    /// Reads and other requests refused with 10006 (a test polling the same account counts here).
    pub rate_limited_reads: u64,
    /// Amends that would leave the order as it is (same price, no other change): requests
    /// without a reason.
    pub amends_unchanged: u64,
    pub tx: broadcast::Sender<PrivateEvent>,
}

pub struct Exchange {
    pub markets: BTreeMap<String, Market>,
    pub accounts: Vec<Account>,
    pub orders: HashMap<u64, SimOrder>,
    /// Orders waiting for a trigger price, off the book (`conditional`).
    pub conditional: BTreeMap<u64, SimOrder>,
    pub closed: VecDeque<SimOrder>,
    pub by_order_id: HashMap<String, u64>,
    pub by_link_id: HashMap<(usize, String), u64>,
    pub params: MarketParams,
    pub rng: ChaCha8Rng,
    pub next_seq: u64,
    /// Opens and closes of orders, counted (see `SimOrder::opened`).
    pub next_event: u64,
    pub public_tx: broadcast::Sender<PublicEvent>,
    /// While a batch runs: the symbols whose book changed, published once at its end (as Bybit's
    /// depth feeds coalesce changes between pushes).
    pub deferred_books: Option<std::collections::BTreeSet<String>>,
}

/// One `orderbook.*` frame as text.
fn book_frame(topic: &str, kind: UpdateType, symbol: &str, (b, a): (Vec<Level>, Vec<Level>), u: u64, seq: u64, now: u64) -> String {
    let msg = BookMessage {
        topic: topic.to_string(),
        kind,
        ts: now,
        data: BookData {
            s: symbol.to_string(),
            b,
            a,
            u,
            seq,
        },
        cts: now,
    };
    serde_json::to_string(&msg).expect("serialisable")
}

/// Maintenance margin as a share of position value (one flat tier; Bybit's first tier is 0.5 %).
pub const MAINTENANCE_RATE: Decimal = dec!(0.005);

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Exchange {
    /// Run `f` with book publishing deferred to its end: one delta per changed symbol.
    pub fn coalescing_books<T>(&mut self, now: u64, f: impl FnOnce(&mut Self) -> T) -> T {
        let outer = self.deferred_books.replace(Default::default());
        let out = f(self);
        let changed = std::mem::replace(&mut self.deferred_books, outer).unwrap_or_default();
        for symbol in changed {
            self.publish_book(&symbol, now);
        }
        out
    }

    pub fn new(
        instruments: Vec<InstrumentSpec>,
        accounts: Vec<(String, String)>,
        params: MarketParams,
        seed: u64,
        balance: Decimal,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut markets = BTreeMap::new();
        for spec in instruments {
            let mut synthetic = SyntheticBook::default();
            synthetic.retarget(&spec, spec.start_price, params.synthetic, &mut rng);
            markets.insert(
                spec.symbol.clone(),
                Market {
                    mid: spec.start_price,
                    last_price: spec.start_price,
                    high_price: spec.start_price,
                    low_price: spec.start_price,
                    tick_direction: "ZeroPlusTick",
                    recent_trades: VecDeque::new(),
                    symbol_id: crate::instrument::instrument_table()
                        .iter()
                        .position(|i| i.symbol == spec.symbol)
                        .map_or(0, |i| i as u32 + 1),
                    synthetic,
                    bids: BTreeMap::new(),
                    asks: BTreeMap::new(),
                    feeds: DEPTHS.iter().map(|d| DepthFeed::new(*d)).collect(),
                    cross_seq: 0,
                    volume24h: Decimal::ZERO,
                    turnover24h: Decimal::ZERO,
                    last_ticker: BTreeMap::new(),
                    ticker_cs: 0,
                    status: "Trading".into(),
                    spec,
                },
            );
        }
        let accounts = accounts
            .into_iter()
            .map(|(api_key, secret)| Account {
                api_key,
                secret,
                wallet_balance: balance,
                positions: BTreeMap::new(),
                options: AccountOptions::default(),
                hedge: BTreeSet::new(),
                leverage: BTreeMap::new(),
                executions: VecDeque::new(),
                dcp_window_s: None,
                dcp_connections: 0,
                dcp_alive_at_ms: None,
                dcp_fired: 0,
                flat_at_us: None,
                rate_limited_units: 0,
                rate_limited_reads: 0,
                amends_unchanged: 0,
                tx: broadcast::channel(8192).0,
            })
            .collect();
        let (public_tx, _) = broadcast::channel(16384);
        let mut ex = Self {
            markets,
            accounts,
            orders: HashMap::new(),
            conditional: BTreeMap::new(),
            closed: VecDeque::new(),
            next_event: 0,
            by_order_id: HashMap::new(),
            by_link_id: HashMap::new(),
            params,
            rng,
            next_seq: 1,
            deferred_books: None,
            public_tx,
        };
        let symbols: Vec<String> = ex.markets.keys().cloned().collect();
        for s in symbols {
            ex.publish_book(&s, now_ms());
        }
        ex
    }

    pub fn account_by_key(&self, api_key: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.api_key == api_key)
    }

    pub fn new_order_id(&mut self) -> String {
        let a: u64 = self.rng.gen();
        let b: u64 = self.rng.gen();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// The public book: synthetic liquidity plus every resting user order.
    pub fn aggregated(&self, symbol: &str) -> (BTreeMap<Decimal, Decimal>, BTreeMap<Decimal, Decimal>) {
        let m = &self.markets[symbol];
        let mut bids = m.synthetic.bids.clone();
        let mut asks = m.synthetic.asks.clone();
        for (book, out) in [(&m.bids, &mut bids), (&m.asks, &mut asks)] {
            for (price, queue) in book {
                let total: Decimal = queue.iter().filter_map(|s| self.orders.get(s)).map(|o| o.info.leaves_qty).sum();
                if !total.is_zero() {
                    let e = out.entry(*price).or_insert(Decimal::ZERO);
                    *e = m.spec.fmt_qty(*e + total);
                }
            }
        }
        (bids, asks)
    }

    pub fn best_bid(&self, symbol: &str) -> Option<Decimal> {
        let m = &self.markets[symbol];
        let user = m.bids.keys().next_back().copied();
        match (user, m.synthetic.best_bid()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn best_ask(&self, symbol: &str) -> Option<Decimal> {
        let m = &self.markets[symbol];
        let user = m.asks.keys().next().copied();
        match (user, m.synthetic.best_ask()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Publish the book deltas (every depth that changed) and a ticker delta.
    pub fn publish_book(&mut self, symbol: &str, now: u64) {
        if let Some(deferred) = &mut self.deferred_books {
            deferred.insert(symbol.to_string());
            return;
        }
        let (bids, asks) = self.aggregated(symbol);
        let m = self.markets.get_mut(symbol).expect("known symbol");
        let zero = m.spec.fmt_qty(Decimal::ZERO);
        let mut changed = false;
        for feed in &mut m.feeds {
            if let Some(delta) = feed.advance(&bids, &asks, zero) {
                if !changed {
                    m.cross_seq += 1;
                    changed = true;
                }
                // Depth 1 is snapshot-only on Bybit.
                let (kind, b, a) = if feed.depth == 1 {
                    let (b, a) = feed.snapshot();
                    (UpdateType::Snapshot, b, a)
                } else {
                    (UpdateType::Delta, delta.b, delta.a)
                };
                let topic = format!("orderbook.{}.{}", feed.depth, symbol);
                let text: Arc<str> = book_frame(&topic, kind, symbol, (b, a), feed.u, m.cross_seq, now).into();
                let _ = self.public_tx.send(PublicEvent {
                    topic,
                    u: Some(feed.u),
                    text,
                });
            }
        }
        self.publish_ticker(symbol, now);
    }

    /// A perpetual's ticker as the `tickers` stream carries it (shared/bybit-v5-fields.md §19).
    pub fn ticker_fields(&self, symbol: &str) -> BTreeMap<&'static str, String> {
        let m = &self.markets[symbol];
        let (bids, asks) = self.aggregated(symbol);
        let (bp, bs) = bids.iter().next_back().map(|(p, s)| (*p, *s)).unwrap_or_default();
        let (ap, asz) = asks.iter().next().map(|(p, s)| (*p, *s)).unwrap_or_default();
        let mark = m.spec.fmt_price(m.mid);
        let open = m.spec.fmt_price(m.spec.start_price);
        let change = if open.is_zero() {
            Decimal::ZERO
        } else {
            ((m.last_price - open) / open).round_dp(6)
        };
        // Open interest: every account's position on the symbol (one side).
        let oi: Decimal = self
            .accounts
            .iter()
            .flat_map(|a| a.positions.iter())
            .filter(|((s, _), _)| s == symbol)
            .map(|(_, p)| p.size.abs())
            .sum();
        let oi = m.spec.fmt_qty(oi);
        let oi_value = (oi * m.mid).round_dp(2);
        let eight_hours = 8 * 3600 * 1000;
        let next_funding = (now_ms() / eight_hours + 1) * eight_hours;
        BTreeMap::from([
            ("symbol", symbol.to_string()),
            ("tickDirection", m.tick_direction.to_string()),
            ("price24hPcnt", change.to_string()),
            ("lastPrice", m.spec.fmt_price(m.last_price).to_string()),
            ("prevPrice24h", open.to_string()),
            ("highPrice24h", m.spec.fmt_price(m.high_price).to_string()),
            ("lowPrice24h", m.spec.fmt_price(m.low_price).to_string()),
            ("prevPrice1h", open.to_string()),
            ("markPrice", mark.to_string()),
            ("indexPrice", mark.to_string()),
            ("openInterest", (oi * Decimal::TWO).to_string()),
            ("openInterestValue", (oi_value * Decimal::TWO).to_string()),
            ("singleOpenInterest", oi.to_string()),
            ("singleOpenInterestValue", oi_value.to_string()),
            ("turnover24h", m.turnover24h.round_dp(4).to_string()),
            ("volume24h", m.volume24h.to_string()),
            ("fundingIntervalHour", "8".to_string()),
            ("fundingCap", "0.005".to_string()),
            ("nextFundingTime", next_funding.to_string()),
            ("fundingRate", "0.0001".to_string()),
            ("bid1Price", bp.to_string()),
            ("bid1Size", bs.to_string()),
            ("ask1Price", ap.to_string()),
            ("ask1Size", asz.to_string()),
            ("preOpenPrice", String::new()),
            ("preQty", String::new()),
            ("curPreListingPhase", String::new()),
        ])
    }

    /// The REST ticker: the stream's keys less `tickDirection`, plus the futures-only keys a
    /// perpetual sends empty (§5).
    pub fn rest_ticker(&self, symbol: &str) -> BTreeMap<&'static str, String> {
        let mut t = self.ticker_fields(symbol);
        t.remove("tickDirection");
        for (k, v) in [
            ("predictedDeliveryPrice", ""),
            ("basisRate", ""),
            ("basis", ""),
            ("deliveryFeeRate", ""),
            ("deliveryTime", "0"),
            ("basisRateYear", ""),
        ] {
            t.insert(k, v.to_string());
        }
        t
    }

    fn publish_ticker(&mut self, symbol: &str, now: u64) {
        let fields = self.ticker_fields(symbol);
        let m = self.markets.get_mut(symbol).expect("known symbol");
        let mut data = serde_json::Map::new();
        for (k, v) in &fields {
            if m.last_ticker.get(k) != Some(v) || *k == "symbol" {
                data.insert((*k).to_string(), serde_json::Value::from(v.clone()));
            }
        }
        m.last_ticker = fields;
        if data.len() <= 1 {
            return;
        }
        m.ticker_cs += 1;
        let topic = format!("tickers.{symbol}");
        let text = serde_json::json!({"topic": topic, "type": "delta", "cs": m.ticker_cs, "ts": now, "data": data}).to_string();
        let _ = self.public_tx.send(PublicEvent {
            topic,
            u: None,
            text: text.into(),
        });
    }

    /// A snapshot frame for a new subscriber of `orderbook.{depth}.{symbol}`.
    pub fn book_snapshot(&self, depth: usize, symbol: &str, now: u64) -> Option<(u64, String)> {
        let m = self.markets.get(symbol)?;
        let feed = m.feeds.iter().find(|f| f.depth == depth)?;
        let topic = format!("orderbook.{depth}.{symbol}");
        Some((
            feed.u,
            book_frame(&topic, UpdateType::Snapshot, symbol, feed.snapshot(), feed.u, m.cross_seq, now),
        ))
    }

    pub fn ticker_snapshot(&self, symbol: &str, now: u64) -> Option<String> {
        let m = self.markets.get(symbol)?;
        let fields = self.ticker_fields(symbol);
        Some(
            serde_json::json!({"topic": format!("tickers.{symbol}"), "type": "snapshot", "cs": m.ticker_cs, "ts": now, "data": fields})
                .to_string(),
        )
    }

    pub fn send_private<T: serde::Serialize>(&mut self, account: usize, topic: &'static str, data: Vec<T>, now: u64) {
        let id = self.new_order_id();
        let msg = PrivateMessage {
            id,
            topic: topic.to_string(),
            creation_time: now,
            data,
            skipped: Vec::new(),
        };
        let text: Arc<str> = serde_json::to_string(&msg).expect("serialisable").into();
        let _ = self.accounts[account].tx.send(PrivateEvent { topic, text });
    }

    /// One position row as Bybit shows it (`idx`: 0 one-way, 1/2 the hedge rows).
    pub fn position_view(&self, account: usize, symbol: &str, idx: u8) -> Position {
        let m = &self.markets[symbol];
        let p = self.accounts[account]
            .positions
            .get(&(symbol.to_string(), idx))
            .cloned()
            .unwrap_or_default();
        let mark = m.spec.fmt_price(m.mid);
        let flat = p.size.is_zero();
        let size = p.size.abs();
        let leverage = self.leverage(account, symbol);
        let im = (size * m.mid / leverage).round_dp(8).to_string();
        let mm = (size * m.mid * MAINTENANCE_RATE).round_dp(8).to_string();
        // Empty while flat, as Bybit sends them.
        let when_open = |v: String| if flat { String::new() } else { v };
        Position {
            position_idx: idx,
            risk_id: 1,
            risk_limit_value: "2000000".into(),
            symbol: symbol.to_string(),
            side: p.side_str().to_string(),
            size: m.spec.fmt_qty(size),
            avg_price: p.avg_price.round_dp(8),
            position_value: when_open((size * p.avg_price).round_dp(8).to_string()),
            trade_mode: 0,
            auto_add_margin: 0,
            position_status: "Normal".into(),
            leverage: leverage.normalize().to_string(),
            break_even_price: when_open(p.avg_price.round_dp(8).to_string()),
            mark_price: mark,
            liq_price: String::new(),
            bust_price: String::new(),
            position_im: if flat { "0".into() } else { im.clone() },
            position_im_by_mp: if flat { "0".into() } else { im.clone() },
            position_mm: if flat { "0".into() } else { mm.clone() },
            position_mm_by_mp: if flat { "0".into() } else { mm },
            position_balance: if flat { "0".into() } else { im },
            tpsl_mode: "Full".into(),
            take_profit: self.tpsl_price(account, symbol, "TakeProfit"),
            stop_loss: self.tpsl_price(account, symbol, "StopLoss"),
            trailing_stop: "0".into(),
            session_avg_price: String::new(),
            unrealised_pnl: when_open(p.unrealised(m.mid).round_dp(8).to_string()),
            cur_realised_pnl: p.cur_realised.round_dp(8),
            cum_realised_pnl: p.cum_realised.round_dp(8),
            adl_rank_indicator: if flat { 0 } else { 2 },
            created_time: p.created_ms.to_string(),
            updated_time: p.updated_ms.to_string(),
            open_time: p.open_ms,
            seq: if p.created_ms == 0 { -1 } else { p.seq },
            is_reduce_only: false,
            mmr_sys_updated_time: String::new(),
            leverage_sys_updated_time: String::new(),
        }
    }

    fn order_im(&self, account: usize) -> Decimal {
        self.orders
            .values()
            .filter(|o| o.account == account)
            .map(|o| o.info.leaves_qty * o.info.price / self.leverage(account, &o.info.symbol))
            .sum()
    }

    fn position_im_and_upl(&self, account: usize) -> (Decimal, Decimal) {
        let mut im = Decimal::ZERO;
        let mut upl = Decimal::ZERO;
        for ((sym, _), p) in &self.accounts[account].positions {
            if let Some(m) = self.markets.get(sym) {
                im += p.size.abs() * m.mid / self.leverage(account, sym);
                upl += p.unrealised(m.mid);
            }
        }
        (im, upl)
    }

    pub fn available_balance(&self, account: usize) -> Decimal {
        let (pos_im, upl) = self.position_im_and_upl(account);
        self.accounts[account].wallet_balance + upl - pos_im - self.order_im(account)
    }

    pub fn wallet_view(&self, account: usize) -> WalletAccount {
        let a = &self.accounts[account];
        let (pos_im, upl) = self.position_im_and_upl(account);
        let pos_mm = self.position_value(account) * MAINTENANCE_RATE;
        let order_im = self.order_im(account);
        let equity = (a.wallet_balance + upl).round_dp(8);
        let cum: Decimal = a.positions.values().map(|p| p.cum_realised).sum();
        let rate = |x: Decimal| {
            if equity.is_zero() {
                Decimal::ZERO
            } else {
                (x / equity).round_dp(4)
            }
        };
        let im = (pos_im + order_im).round_dp(8);
        WalletAccount {
            account_type: "UNIFIED".into(),
            account_im_rate: rate(im),
            account_im_rate_by_mp: rate(im),
            account_mm_rate: rate(pos_mm),
            account_mm_rate_by_mp: rate(pos_mm),
            total_equity: equity,
            total_wallet_balance: a.wallet_balance.round_dp(8),
            total_margin_balance: equity,
            total_available_balance: (equity - pos_im - order_im).round_dp(8),
            total_perp_upl: upl.round_dp(8),
            total_initial_margin: im,
            total_initial_margin_by_mp: im,
            total_maintenance_margin: pos_mm.round_dp(8),
            total_maintenance_margin_by_mp: pos_mm.round_dp(8),
            account_ltv: Decimal::ZERO,
            coin: vec![CoinBalance {
                coin: "USDT".into(),
                equity,
                usd_value: equity,
                wallet_balance: a.wallet_balance.round_dp(8),
                total_order_im: order_im.round_dp(8),
                total_position_im: pos_im.round_dp(8),
                total_position_mm: pos_mm.round_dp(8),
                unrealised_pnl: upl.round_dp(8),
                cum_realised_pnl: cum.round_dp(8),
                margin_collateral: true,
                collateral_switch: true,
                col_res: "0".into(),
                ..Default::default()
            }],
        }
    }

    /// Open orders of an account, newest first.
    pub fn open_orders(&self, account: usize) -> Vec<&SimOrder> {
        let mut v: Vec<&SimOrder> = self.orders.values().filter(|o| o.account == account).collect();
        v.sort_by_key(|o| std::cmp::Reverse(o.seq));
        v
    }

    /// The order an account names by order id (first) or link id, open, waiting or closed.
    pub fn seq_by_ids(&self, account: usize, order_id: Option<&str>, link_id: Option<&str>) -> Option<u64> {
        match (order_id.filter(|s| !s.is_empty()), link_id.filter(|s| !s.is_empty())) {
            (Some(id), _) => self.by_order_id.get(id).copied(),
            (None, Some(link)) => self.by_link_id.get(&(account, link.to_string())).copied(),
            (None, None) => None,
        }
    }

    pub fn find_open(&self, account: usize, order_id: Option<&str>, link_id: Option<&str>) -> Option<u64> {
        let seq = self.seq_by_ids(account, order_id, link_id)?;
        self.orders.get(&seq).filter(|o| o.account == account).map(|o| o.seq)
    }

    /// The next open-or-close event: now, and its number.
    pub fn event(&mut self) -> (u64, u64) {
        self.next_event += 1;
        (crate::state::now_us(), self.next_event)
    }

    pub fn retire(&mut self, mut order: SimOrder) {
        order.closed = Some(self.event());
        self.closed.push_back(order);
        while self.closed.len() > HISTORY_CAP {
            if let Some(old) = self.closed.pop_front() {
                self.by_order_id.remove(&old.info.order_id);
                self.by_link_id.remove(&(old.account, old.info.order_link_id.clone()));
            }
        }
    }

    pub fn record_execution(&mut self, account: usize, exec: Execution) {
        let a = &mut self.accounts[account];
        a.executions.push_back(exec);
        while a.executions.len() > EXECUTIONS_CAP {
            a.executions.pop_front();
        }
    }
}
