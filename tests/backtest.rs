//! `mmbot backtest` and `mmbot report` through the real binary, on the shared real captures
//! (imported here from `../shared/market-data`, never copied in): the same inputs give the same
//! report byte for byte (but `wall_ms`), with every figure the report promises, its fills as CSV
//! and a chart; a sweep ranks its grid by PnL; a paper run's recorder file reads as the same
//! report, and the two compare side by side.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::captures::import_capture;
use support::replay::{replay_sim, wait_replay_end};
use support::*;

/// Quotes at the touch on SOLUSDT, so the capture's trades fill some.
fn config(dir: &Path) -> PathBuf {
    let path = dir.join("bt.toml");
    std::fs::write(
        &path,
        r#"mode = "paper"
symbols = ["SOLUSDT"]
[strategy]
levels = 2
spread_bps = 1
level_step_bps = 1
order_notional = 50
min_requote_ms = 200
[paper]
queue_model = "risk_averse"
order_latency_ms = 20
feed_latency_ms = 10
"#,
    )
    .unwrap();
    path
}

fn mmbot(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mmbot")).args(args).output().expect("mmbot runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `mmbot backtest --config CFG --data DATA --report REPORT EXTRA…`.
fn backtest(cfg: &Path, data: &Path, report: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "backtest",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    mmbot(&args)
}

fn without_wall_ms(json: &str) -> String {
    json.lines()
        .filter(|l| !l.trim_start().starts_with("\"wall_ms\""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_backtest_is_the_same_every_time_and_reports_every_figure() {
    let dir = temp_dir("backtest");
    let files = import_capture("cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst", &dir.join("market"));
    let cfg = config(&dir);
    let mut reports = Vec::new();
    for run in 0..2 {
        let report = dir.join(format!("report-{run}.json"));
        let (fills, chart) = (dir.join("fills.csv"), dir.join("chart.svg"));
        let extra = ["--fills", fills.to_str().unwrap(), "--chart", chart.to_str().unwrap()];
        let (code, out, err) = backtest(&cfg, &files["SOLUSDT"], &report, &extra);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("PnL") && out.contains("markouts"), "a summary on stdout: {out}");
        reports.push(std::fs::read_to_string(&report).unwrap());
        let r: Value = serde_json::from_str(&reports[run]).unwrap();
        for key in [
            "events",
            "fills",
            "volume",
            "pnl",
            "markouts_bps",
            "max_inventory",
            "max_drawdown",
            "requests",
            "deferred",
            "wall_ms",
        ] {
            assert!(r.get(key).is_some(), "the report has {key}: {r}");
        }
        for part in ["total", "spread_capture", "inventory", "fees", "funding"] {
            assert!(r["pnl"][part].is_number(), "pnl.{part}");
        }
        for h in ["1s", "5s", "30s", "60s"] {
            assert!(r["markouts_bps"].get(h).is_some(), "markout {h}");
        }
        let fills_n = r["fills"].as_u64().unwrap();
        assert!(fills_n > 0, "the capture's trades filled quotes at the touch: {r}");
        assert!(r["events"].as_u64().unwrap() > 300);
        let csv = std::fs::read_to_string(&fills).unwrap();
        assert!(csv.starts_with("time_ms,symbol,side,price,qty,fee,mid,link_id\n"));
        assert_eq!(csv.lines().count() as u64, fills_n + 1, "one row per fill");
        let svg = std::fs::read_to_string(&chart).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("polyline") && svg.contains("circle"),
            "a chart with fills"
        );
        // Every request is in the budget's count, and the governor kept each second within its limit.
        let budget = &r["budget"]["endpoints"];
        for (endpoint, n) in r["requests"].as_object().unwrap() {
            let e = &budget[endpoint];
            assert_eq!(&e["requests"], n, "{endpoint}: {e}");
            let (units, peak, limit) = (
                e["units"].as_u64().unwrap(),
                e["peak_units_per_s"].as_u64().unwrap(),
                e["limit_per_s"].as_u64().unwrap(),
            );
            assert!(units >= n.as_u64().unwrap() && peak >= 1 && peak <= units, "{endpoint}: {e}");
            assert!(peak <= limit, "{endpoint}: the busiest second {peak} is within the limit {limit}");
        }
        assert!(r["budget"]["peak_requests_per_5s"].as_u64().unwrap() >= 1);
        // The parts add up to the total.
        let p = &r["pnl"];
        let sum: f64 = ["spread_capture", "inventory", "fees", "funding"]
            .iter()
            .map(|k| p[*k].as_f64().unwrap())
            .sum();
        assert!((sum - p["total"].as_f64().unwrap()).abs() < 1e-5, "{p}");
    }
    assert_eq!(
        without_wall_ms(&reports[0]),
        without_wall_ms(&reports[1]),
        "the same inputs, the same report"
    );
}

/// The README's flow on a recording of fewer symbols than the shipped config quotes: `--symbols`
/// picks them, and the config's quoting for a symbol left out does not stand in the way; without
/// it, the symbols the recording lacks are named, not counted as zeros.
#[test]
fn the_shipped_config_backtests_the_symbols_a_recording_has() {
    let dir = temp_dir("backtest-symbols");
    let files = import_capture("cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst", &dir.join("market"));
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    let report = dir.join("bt.json");
    let (code, out, err) = backtest(&shipped, &files["SOLUSDT"], &report, &["--symbols", "SOLUSDT"]);
    assert_eq!(code, 0, "{out}{err}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(json["events"].as_u64().unwrap() > 0, "{json}");
    assert!(json["requests"].as_object().is_some_and(|r| !r.is_empty()), "it quoted: {json}");
    // Without --symbols the shipped config's BTCUSDT and ETHUSDT have no data here: they are
    // named as not backtested, left out of the averages (SOLUSDT alone, quoted all along), not
    // reported as a day of zeros.
    let (code, out, err) = backtest(&shipped, &files["SOLUSDT"], &report, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let partial: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(partial["missing_symbols"], serde_json::json!(["BTCUSDT", "ETHUSDT"]), "{partial}");
    assert_eq!(partial["symbols"], serde_json::json!(["SOLUSDT"]));
    assert_eq!(partial["quote_uptime"], json["quote_uptime"], "the same as SOLUSDT alone");
    assert!(
        out.contains("not backtested, no market data in the recordings: BTCUSDT, ETHUSDT"),
        "{out}"
    );
    assert!(err.contains("no market data for BTCUSDT, ETHUSDT"), "{err}");
    // None of them there: refused, nothing reported as if it ran.
    let nothing = dir.join("nothing.json");
    let (code, _, err) = backtest(&shipped, &files["SOLUSDT"], &nothing, &["--symbols", "BTCUSDT"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("no market data for BTCUSDT in the recordings: nothing was backtested"),
        "{err}"
    );
    assert!(!nothing.exists());
    // The recordings' directory stands for every recording under it (the backtest's hidden
    // caches beside them left out).
    let (code, out, err) = backtest(&shipped, &dir.join("market"), &report, &["--symbols", "SOLUSDT"]);
    assert_eq!(code, 0, "{out}{err}");
    let whole: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let read: Vec<&str> = whole["data_quality"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(read.len(), 2, "SOLUSDT's and DOGEUSDT's recordings: {read:?}");
    assert!(read.iter().all(|f| f.ends_with(".gz")), "{read:?}");
    // The live example config backtests as it is: offline, its control token is not asked for.
    let live = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/live.example.toml");
    let (code, out, err) = backtest(&live, &files["SOLUSDT"], &report, &["--symbols", "SOLUSDT"]);
    assert_eq!(code, 0, "{out}{err}");
    // A report with nowhere to go is refused before the run, not after it.
    let nowhere = dir.join("no-such-dir").join("bt.json");
    let (code, out, err) = backtest(&shipped, &files["SOLUSDT"], &nowhere, &["--symbols", "SOLUSDT"]);
    assert_ne!(code, 0);
    assert!(err.contains("no directory") && !out.contains("backtest of"), "{out}{err}");
    // A config that cannot be read says so once, with its path and cause.
    let missing = dir.join("missing.toml");
    let (code, _, err) = backtest(&missing, &files["SOLUSDT"], &report, &[]);
    assert_ne!(code, 0);
    assert_eq!(err.matches("cannot read").count(), 1, "{err}");
    assert_eq!(err.matches("missing.toml").count(), 1, "{err}");
    assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
}

/// A recording cut short (a recorder killed mid-write) is backtested up to the cut, and the
/// report says where it was cut — also on the next run, read from the parsed cache, which logs
/// nothing of the file.
#[test]
fn a_recording_cut_short_is_reported_as_such_from_the_parse_and_from_the_cache() {
    let dir = temp_dir("backtest-cut");
    let files = import_capture("cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst", &dir.join("market"));
    let whole = std::fs::read(&files["SOLUSDT"]).unwrap();
    let cut = dir.join("cut.gz");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let cfg = config(&dir);
    for run in ["parsed", "cached"] {
        let report = dir.join(format!("{run}.json"));
        let (code, out, err) = backtest(&cfg, &cut, &report, &[]);
        assert_eq!(code, 0, "{run}: {out}{err}");
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let quality = &json["data_quality"][0];
        assert!(quality["truncated_after"].as_u64().is_some_and(|n| n > 1), "{run}: {json}");
        assert_eq!(quality["events"], json["events"], "{run}: every event read was backtested");
        assert!(out.contains("cut short: ") && out.contains("cut.gz after line"), "{run}: {out}");
    }
}

/// `--feed-latency-ms recorded` (as `[paper] feed_latency_ms = "recorded"` in a replay): each
/// frame reaches the bot after its own recorded latency — the same every run, and not the same
/// run as a constant latency.
#[test]
fn a_recorded_feed_latency_is_each_frames_own() {
    let dir = temp_dir("backtest-recorded-latency");
    let files = import_capture("cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst", &dir.join("market"));
    let cfg = config(&dir);
    let run = |latency: &str, name: &str| {
        let report = dir.join(name);
        let (code, out, err) = backtest(&cfg, &files["SOLUSDT"], &report, &["--feed-latency-ms", latency]);
        assert_eq!(code, 0, "{out}{err}");
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        json
    };
    let (a, b, none) = (run("recorded", "a.json"), run("recorded", "b.json"), run("0", "none.json"));
    assert_eq!(a["settings"]["feed_latency_ms"], "recorded");
    let figures = |r: &Value| {
        let mut r = r.clone();
        let o = r.as_object_mut().unwrap();
        o.remove("wall_ms");
        o.remove("settings");
        r
    };
    assert_eq!(figures(&a), figures(&b), "deterministic");
    assert_ne!(figures(&a), figures(&none), "the recorded latencies are not none");
    let (code, _, err) = backtest(&cfg, &files["SOLUSDT"], &dir.join("x.json"), &["--feed-latency-ms", "soon"]);
    assert_ne!(code, 0);
    assert!(err.contains("expected milliseconds or `recorded`"), "{err}");
}

#[test]
fn a_sweep_runs_the_grid_and_ranks_it_by_pnl() {
    let dir = temp_dir("backtest-sweep");
    let files = import_capture("cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst", &dir.join("market"));
    let cfg = config(&dir);
    let report = dir.join("sweep.json");
    let (code, out, err) = backtest(
        &cfg,
        &files["SOLUSDT"],
        &report,
        &["--sweep", "strategy.spread_bps=0.5,1,8", "--sweep", "strategy.levels=1,2"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("strategy.spread_bps=")).collect();
    assert_eq!(rows.len(), 6, "{out}");
    let pnl: Vec<f64> = rows.iter().map(|l| l.split_whitespace().nth(3).unwrap().parse().unwrap()).collect();
    assert!(pnl.windows(2).all(|w| w[0] >= w[1]), "ranked by PnL: {out}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 6);
    assert!(json["runs"][0]["params"]["strategy.spread_bps"].is_number());
    assert!(!err.contains('\r'), "no progress when stderr is not a terminal");
    // A sweep's file is not one run's report: --compare says so rather than what field it lacks.
    let (code, _, err) = mmbot(&["report", "--compare", report.to_str().unwrap(), report.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("a sweep's 6 runs"), "{err}");
    // A sweep has one report for its runs: a fills file or a chart for it is refused, not ignored.
    let (code, _, err) = backtest(
        &cfg,
        &files["SOLUSDT"],
        &report,
        &["--sweep", "strategy.levels=1,2", "--fills", "f.csv"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("--fills and --chart go with one run"), "{err}");
}

#[actix_rt::test]
async fn a_paper_runs_recorder_file_reads_as_the_same_report_and_compares_with_the_backtest() {
    let dir = temp_dir("report-paper");
    let files = import_capture("cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst", &dir.join("recording"));
    let sim = replay_sim(&files["SOLUSDT"], "SOLUSDT", 2.0);
    let mut bot = start_bot_in(
        dir.clone(),
        &sim,
        BotOptions {
            symbols: vec!["SOLUSDT"],
            levels: 2,
            recorder: "market = true",
            tail: "[strategy.symbols.SOLUSDT]\nspread_bps = 1\nlevel_step_bps = 1\n".into(),
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &["SOLUSDT"], 4, Duration::from_secs(30)).await;
    wait_replay_end(&sim, Duration::from_secs(60)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    let events = recorder_file(&dir).expect("a recorder file");
    // The run's own market tape backtested first: its parsed cache, kept beside the tape, is
    // not taken for a recording by the report that reads the tape after.
    let tape: Vec<PathBuf> = std::fs::read_dir(dir.join("data/market/SOLUSDT"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(tape.len(), 1, "{tape:?}");
    let cfg = dir.join("mmbot.toml");
    let own = dir.join("own-tape.json");
    let (code, out, err) = backtest(&cfg, &tape[0], &own, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let own: Value = serde_json::from_str(&std::fs::read_to_string(&own).unwrap()).unwrap();
    let paper = dir.join("paper.json");
    let (code, out, err) = mmbot(&["report", events.to_str().unwrap(), "--report", paper.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&paper).unwrap()).unwrap();
    assert_eq!(r["source"], "paper");
    assert!(r["fills"].as_u64().unwrap() > 0, "the run's fills: {r}");
    assert!(r["events"].as_u64().unwrap() > 0, "its market tape was read: {r}");
    assert_eq!(
        r["events"], own["events"],
        "market events read, counted as a backtest of the tape counts them"
    );
    assert!(r["markouts_bps"]["1s"].is_number(), "markouts from the tape: {r}");
    assert!(r["quote_uptime"].as_f64().unwrap() > 0.5, "{r}");
    // Every order the run sent is in its budget figures, one unit each.
    let sent: u64 = r["requests"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    let units: u64 = r["budget"]["endpoints"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| e["units"].as_u64().unwrap())
        .sum();
    assert!(sent > 0 && units == sent, "{r}");
    // The backtest of the same recording with the same quoting, side by side.
    let bt = dir.join("backtest.json");
    let (code, out, err) = backtest(&cfg, &files["SOLUSDT"], &bt, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = mmbot(&["report", "--compare", paper.to_str().unwrap(), bt.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    for row in [
        "fills",
        "PnL spread capture",
        "PnL fees",
        "markout 1s bps",
        "quote uptime",
        "order changes sent",
    ] {
        assert!(out.contains(row), "{row} compared: {out}");
    }
}
