//! The command line: `mmbot` (paper trading with config/default.toml), `mmbot run --config FILE`,
//! `mmbot check-config --config FILE`, `mmbot check-account --config FILE`, `mmbot record`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use mmbot_actors::exchange::rest_connector::OrderEntry;

use crate::config::Overrides;

/// The environment variables that are not flags (secrets never go on a command line).
const ENVIRONMENT: &str = "Environment:
  MMBOT_API_KEY, MMBOT_API_SECRET  exchange credentials (override exchange.api_key / api_secret)
  MMBOT_CONTROL_TOKEN              bearer token for POST /shutdown (overrides control.token)
  MMBOT_LOG_FORMAT=json            one JSON object per log line, and the shutdown summary as JSON
  RUST_LOG                         log filter (default: mmbot at info, libraries at warn)
Every flag above also reads the environment variable shown with it.";

#[derive(Parser, Debug)]
#[command(
    name = "mmbot",
    version,
    about = "Market maker for Bybit USDT perpetuals that leaves no orphan orders when it stops",
    args_conflicts_with_subcommands = true,
    after_help = ENVIRONMENT
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a subcommand: `run` with these options.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the bot.
    #[command(after_help = ENVIRONMENT)]
    Run(RunArgs),
    /// Check a configuration file: every problem, then advice (grace periods).
    #[command(after_help = ENVIRONMENT)]
    CheckConfig(RunArgs),
    /// Check the account on the exchange (key, account, position mode) without placing or
    /// cancelling anything: one row per check; exit 1 on a blocker.
    #[command(after_help = ENVIRONMENT)]
    CheckAccount(RunArgs),
    /// Clear a tripped kill switch (recorded in the data directory) once the account has been
    /// reviewed: until then every start refuses to quote.
    #[command(after_help = ENVIRONMENT)]
    ClearKillSwitch(RunArgs),
    /// Record the configured symbols' public streams (book, trades, tickers; no key needed) in
    /// the market-data format until SIGTERM/SIGINT/SIGHUP: one gzip file per symbol per UTC day.
    Record(RecordArgs),
    /// Convert other sources of Bybit's market (its order-book archives, its trade CSVs,
    /// cryptofeed captures) into the market-data format, a file per symbol per UTC day.
    Import(ImportArgs),
    /// Backtest the config's quoting on recordings, on a virtual clock (thousands of times real
    /// time): a report (JSON, summary, fills CSV, chart); `--sweep` runs a grid on every core.
    Backtest(crate::offline::backtest::BacktestArgs),
    /// A paper or live run's recorder file in the backtest's report shape; `--compare A B` puts
    /// two reports side by side.
    Report(crate::offline::events_report::ReportArgs),
    /// Exit 0 if a running mmbot's /healthz answers 200 (for container health checks).
    Health {
        /// The /healthz URL to ask.
        #[arg(long, env = "MMBOT_HEALTH_URL", default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
}

#[derive(Args, Debug, Clone)]
pub struct RecordArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Where the files go (default: `<recorder.dir>/market`), a folder per symbol.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// bybit-archive (`*_ob500.data[.zip]`), bybit-trades (`public.bybit.com/trading` CSV) or
    /// cryptofeed (`.jsonl[.zst]`).
    #[arg(long)]
    pub from: String,
    /// Where the files go, a folder per symbol.
    #[arg(long)]
    pub out: PathBuf,
    /// For sources without a local receive time: the feed latency assumed (receive time =
    /// exchange time + this); each output file says so on its first line.
    #[arg(long, default_value_t = 0)]
    pub feed_latency_ms: u64,
    /// The files to import.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Configuration file (TOML; see config/default.toml for every key).
    #[arg(long, short, env = "MMBOT_CONFIG", default_value = "config/default.toml")]
    pub config: PathBuf,
    /// Exchange REST base URL (overrides exchange.rest_url), e.g. a standalone bybit-sim.
    #[arg(long, env = "MMBOT_REST_URL")]
    pub rest_url: Option<String>,
    /// Public market-data WebSocket URL (overrides exchange.ws_public_url).
    #[arg(long, env = "MMBOT_WS_PUBLIC_URL")]
    pub ws_public_url: Option<String>,
    /// Private (orders, executions, positions) WebSocket URL (overrides exchange.ws_private_url).
    #[arg(long, env = "MMBOT_WS_PRIVATE_URL")]
    pub ws_private_url: Option<String>,
    /// Order-entry WebSocket URL (overrides exchange.ws_trade_url).
    #[arg(long, env = "MMBOT_WS_TRADE_URL")]
    pub ws_trade_url: Option<String>,
    /// How order requests travel (overrides exchange.order_entry): the trade socket or REST.
    #[arg(long, env = "MMBOT_ORDER_ENTRY", value_parser = ["websocket", "rest"])]
    pub order_entry: Option<String>,
    /// Control server address (overrides control.listen).
    #[arg(long, env = "MMBOT_CONTROL_LISTEN")]
    pub control_listen: Option<SocketAddr>,
    /// Directory of recorder files and the generated control token (overrides recorder.dir).
    #[arg(long, env = "MMBOT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The symbols to trade or record (overrides symbols), e.g. BTCUSDT,ETHUSDT.
    #[arg(long, env = "MMBOT_SYMBOLS", value_delimiter = ',')]
    pub symbols: Option<Vec<String>>,
    /// Paper-trade on recordings in the market-data format (the embedded exchange replays them on
    /// their own clock; sets [paper] market = "replay"): files, or a shell glob.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub replay: Option<Vec<PathBuf>>,
    /// Paper-trade on a live public stream, mirrored by the embedded exchange (sets [paper]
    /// market = "mirror"), e.g. wss://stream.bybit.com/v5/public/linear.
    #[arg(long)]
    pub mirror_url: Option<String>,
    /// The mirrored venue's REST API, for its real instruments, e.g. https://api.bybit.com.
    #[arg(long)]
    pub mirror_rest_url: Option<String>,
}

impl RunArgs {
    /// Command-line values plus the secrets from the environment.
    pub fn overrides(&self) -> Overrides {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Overrides {
            api_key: env("MMBOT_API_KEY"),
            api_secret: env("MMBOT_API_SECRET"),
            control_token: env("MMBOT_CONTROL_TOKEN"),
            rest_url: self.rest_url.clone(),
            ws_public_url: self.ws_public_url.clone(),
            ws_private_url: self.ws_private_url.clone(),
            ws_trade_url: self.ws_trade_url.clone(),
            order_entry: self.order_entry.as_deref().map(|o| match o {
                "rest" => OrderEntry::Rest,
                _ => OrderEntry::Websocket,
            }),
            control_listen: self.control_listen,
            data_dir: self.data_dir.clone(),
            symbols: self.symbols.clone(),
            replay: self.replay.clone(),
            mirror_url: self.mirror_url.clone(),
            mirror_rest_url: self.mirror_rest_url.clone(),
            // `mmbot run` runs in the file's mode.
            mode: None,
        }
    }
}
