//! `--sweep KEY=V1,V2 …`: the grid of every combination, each a backtest of the config with
//! those keys set (any key of the config file, e.g. `strategy.spread_bps`), run on every core;
//! a table ranked by PnL with drawdown and markouts beside it, and every run's report in one
//! JSON file. Runs are independent and their order fixed, so the table is the same every time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context as _};
use backtest::Report;

use super::backtest::BacktestArgs;
use super::progress::SweepProgress;
use super::settings::{settings, VenueFlags};
use crate::config::{Config, Overrides};

/// `strategy.spread_bps=4,6` → ("strategy.spread_bps", [4, 6]) as TOML values.
fn parse_sweep(spec: &str) -> anyhow::Result<(String, Vec<toml::Value>)> {
    let Some((key, values)) = spec.split_once('=') else {
        bail!("--sweep {spec:?}: expected KEY=V1,V2,…");
    };
    let values = values
        .split(',')
        .map(|v| {
            toml::from_str::<toml::Table>(&format!("x = {v}"))
                .ok()
                .and_then(|t| t.get("x").cloned())
                .unwrap_or_else(|| toml::Value::String(v.to_string()))
        })
        .collect();
    Ok((key.to_string(), values))
}

fn set(table: &mut toml::Table, key: &str, value: toml::Value) -> anyhow::Result<()> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().context("an empty key")?;
    let mut t = table;
    for p in parts {
        t = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()))
            .as_table_mut()
            .with_context(|| format!("{key}: {p} is not a table"))?;
    }
    t.insert(last.to_string(), value);
    Ok(())
}

/// Every combination, as (the values set, in key order).
fn grid(sweeps: &[(String, Vec<toml::Value>)]) -> Vec<Vec<(String, toml::Value)>> {
    let mut out: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for (key, values) in sweeps {
        out = out
            .into_iter()
            .flat_map(|combo| {
                values.iter().map(move |v| {
                    let mut c = combo.clone();
                    c.push((key.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    out
}

fn config_with(text: &str, combo: &[(String, toml::Value)], overrides: &Overrides) -> anyhow::Result<Config> {
    let mut table: toml::Table = toml::from_str(text)?;
    for (k, v) in combo {
        set(&mut table, k, v.clone())?;
    }
    let mut c: Config = toml::Value::Table(table).try_into().context("the swept config")?;
    overrides.apply(&mut c);
    let problems = crate::config::validate::validate(&c);
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(c)
}

pub fn run(args: &BacktestArgs, overrides: &Overrides, flags: &VenueFlags) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let sweeps: Vec<_> = args.sweeps.iter().map(|s| parse_sweep(s)).collect::<anyhow::Result<_>>()?;
    let combos = grid(&sweeps);
    let configs: Vec<Config> = combos
        .iter()
        .map(|c| config_with(&text, c, overrides))
        .collect::<anyhow::Result<_>>()?;
    let results: Mutex<Vec<Option<anyhow::Result<Report>>>> = Mutex::new((0..combos.len()).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(combos.len());
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = SweepProgress::new(combos.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= combos.len() {
                    break;
                }
                let show = |events, fraction| progress.show(i, events, fraction);
                let r = settings(&configs[i], flags).and_then(|s| {
                    let run = backtest::engine::run_full(&s, &args.data, false, terminal.then_some(&show as _))?;
                    Ok(run.report)
                });
                if terminal {
                    progress.show(i, r.as_ref().map_or(0, |r| r.events), 1.0);
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    if terminal {
        eprintln!();
    }
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut rows = Vec::new();
    for (combo, r) in combos.iter().zip(results) {
        let r = r.context("a run that never ran")?.with_context(|| label(combo))?;
        rows.push((combo.clone(), r));
    }
    let json = serde_json::json!({
        "runs": rows.iter().map(|(combo, r)| serde_json::json!({
            "params": combo.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default())).collect::<serde_json::Map<_, _>>(),
            "report": r,
        })).collect::<Vec<_>>()
    });
    std::fs::write(&args.report, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("writing {}", args.report.display()))?;
    print!("{}", table(&rows));
    println!("  report: {}", args.report.display());
    Ok(())
}

fn label(combo: &[(String, toml::Value)]) -> String {
    combo.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// The runs ranked by PnL (ties: grid order).
fn table(rows: &[(Vec<(String, toml::Value)>, Report)]) -> String {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|a, b| rows[*b].1.pnl.total.total_cmp(&rows[*a].1.pnl.total).then(a.cmp(b)));
    let mut out = format!(
        "{:<4} {:<40} {:>12} {:>10} {:>7} {:>9} {:>9} {:>8}\n",
        "rank", "settings", "PnL", "drawdown", "fills", "mk 1s", "mk 60s", "uptime"
    );
    for (rank, i) in order.iter().enumerate() {
        let (combo, r) = &rows[*i];
        let mk = |h: &str| r.markouts_bps.get(h).copied().flatten().map_or("–".into(), |x| format!("{x:+.3}"));
        out += &format!(
            "{:<4} {:<40} {:>12.4} {:>10.4} {:>7} {:>9} {:>9} {:>7.1}%\n",
            rank + 1,
            label(combo),
            r.pnl.total,
            r.max_drawdown,
            r.fills,
            mk("1s"),
            mk("60s"),
            r.quote_uptime * 100.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_is_every_combination_in_key_order() {
        let sweeps = vec![
            parse_sweep("strategy.spread_bps=4,6").unwrap(),
            parse_sweep("strategy.levels=2,4").unwrap(),
        ];
        let g = grid(&sweeps);
        assert_eq!(g.len(), 4);
        assert_eq!(label(&g[1]), "strategy.spread_bps=4 strategy.levels=4");
        let mut t: toml::Table = toml::from_str("[strategy]\nlevels = 1\n").unwrap();
        set(&mut t, "strategy.levels", toml::Value::Integer(3)).unwrap();
        assert_eq!(t["strategy"]["levels"].as_integer(), Some(3));
    }
}
