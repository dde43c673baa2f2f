//! `mmbot report data/events-RUN.jsonl [--market DIR] --report OUT.json`: a paper or live run's
//! recorder file in the backtest's report shape — its fills (with their fees), its orders, the
//! time both sides were quoted — and, when the run taped its market (`[recorder] market = true`,
//! `<recorder.dir>/market/`), the mids for markouts, spread capture and inventory. Times are the
//! recorder's (local) clock, as the tape's receive times are. `requests` counts the orders sent
//! per action (create, amend, cancel), and `budget` its busiest second and 5 s with each order as
//! a request (the recorder notes orders, not batches). `mmbot report --compare A.json B.json`
//! prints two reports side by side.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use backtest::budget_use::BudgetUse;
use backtest::collect::Collector;
use backtest::report::markouts::mid_at;
use backtest::report::{Parts, Report};
use backtest::venue::Fill;
use bybit_v5::Side;
use market_data::{Book, Kind, Tape};
use mmbot_actors::messages::report::exit_code;
use rust_decimal::Decimal;
use serde_json::Value;

#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// The run's recorder file (data/events-RUN.jsonl).
    #[arg(required_unless_present = "compare")]
    pub events: Option<PathBuf>,
    /// The run's market tape (default: `market/` beside the events file, when it is there).
    #[arg(long)]
    pub market: Option<PathBuf>,
    /// Where the report goes (JSON).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The fills as CSV.
    #[arg(long)]
    pub fills: Option<PathBuf>,
    /// Two reports (JSON) side by side: the figures that matter and their differences.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "events")]
    pub compare: Option<Vec<PathBuf>>,
}

pub fn command(args: &ReportArgs) -> i32 {
    match run(args) {
        Ok(()) => exit_code::CLEAN,
        Err(e) => {
            crate::logging::fatal(&format!("report: {e:#}"));
            exit_code::COULD_NOT_START
        }
    }
}

fn read_report(p: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    let json: Value = serde_json::from_str(&text).with_context(|| format!("{}: not JSON", p.display()))?;
    if let Some(runs) = json.get("runs").and_then(Value::as_array) {
        anyhow::bail!(
            "{}: a sweep's {} runs; --compare takes one run's report (a backtest without --sweep)",
            p.display(),
            runs.len()
        );
    }
    serde_json::from_value(json).with_context(|| format!("{}: not a report", p.display()))
}

fn run(args: &ReportArgs) -> anyhow::Result<()> {
    if let Some(pair) = &args.compare {
        let (a, b) = (read_report(&pair[0])?, read_report(&pair[1])?);
        let name = |p: &Path| p.file_stem().map_or("?".into(), |s| s.to_string_lossy().into_owned());
        print!("{}", backtest::report::compare::compare(&a, &b, &name(&pair[0]), &name(&pair[1])));
        return Ok(());
    }
    let events = args.events.as_ref().context("an events file")?;
    let market = args.market.clone().or_else(|| {
        let beside = events.parent()?.join("market");
        beside.is_dir().then_some(beside)
    });
    let (report, collect) = from_events(events, market.as_deref())?;
    if let Some(p) = &args.report {
        std::fs::write(p, report.to_json()).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &args.fills {
        std::fs::write(p, backtest::report::fills_csv::fills_csv(&collect.fills)).with_context(|| format!("writing {}", p.display()))?;
    }
    print!("{}", backtest::report::summary::summary(&report));
    Ok(())
}

/// Per symbol, the mid each time it changed: (local ms, mid).
type Mids = HashMap<String, Vec<(u64, Decimal)>>;

/// Per symbol, the mid each time it changed, on the tape's receive (local) clock; and the market
/// events read (as a backtest of the tape counts them).
fn mids_from(dir: &Path) -> anyhow::Result<(Mids, u64)> {
    let files = super::recordings::under(dir);
    if files.is_empty() {
        return Ok((HashMap::new(), 0));
    }
    let mut books: HashMap<String, Book> = HashMap::new();
    let mut mids: Mids = HashMap::new();
    let mut events = 0;
    for item in Tape::open(&files)? {
        events += 1;
        let Kind::Book(f) = &item.event.kind else { continue };
        let book = books.entry(f.symbol.clone()).or_default();
        if book.apply(f).is_err() {
            continue;
        }
        if let (Some(b), Some(a)) = (book.best_bid(), book.best_ask()) {
            let mid = (b + a) / Decimal::TWO;
            let v = mids.entry(f.symbol.clone()).or_default();
            let t = item.local_ns / 1_000_000;
            if v.last().is_none_or(|(_, m)| *m != mid) {
                v.push((t.max(v.last().map_or(0, |(lt, _)| *lt)), mid));
            }
        }
    }
    Ok((mids, events))
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_f64().and_then(|f| Decimal::try_from(f).ok()))
        .unwrap_or_default()
}

pub fn from_events(events: &Path, market: Option<&Path>) -> anyhow::Result<(Report, Collector)> {
    let text = std::fs::read_to_string(events).with_context(|| format!("reading {}", events.display()))?;
    let (mids, market_events) = match market {
        Some(dir) => mids_from(dir)?,
        None => (HashMap::new(), 0),
    };
    let mut mode = String::from("run");
    let mut symbols: Vec<String> = Vec::new();
    let mut requests: BTreeMap<String, u64> = BTreeMap::new();
    // The recorder notes each order, not each batch: every order counts as one request here.
    let mut budget = BudgetUse::new(None);
    // Live orders per symbol and side: link id → side.
    let mut live: HashMap<String, (String, Side)> = HashMap::new();
    let mut fills = Vec::new();
    let mut quoted: BTreeMap<String, (u64, bool, u64, u64)> = BTreeMap::new();
    let (mut first, mut last) = (None::<u64>, 0u64);
    for (n, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).with_context(|| format!("{}: line {}", events.display(), n + 1))?;
        let t = v["ts_ms"].as_u64().unwrap_or(0);
        first.get_or_insert(t);
        last = last.max(t);
        match v["kind"].as_str().unwrap_or("") {
            "started" => {
                mode = v["mode"].as_str().unwrap_or("run").to_string();
                symbols = v["symbols"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect();
            }
            "order_sent" => {
                let action = v["action"].as_str().unwrap_or("").to_string();
                *requests.entry(action.clone()).or_default() += 1;
                budget.sent(&action, 1, t);
                if action == "create" {
                    let side = if v["side"] == "Buy" { Side::Buy } else { Side::Sell };
                    live.insert(
                        v["link_id"].as_str().unwrap_or("").to_string(),
                        (v["symbol"].as_str().unwrap_or("").to_string(), side),
                    );
                }
            }
            "order_closed" | "order_rejected" => {
                live.remove(v["link_id"].as_str().unwrap_or(""));
            }
            "fill" => {
                let symbol = v["symbol"].as_str().unwrap_or("").to_string();
                let price = dec(&v["price"]);
                let empty = Vec::new();
                let mid = mid_at(mids.get(&symbol).unwrap_or(&empty), t).unwrap_or(price);
                fills.push(Fill {
                    at_ms: t,
                    symbol,
                    link_id: v["link_id"].as_str().unwrap_or("").to_string(),
                    side: if v["side"] == "Buy" { Side::Buy } else { Side::Sell },
                    price,
                    qty: dec(&v["qty"]),
                    fee: dec(&v["fee"]),
                    mid,
                });
            }
            _ => continue,
        }
        // Both sides quoted, per symbol, time-weighted between events.
        for s in &symbols {
            let two = [Side::Buy, Side::Sell]
                .iter()
                .all(|side| live.values().any(|(sym, sd)| sym == s && sd == side));
            let e = quoted.entry(s.clone()).or_insert((t, false, 0, 0));
            let dt = t.saturating_sub(e.0);
            e.3 += dt;
            if e.1 {
                e.2 += dt;
            }
            *e = (t, two, e.2, e.3);
        }
    }
    if symbols.is_empty() {
        bail!("{}: no `started` line: not a recorder file", events.display());
    }
    let mut collect = Collector::new(&symbols);
    collect.events = market_events;
    collect.first_ms = first;
    collect.last_ms = last.max(mids.values().filter_map(|m| m.last().map(|(t, _)| *t)).max().unwrap_or(0));
    for (s, m) in &mids {
        if let Some(r) = collect.symbols.get_mut(s) {
            r.mids = m.clone();
        }
    }
    for (s, (_, _, q, o)) in quoted {
        if let Some(r) = collect.symbols.get_mut(&s) {
            r.quoted_ms = q;
            r.observed_ms = o;
        }
    }
    for f in &fills {
        collect.record_fill(f);
    }
    let report = Report::from_parts(Parts {
        source: &mode,
        data: vec![events.display().to_string()],
        collect: &collect,
        requests,
        deferred: 0,
        budget: budget.report(),
        kill_switch: None,
        settings: serde_json::json!({"market_tape": market.map(|m| m.display().to_string())}),
        missing: &[],
        data_quality: Vec::new(),
        wall_ms: 0,
    });
    Ok((report, collect))
}
