//! The configuration file: TOML composed of each actor's Settings, plus the exchange and paper
//! sections. Secrets may also come from the environment. `validate` names the file, the key and
//! what was expected for everything wrong, all at once.

mod account;
mod advice;
mod file_mode;
mod paper;
mod sizes;
pub mod token;
pub mod validate;

pub use paper::PaperConfig;

pub use account::{AccountSettings, PositionMode};
pub use advice::{advice, busy_poll_warning, humanize, usable_cpus};
pub use file_mode::secrets_file_warning;
pub use sizes::size_warnings;
pub use validate::validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use mmbot_actors::budget::rate_governor::RateLimitSettings;
use mmbot_actors::exchange::rest_connector::OrderEntry;
use mmbot_actors::exchange::ws_connector::WsSettings;
use mmbot_actors::ha::HaSettings;
use mmbot_actors::market::risk::RiskLimits;
use mmbot_actors::observe::control_auth::ReadAuth;
use mmbot_actors::observe::monitor::MonitorSettings;
use mmbot_actors::observe::recorder::RecorderSettings;
use mmbot_actors::order_manager::OrderManagerSettings;
use mmbot_actors::shutdown::supervisor::ShutdownSettings;
use mmbot_actors::strategy::StrategySettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Trade on bybit-sim: embedded unless `exchange.rest_url` points at one.
    Paper,
    /// Trade on a real Bybit endpoint (mainnet or testnet).
    Live,
    /// Compute quotes from live market data and send nothing.
    DryRun,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Paper => "paper",
            Mode::Live => "live",
            Mode::DryRun => "dry-run",
        }
    }
}

/// Which thread the exchange connector (signing, HTTP, the trade socket, answer decoding) runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectorThread {
    /// With market data, quoting and order management: an order request reaches the socket
    /// without waking another thread (lowest latency on a book update).
    #[default]
    Market,
    /// The main thread, beside the control server: answers are decoded on another core (more
    /// requests per second when one thread's work is the limit, e.g. at 20 symbols).
    Main,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExchangeConfig {
    /// Empty in paper mode: start the embedded simulator.
    pub rest_url: String,
    pub ws_public_url: String,
    pub ws_private_url: String,
    /// Bybit's order-entry WebSocket (`/v5/trade`): the order transport when `order_entry` is
    /// "websocket", else a second way to cancel when REST order endpoints fail. Empty: none
    /// (the embedded simulator's is used in paper mode).
    pub ws_trade_url: String,
    /// How order requests travel: "rest" (the default) or "websocket" (the trade socket, REST
    /// while it is down; needs `ws_trade_url`). Cancels at shutdown try the other transport
    /// when this one fails.
    pub order_entry: Option<OrderEntry>,
    /// Where the connector runs: "market" (the default) or "main"; see `ConnectorThread`.
    pub connector_thread: ConnectorThread,
    /// Prefer the MMBOT_API_KEY / MMBOT_API_SECRET environment variables.
    pub api_key: String,
    pub api_secret: String,
    pub recv_window_ms: u64,
    pub request_timeout_ms: u64,
    /// The account's request budgets (`[exchange.rate_limits]`); Bybit's default tier unless set.
    pub rate_limits: RateLimitSettings,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        Self {
            rest_url: String::new(),
            ws_public_url: String::new(),
            ws_private_url: String::new(),
            ws_trade_url: String::new(),
            order_entry: None,
            connector_thread: ConnectorThread::default(),
            api_key: String::new(),
            api_secret: String::new(),
            recv_window_ms: 5000,
            request_timeout_ms: 3000,
            rate_limits: RateLimitSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    pub listen: SocketAddr,
    /// Bearer token for POST /shutdown (and, off loopback, every read endpoint); prefer
    /// MMBOT_CONTROL_TOKEN. Empty: one is generated and written to `<recorder.dir>/control-token`
    /// (paper and dry-run only).
    pub token: String,
    /// `"off_loopback"` (default): the read endpoints need the token when the server listens on
    /// anything but loopback; `"always"`: on loopback too.
    pub read_auth: ReadAuth,
    /// `/metrics` needs the token too (off by default: scrapers rarely carry one).
    pub metrics_auth: bool,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            token: String::new(),
            read_auth: ReadAuth::default(),
            metrics_auth: false,
        }
    }
}

/// The thread of market data, quoting and order management (`[market_thread]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketThreadConfig {
    /// Never park the thread: it polls its sockets in a loop and keeps one core at 100 %. A book
    /// update then finds the thread awake and warm (tick to wire p99 ≤ 100 µs here, against
    /// ~200 µs parked; docs/benchmarks.md).
    pub busy_poll: bool,
    /// While busy-polling, rehearse the hot path on canned data this often; 0 = never.
    pub rehearse_every_us: u64,
}

impl Default for MarketThreadConfig {
    fn default() -> Self {
        Self {
            busy_poll: false,
            rehearse_every_us: 200,
        }
    }
}

impl MarketThreadConfig {
    pub fn rehearse_every(&self) -> Option<std::time::Duration> {
        (self.rehearse_every_us > 0).then(|| std::time::Duration::from_micros(self.rehearse_every_us))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub mode: Mode,
    pub symbols: Vec<String>,
    #[serde(default)]
    pub exchange: ExchangeConfig,
    #[serde(default)]
    pub paper: PaperConfig,
    #[serde(default)]
    pub strategy: StrategySettings,
    #[serde(default)]
    pub risk: RiskLimits,
    #[serde(default)]
    pub order_manager: OrderManagerSettings,
    #[serde(default)]
    pub ws: WsSettings,
    #[serde(default)]
    pub control: ControlConfig,
    #[serde(default)]
    pub recorder: RecorderSettings,
    #[serde(default)]
    pub shutdown: ShutdownSettings,
    #[serde(default)]
    pub monitor: MonitorSettings,
    #[serde(default)]
    pub market_thread: MarketThreadConfig,
    #[serde(default)]
    pub account: AccountSettings,
    /// Two instances on one account, one quoting, decided by an etcd lease (`[ha]`); None: a
    /// single instance.
    pub ha: Option<HaSettings>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The io error is in the message, not the chain: printed with its chain (`{:#}`) it would
    /// say the same thing twice.
    #[error("{file}: cannot read: {error}")]
    Read { file: String, error: std::io::Error },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: {}", problems.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    Invalid { file: String, problems: Vec<String> },
}

/// What the environment may override.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub api_key: Option<String>,
    pub api_secret: Option<String>,
    pub control_token: Option<String>,
    pub rest_url: Option<String>,
    pub ws_public_url: Option<String>,
    pub ws_private_url: Option<String>,
    pub ws_trade_url: Option<String>,
    pub order_entry: Option<OrderEntry>,
    pub control_listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub symbols: Option<Vec<String>>,
    /// Paper-trade on these recordings (`[paper] market = "replay"`).
    pub replay: Option<Vec<PathBuf>>,
    /// Paper-trade on this live public stream (`[paper] market = "mirror"`).
    pub mirror_url: Option<String>,
    pub mirror_rest_url: Option<String>,
    /// Run in this mode whatever the file says: an offline backtest of a live config is paper
    /// (no exchange, no control surface), and is not held to what only a live run needs.
    pub mode: Option<Mode>,
}

impl Overrides {
    pub fn apply(&self, c: &mut Config) {
        if let Some(mode) = self.mode {
            c.mode = mode;
        }
        let set = |field: &mut String, v: &Option<String>| {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                *field = v.clone();
            }
        };
        set(&mut c.exchange.api_key, &self.api_key);
        set(&mut c.exchange.api_secret, &self.api_secret);
        set(&mut c.control.token, &self.control_token);
        set(&mut c.exchange.rest_url, &self.rest_url);
        set(&mut c.exchange.ws_public_url, &self.ws_public_url);
        set(&mut c.exchange.ws_private_url, &self.ws_private_url);
        set(&mut c.exchange.ws_trade_url, &self.ws_trade_url);
        if let Some(o) = self.order_entry {
            c.exchange.order_entry = Some(o);
        }
        if let Some(l) = self.control_listen {
            c.control.listen = l;
        }
        if let Some(d) = &self.data_dir {
            c.recorder.dir = d.clone();
        }
        if let Some(s) = self.symbols.as_ref().filter(|s| !s.is_empty()) {
            // Quoting set for a symbol the file lists but this run leaves out does not apply;
            // one for a symbol the file does not list either stays, for validation to name.
            let listed = std::mem::replace(&mut c.symbols, s.clone());
            c.strategy.symbols.retain(|sym, _| s.contains(sym) || !listed.contains(sym));
        }
        if let Some(files) = self.replay.as_ref().filter(|f| !f.is_empty()) {
            c.paper.market = "replay".into();
            c.paper.replay_files = files.clone();
        }
        if let Some(url) = self.mirror_url.as_ref().filter(|u| !u.is_empty()) {
            c.paper.market = "mirror".into();
            c.paper.mirror_url = url.clone();
        }
        set(&mut c.paper.mirror_rest_url, &self.mirror_rest_url);
    }
}

/// A live bot that was not told its cancel scope cancels only its own orders at stop: a
/// cancel-all per symbol would also take the operator's take-profit, stop-loss and conditional
/// orders. Paper keeps `symbol` (the account is the bot's alone).
fn default_cancel_scope(config: &mut Config, text: &str) {
    let given = toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("order_manager")?.get("cancel_scope").cloned())
        .is_some();
    if !given && config.mode == Mode::Live {
        config.order_manager.cancel_scope = mmbot_actors::order_manager::CancelScope::Own;
    }
}

/// What the cancel scope in force removes at stop, for check-config.
pub fn cancel_scope_line(c: &Config) -> &'static str {
    match c.order_manager.cancel_scope {
        mmbot_actors::order_manager::CancelScope::Own => {
            "cancel_scope = \"own\": at stop, only orders whose link id carries this bot's prefix are cancelled; the account's other orders stay (conditional and TP/SL orders are never touched)"
        }
        mmbot_actors::order_manager::CancelScope::Account => {
            "cancel_scope = \"account\": at stop, one cancel-all by settle coin removes EVERY active USDT order on the account, on any symbol, the bot's or not (conditional and TP/SL orders stay)"
        }
        mmbot_actors::order_manager::CancelScope::Symbol => {
            "cancel_scope = \"symbol\": at stop, cancel-all per traded symbol removes EVERY active order on those symbols, including limit orders placed by hand (conditional and TP/SL orders stay)"
        }
    }
}

pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read { file: file.clone(), error })?;
    let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        file: file.clone(),
        message: humanize(e.to_string().trim_end()),
    })?;
    default_cancel_scope(&mut config, &text);
    overrides.apply(&mut config);
    let problems = validate(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid { file, problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn shipped_configs_are_valid() {
        for f in ["config/default.toml", "config/testnet.toml", "config/live.example.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
            let mut c: Config = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            c.exchange.api_key = "k".into();
            c.exchange.api_secret = "s".into();
            c.control.token = "3f9c1a7be04d2c85f6a19e3b7d0c4e2a91b8f7c6d5e4a3b2c1d0e9f8a7b6c5d4".into();
            assert_eq!(validate(&c), Vec::<String>::new(), "{f}");
        }
    }

    #[test]
    fn step_timeouts_fit_the_deadline_and_the_deadline_an_hour() {
        let c = parse("mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n[shutdown]\ndeadline_ms = 36000000\norder_manager_ms = 50000000\n");
        let p = validate(&c);
        assert!(
            p.iter().any(|x| x.starts_with("shutdown.deadline_ms: expected at most 3600000")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|x| x.starts_with("shutdown.order_manager_ms: expected at most shutdown.deadline_ms")),
            "{p:?}"
        );
        let ok = parse("mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n[shutdown]\ndeadline_ms = 40000\n");
        assert!(validate(&ok).iter().all(|x| !x.starts_with("shutdown.")), "{:?}", validate(&ok));
        assert!(advice(&ok, 2)[0].contains("at least 50 s"), "{:?}", advice(&ok, 2));
    }

    #[test]
    fn type_errors_speak_in_words() {
        let e = toml::from_str::<Config>("mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n[shutdown]\ndeadline_ms = \"soon\"\n").unwrap_err();
        let msg = humanize(&e.to_string());
        assert!(msg.contains("expected a whole number, 0 or more"), "{msg}");
        assert!(!msg.contains("u64"), "{msg}");
        assert_eq!(humanize("expected u320"), "expected u320");
    }

    #[test]
    fn live_without_a_cancel_scope_cancels_only_its_own() {
        use mmbot_actors::order_manager::CancelScope;
        let scope = |text: &str| {
            let mut c: Config = toml::from_str(text).unwrap();
            default_cancel_scope(&mut c, text);
            c.order_manager.cancel_scope
        };
        assert_eq!(scope("mode = \"live\"\nsymbols = [\"BTCUSDT\"]\n"), CancelScope::Own);
        assert_eq!(scope("mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n"), CancelScope::Symbol);
        assert_eq!(
            scope("mode = \"live\"\nsymbols = [\"BTCUSDT\"]\n[order_manager]\ncancel_scope = \"symbol\"\n"),
            CancelScope::Symbol
        );
    }

    #[test]
    fn problems_name_key_and_expectation() {
        let c = parse("mode = \"live\"\nsymbols = []\n[strategy]\nlevels = 0\n[shutdown]\ndeadline_ms = 500\n");
        let p = validate(&c);
        for key in [
            "symbols:",
            "exchange.rest_url:",
            "exchange.api_key:",
            "control.token:",
            "strategy.levels:",
            "shutdown.deadline_ms:",
        ] {
            assert!(p.iter().any(|x| x.starts_with(key)), "{key} in {p:?}");
        }
    }

    #[test]
    fn each_invalid_value_is_rejected_with_its_key() {
        let base = "mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n";
        let cases = [
            ("[exchange]\nrecv_window_ms = 0", "exchange.recv_window_ms"),
            ("[exchange]\nrequest_timeout_ms = 10", "exchange.request_timeout_ms"),
            ("[exchange]\nrest_url = \"ftp://x\"", "exchange.rest_url"),
            ("[strategy]\nlevels = 251", "strategy.levels"),
            ("[strategy]\nspread_bps = -1", "strategy.spread_bps"),
            ("[strategy]\nlevel_step_bps = 5000", "strategy.level_step_bps"),
            ("[strategy]\norder_notional = 0", "strategy.order_notional"),
            ("[strategy]\ninventory_skew_bps = -2", "strategy.inventory_skew_bps"),
            ("[order_manager]\nlink_prefix = \"has-dash\"", "order_manager.link_prefix"),
            ("[order_manager]\nlink_prefix = \"waytoolongprefix\"", "order_manager.link_prefix"),
            ("[order_manager]\nreconcile_interval_ms = 5", "order_manager.reconcile_interval_ms"),
            ("[order_manager]\ndcp_window_s = 2", "order_manager.dcp_window_s"),
            ("[ws]\ndepth = 7", "ws.depth"),
            ("[ws]\nping_interval_ms = 100", "ws.ping_interval_ms"),
            ("[ws]\nstale_after_ms = 10", "ws.stale_after_ms"),
            ("[recorder]\nflush_interval_ms = 0", "recorder.flush_interval_ms"),
            ("[recorder]\nfile_name = \"../escape\"", "recorder.file_name"),
            ("[shutdown]\ndeadline_ms = 10", "shutdown.deadline_ms"),
            ("[shutdown]\nrecorder_ms = 1", "shutdown.recorder_ms"),
            ("[paper]\ntrade_probability = 2.0", "paper.trade_probability"),
            ("[exchange.rate_limits]\norders_per_sec = 0", "exchange.rate_limits.orders_per_sec"),
            (
                "[exchange.rate_limits]\ncancel_reserve = 600",
                "exchange.rate_limits.cancel_reserve",
            ),
            (
                "[exchange.rate_limits.endpoints]\n\"order/amend\" = 20",
                "exchange.rate_limits.endpoints.\"order/amend\"",
            ),
        ];
        for (extra, key) in cases {
            let c = parse(&format!("{base}{extra}\n"));
            let p = validate(&c);
            assert!(p.iter().any(|x| x.starts_with(&format!("{key}: expected"))), "{key}: {p:?}");
        }
        // Wrong types and enum values fail at parse time, naming the key.
        for (extra, key) in [
            ("[order_manager]\ncancel_scope = \"all\"", "cancel_scope"),
            ("[order_manager]\nleftovers = \"keep\"", "leftovers"),
            ("mode2 = 1", "mode2"),
        ] {
            let e = toml::from_str::<Config>(&format!("{base}{extra}\n")).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
        assert!(toml::from_str::<Config>("mode = \"paperish\"\nsymbols = []")
            .unwrap_err()
            .to_string()
            .contains("paperish"));
    }

    #[test]
    fn the_market_thread_parks_unless_told_to_busy_poll() {
        let base = "mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n";
        let c = parse(base);
        assert!(!c.market_thread.busy_poll);
        assert_eq!(c.market_thread.rehearse_every(), Some(std::time::Duration::from_micros(200)));
        let c = parse(&format!("{base}[market_thread]\nbusy_poll = true\nrehearse_every_us = 0\n"));
        assert!(c.market_thread.busy_poll);
        assert_eq!(c.market_thread.rehearse_every(), None);
    }

    #[test]
    fn busy_polling_without_a_core_to_spare_is_advised_against() {
        let base = "mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n";
        let parked = parse(base);
        let busy = parse(&format!("{base}[market_thread]\nbusy_poll = true\n"));
        assert_eq!(advice(&parked, 1).len(), 1, "parked: no CPU advice");
        assert_eq!(advice(&busy, 2).len(), 1, "two CPUs: enough");
        let one = advice(&busy, 1);
        assert_eq!(one.len(), 2);
        assert!(one[1].contains("busy_poll") && one[1].contains("1 CPU"), "{one:?}");
    }

    #[test]
    fn unknown_keys_are_parse_errors() {
        let e = toml::from_str::<Config>("mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n[strategy]\nlevelz = 3\n").unwrap_err();
        assert!(e.to_string().contains("levelz"), "{e}");
    }

    #[test]
    fn environment_overrides_file() {
        let mut c = parse("mode = \"paper\"\nsymbols = [\"BTCUSDT\"]\n");
        Overrides {
            api_key: Some("env-key".into()),
            rest_url: Some("http://127.0.0.1:1".into()),
            ..Default::default()
        }
        .apply(&mut c);
        assert_eq!(c.exchange.api_key, "env-key");
        assert_eq!(c.exchange.rest_url, "http://127.0.0.1:1");
    }

    #[test]
    fn fewer_symbols_leave_the_others_quoting_behind_but_not_a_misspelt_one() {
        // The shipped config quotes ETHUSDT its own way; `--symbols BTCUSDT` (a recording of one
        // symbol) runs without it.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let only_btc = Overrides {
            symbols: Some(vec!["BTCUSDT".into()]),
            ..Default::default()
        };
        let c = load(&path, &only_btc).unwrap();
        assert_eq!(c.symbols, ["BTCUSDT"]);
        assert!(c.strategy.symbols.is_empty(), "{:?}", c.strategy.symbols.keys());
        let kept = load(&path, &Overrides::default()).unwrap();
        assert!(kept.strategy.symbols.contains_key("ETHUSDT"), "without --symbols it stays");
        // A quoting set for a symbol the file never lists is a mistake, named with or without
        // --symbols.
        let mut c = parse("mode = \"paper\"\nsymbols = [\"BTCUSDT\", \"ETHUSDT\"]\n[strategy.symbols.ETHUSD]\nlevels = 2\n");
        only_btc.apply(&mut c);
        assert!(
            validate(&c).iter().any(|p| p.contains("strategy.symbols.ETHUSD")),
            "{:?}",
            validate(&c)
        );
    }

    #[test]
    fn an_unreadable_file_is_named_once_with_its_cause_once() {
        let e = load(Path::new("/nonexistent/mmbot.toml"), &Overrides::default()).unwrap_err();
        let chained = format!("{:#}", anyhow::Error::from(e));
        assert_eq!(chained.matches("No such file").count(), 1, "{chained}");
        assert!(chained.starts_with("/nonexistent/mmbot.toml: cannot read"), "{chained}");
    }
}
