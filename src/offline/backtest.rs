//! `mmbot backtest --config FILE --data FILE… [--queue-model M] [--latency-ms N]
//! [--feed-latency-ms N] [--symbols S] --report OUT.json [--fills OUT.csv] [--chart OUT.svg]
//! [--sweep KEY=V1,V2 …]`: the config's quoting on the recordings, on a virtual clock; the
//! report as JSON, a summary on stdout, the fills as CSV and a chart. With `--sweep`, every
//! combination of the values, on every core, ranked by PnL.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use mmbot_actors::messages::report::exit_code;

use super::progress::RunProgress;
use super::recordings;
use super::settings::{settings, VenueFlags};
use super::sweep;
use crate::config::{load, Mode, Overrides};

#[derive(clap::Args, Debug, Clone)]
pub struct BacktestArgs {
    /// The bot's configuration (the same file `mmbot run` takes).
    #[arg(long, short, default_value = "config/default.toml")]
    pub config: PathBuf,
    /// Recordings in the market-data format (`mmbot record`, `mmbot import`): files, a glob, or
    /// a directory (every recording under it).
    #[arg(long, required = true, num_args = 1.., value_delimiter = ',')]
    pub data: Vec<PathBuf>,
    /// risk_averse or prob_power:N (default: [paper] queue_model).
    #[arg(long)]
    pub queue_model: Option<String>,
    /// Order-entry latency each way, ms (default: [paper] order_latency_ms).
    #[arg(long)]
    pub latency_ms: Option<u64>,
    /// Market-data (and fill) latency: ms, or `recorded` (each frame's own local − exchange
    /// time) (default: [paper] feed_latency_ms).
    #[arg(long)]
    pub feed_latency_ms: Option<String>,
    /// The symbols to trade (default: the config's).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Option<Vec<String>>,
    /// Where the report goes (JSON).
    #[arg(long)]
    pub report: PathBuf,
    /// The fills as CSV.
    #[arg(long)]
    pub fills: Option<PathBuf>,
    /// A chart of mid, quotes, fills, inventory and PnL (SVG).
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// KEY=V1,V2,…: run every combination of the values (e.g. strategy.spread_bps=4,6,8).
    #[arg(long = "sweep", value_name = "KEY=V1,V2")]
    pub sweeps: Vec<String>,
}

pub fn command(args: &BacktestArgs) -> i32 {
    match run(args) {
        Ok(()) => exit_code::CLEAN,
        Err(e) => {
            crate::logging::fatal(&format!("backtest: {e:#}"));
            exit_code::COULD_NOT_START
        }
    }
}

fn flags(args: &BacktestArgs) -> VenueFlags {
    VenueFlags {
        queue_model: args.queue_model.clone(),
        latency_ms: args.latency_ms,
        feed_latency_ms: args.feed_latency_ms.clone(),
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn run(args: &BacktestArgs) -> anyhow::Result<()> {
    let args = &BacktestArgs {
        data: recordings::expand(&args.data)?,
        ..args.clone()
    };
    // Offline: no exchange is contacted, so none of its credentials is needed, and a live
    // config is judged as the paper run it is here (its control token, say, is not asked for).
    let overrides = Overrides {
        symbols: args.symbols.clone(),
        api_key: Some("offline".into()),
        api_secret: Some("offline".into()),
        mode: Some(Mode::Paper),
        ..Default::default()
    };
    // Where the outputs go is checked before a run that may take minutes, not after it.
    for path in [Some(&args.report), args.fills.as_ref(), args.chart.as_ref()].into_iter().flatten() {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        anyhow::ensure!(dir.is_dir(), "{}: no directory {} to write it in", path.display(), dir.display());
    }
    if !args.sweeps.is_empty() {
        anyhow::ensure!(
            args.fills.is_none() && args.chart.is_none(),
            "--fills and --chart go with one run; a sweep writes every run's report to --report"
        );
        return sweep::run(args, &overrides, &flags(args));
    }
    let config = load(&args.config, &overrides)?;
    let s = settings(&config, &flags(args))?;
    let progress = RunProgress::new();
    let show = |events, fraction| progress.show(events, fraction);
    let terminal = std::io::stderr().is_terminal();
    let outcome = backtest::engine::run_full(&s, &args.data, args.fills.is_some(), terminal.then_some(&show as _));
    progress.finish();
    let outcome = outcome?;
    write(&args.report, &outcome.report.to_json())?;
    if let (Some(p), Some(csv)) = (&args.fills, &outcome.fills_csv) {
        write(p, csv)?;
    }
    if let Some(p) = &args.chart {
        write(p, &backtest::report::chart::chart(&outcome.collect))?;
    }
    print!("{}", backtest::report::summary::summary(&outcome.report));
    println!("  report: {}", args.report.display());
    // The process ends here: its memory goes back whole. Freeing a day's fills and mids one by
    // one first (hundreds of thousands of blocks, the allocator handing pages back) is work
    // nobody waits for but the caller.
    std::mem::forget(outcome);
    Ok(())
}
