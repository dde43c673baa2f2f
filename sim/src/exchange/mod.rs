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

use bybit_v5::rest::{Execution, OrderInfo};
use bybit_v5::ws::PrivateMessage;

use crate::account::options::AccountOptions;
use crate::account::position::PositionState;
use crate::market::clock::Clock;
use crate::market::feed::{DepthFeed, DEPTHS};
use crate::market::instrument::InstrumentSpec;
use crate::market::replay::Replay;
use crate::market::source::{FeedLatency, MarketSource};
use crate::market::synthetic::{Liquidity, SyntheticParams};
use fill_model::QueueModel;

mod book;
mod source;
mod ticker;
mod views;

pub use views::MAINTENANCE_RATE;

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
    /// When clients may see it (a feed latency); at once when None.
    pub visible_at: Option<std::time::Instant>,
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
    /// Everyone else's resting liquidity (synthetic, or the real market's book).
    pub outside: Liquidity,
    /// Set when the market is a real one (replayed or mirrored): its book as recorded, the
    /// queue positions of the accounts' orders, its ticker.
    pub real: Option<crate::market::real::RealMarket>,
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
    /// Where the market comes from, and the exchange's clock (a replay's is the recording's).
    pub source: MarketSource,
    pub clock: Clock,
    /// The recording a replay reads, while it has events left.
    pub replay: Option<Replay>,
    pub queue_model: QueueModel,
    pub feed_latency: FeedLatency,
    /// The exchange time of the last market event applied (a tick, a replayed or mirrored frame).
    pub market_time_ms: u64,
    /// While a real market's event is applied: when clients may see what it publishes.
    pub visible_at: Option<std::time::Instant>,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Exchange {
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
            let mut outside = Liquidity::default();
            outside.retarget(&spec, spec.start_price, params.synthetic, &mut rng);
            markets.insert(
                spec.symbol.clone(),
                Market {
                    mid: spec.start_price,
                    last_price: spec.start_price,
                    high_price: spec.start_price,
                    low_price: spec.start_price,
                    tick_direction: "ZeroPlusTick",
                    recent_trades: VecDeque::new(),
                    symbol_id: crate::market::instrument::instrument_table()
                        .iter()
                        .position(|i| i.symbol == spec.symbol)
                        .map_or(0, |i| i as u32 + 1),
                    outside,
                    real: None,
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
            source: MarketSource::Synthetic,
            clock: Clock::Wall,
            replay: None,
            queue_model: QueueModel::RiskAverse,
            feed_latency: FeedLatency::None,
            market_time_ms: 0,
            visible_at: None,
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
        (crate::server::state::now_us(), self.next_event)
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
