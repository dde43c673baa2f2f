//! `bybit-sim`: run the simulator on its own.
//!
//! `bybit-sim --listen 127.0.0.1:PORT --api-key K --api-secret S --seed N [faults]`
//! `bybit-sim --market replay --replay FILE[,FILE…] [--queue-model prob_power:2] [--feed-latency-ms recorded]`
//! `bybit-sim --market mirror --mirror-url WS_URL [--mirror-rest-url URL]`

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use bybit_sim::market::source::{FeedLatency, MarketSource};
use bybit_sim::{Faults, MarketParams, RateLimits, SimConfig};
use fill_model::QueueModel;

#[derive(Parser, Debug)]
#[command(name = "bybit-sim", version, about = "A Bybit-V5-compatible USDT-perpetual exchange on loopback")]
struct Args {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    #[arg(long, env = "BYBIT_SIM_API_KEY", default_value = "sim-key")]
    api_key: String,
    #[arg(long, env = "BYBIT_SIM_API_SECRET", default_value = "sim-secret", hide_env_values = true)]
    api_secret: String,
    /// Further accounts as KEY:SECRET[:FLAGS]; FLAGS (comma-separated) make the account a real
    /// one's shape: read-only, hedge, no-dcp, isolated, portfolio, expires=DAYS.
    #[arg(long = "account", value_name = "KEY:SECRET[:FLAGS]")]
    accounts: Vec<String>,
    /// Which instruments of the shipped table trade (comma-separated; `all` for every one).
    /// Default: BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT — or, on a replay, the recording's symbols.
    #[arg(long, value_delimiter = ',')]
    symbols: Option<Vec<String>>,
    /// Where the market comes from: synthetic (a seeded random walk), replay (recordings in
    /// the market-data format, on their own clock) or mirror (a live public stream).
    #[arg(long, value_parser = ["synthetic", "replay", "mirror"], default_value = "synthetic")]
    market: String,
    /// The recordings a replay plays (comma-separated; .gz, .zst or plain).
    #[arg(long, value_delimiter = ',')]
    replay: Vec<std::path::PathBuf>,
    /// Replay speed: exchange milliseconds per wall millisecond.
    #[arg(long, default_value_t = 1.0)]
    replay_speed: f64,
    /// The public stream a mirror follows, e.g. wss://stream.bybit.com/v5/public/linear.
    #[arg(long)]
    mirror_url: Option<String>,
    /// The same venue's REST API, for its real instruments (tick and lot sizes).
    #[arg(long)]
    mirror_rest_url: Option<String>,
    /// How resting orders advance in their queues on a real market: risk_averse | prob_power:N.
    #[arg(long, default_value = "risk_averse")]
    queue_model: String,
    /// Delay before clients see a market event: milliseconds, or `recorded` (each frame's own
    /// local − exchange time, on a replay).
    #[arg(long, default_value = "0")]
    feed_latency_ms: String,
    /// Delay before an order request reaches the matching engine, in milliseconds.
    #[arg(long, default_value_t = 0)]
    order_latency_ms: u64,
    /// Seed of the random-walk market: the same seed gives the same market.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Market clock period in milliseconds.
    #[arg(long, default_value_t = 100)]
    tick_ms: u64,
    /// Random-walk volatility per tick, in basis points.
    #[arg(long, default_value_t = 0.5)]
    volatility_bps: f64,
    /// Chance per tick of a taker trade.
    #[arg(long, default_value_t = 0.3)]
    trade_probability: f64,
    /// Order-endpoint budget per second and account (Bybit's default is 10).
    #[arg(long, default_value_t = 10)]
    order_rate_limit: u32,
    /// Read-endpoint budget per second and account (Bybit's default is 50).
    #[arg(long, default_value_t = 50)]
    read_rate_limit: u32,
    /// HTTP requests per 5 s per client IP before a 403 ban (Bybit's limit is 600).
    #[arg(long, default_value_t = 600)]
    ip_rate_limit: u32,
    /// Length of an IP ban after going over the IP limit, in milliseconds (Bybit: 10 minutes).
    #[arg(long, default_value_t = 30_000)]
    ip_ban_ms: u64,
    /// How long after its answer a cancel-all's orders leave the book, in milliseconds (Bybit's
    /// cancel-all is asynchronous; 0 makes it synchronous).
    #[arg(long, default_value_t = 5)]
    cancel_all_delay_ms: u64,
    /// Fault: added latency, PATH=MS (PATH `*` for every endpoint). Repeatable.
    #[arg(long = "latency", value_name = "PATH=MS")]
    latency: Vec<String>,
    /// Fault: a random 0..=MS milliseconds on every request, before it is counted.
    #[arg(long = "latency-jitter", value_name = "MS", default_value_t = 0)]
    latency_jitter: u64,
    /// Fault: this endpoint accepts requests and never answers. Repeatable.
    #[arg(long = "hang", value_name = "PATH")]
    hang: Vec<String>,
    /// Fault: this endpoint answers 502. Repeatable.
    #[arg(long = "fail-5xx", value_name = "PATH")]
    fail_5xx: Vec<String>,
    /// Fault: this endpoint answers retCode 10006. Repeatable.
    #[arg(long = "rate-limit", value_name = "PATH")]
    rate_limit: Vec<String>,
    /// Fault: the private stream refuses every auth.
    #[arg(long)]
    reject_ws_auth: bool,
    /// Fault: every /v5/ path answers HTTP 403 with a CDN's HTML page (a refused region).
    #[arg(long)]
    forbidden: bool,
    /// Fault: refuse connections for this many milliseconds after start.
    #[arg(long, default_value_t = 0)]
    refuse_ms: u64,
}

fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    let mut faults = Faults::default();
    for spec in &args.latency {
        let (path, ms) = Faults::parse_latency(spec).map_err(anyhow::Error::msg).context("--latency")?;
        faults.latency_ms.insert(path, ms);
    }
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    faults.hang = set(&args.hang);
    faults.error_5xx = set(&args.fail_5xx);
    faults.rate_limit = set(&args.rate_limit);
    faults.reject_ws_auth = args.reject_ws_auth;
    faults.forbidden = args.forbidden;
    faults.latency_jitter_ms = args.latency_jitter;
    let mut accounts = vec![(args.api_key.clone(), args.api_secret.clone())];
    let mut account_options = std::collections::BTreeMap::new();
    for a in &args.accounts {
        let (k, s, options) = bybit_sim::account::options::parse_account(a)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("--account {a:?}"))?;
        accounts.push((k.clone(), s));
        account_options.insert(k, options);
    }
    let source = match args.market.as_str() {
        "replay" if args.replay.is_empty() => anyhow::bail!("--market replay needs --replay FILE[,FILE…]"),
        "replay" => MarketSource::Replay {
            files: args.replay.clone(),
            speed: args.replay_speed,
        },
        "mirror" => MarketSource::Mirror {
            ws_url: args.mirror_url.clone().context("--market mirror needs --mirror-url")?,
            rest_url: args.mirror_rest_url.clone(),
        },
        _ => MarketSource::Synthetic,
    };
    let symbols = match (&args.symbols, &source) {
        (Some(s), _) => s.clone(),
        (None, MarketSource::Replay { files, .. }) => {
            let found = bybit_sim::market::replay::symbols_in(files).context("reading the recordings")?;
            anyhow::ensure!(!found.is_empty(), "the recordings hold no market events");
            found
        }
        (None, _) => bybit_sim::market::instrument::DEFAULT_SYMBOLS.map(String::from).to_vec(),
    };
    let instruments = if symbols.iter().any(|s| s == "all") {
        bybit_sim::market::instrument::instrument_table()
    } else {
        bybit_sim::market::instrument::select(&symbols).map_err(anyhow::Error::msg)?
    };
    let queue_model = QueueModel::parse(&args.queue_model).context("--queue-model")?;
    let feed_latency = FeedLatency::parse(&args.feed_latency_ms).map_err(anyhow::Error::msg)?;
    let config = SimConfig {
        listen: args.listen,
        instruments,
        accounts,
        account_options,
        seed: args.seed,
        tick: Duration::from_millis(args.tick_ms.max(1)),
        market: MarketParams {
            volatility_bps: args.volatility_bps,
            trade_probability: args.trade_probability,
            ..Default::default()
        },
        limits: RateLimits {
            orders_per_sec: args.order_rate_limit,
            reads_per_sec: args.read_rate_limit,
            ip_requests_per_5s: args.ip_rate_limit,
            ip_ban_ms: args.ip_ban_ms,
        },
        faults,
        cancel_all_delay: Duration::from_millis(args.cancel_all_delay_ms),
        refuse_at_start: Duration::from_millis(args.refuse_ms),
        source,
        queue_model,
        feed_latency,
        order_latency: Duration::from_millis(args.order_latency_ms),
        ..Default::default()
    };
    let sim = bybit_sim::spawn(config).with_context(|| format!("starting bybit-sim on {}", args.listen))?;
    // One line on stdout a supervising script can read the address from.
    println!("bybit-sim listening on {}", sim.addr);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        anyhow::Ok(())
    })?;
    log::info!("stopping");
    sim.stop();
    Ok(())
}
