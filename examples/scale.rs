//! Scale: the release `mmbot` quoting 20 symbols × 25 levels a side (1000 orders) against a
//! bybit-sim with 20 instruments, under Bybit's default budget (10 order units/s per endpoint
//! and account) and a PRO-like one (100/s). Measured from the exchange's side: startup to full
//! quotes, steady order requests/s, the bot's RSS, and after SIGTERM the time until the exchange
//! holds none of its orders and the time until the process exits. Prints one markdown row per
//! budget and cancel scope (bench/scale.sh; docs/benchmarks.md), with the bot's tick-to-request
//! percentiles from its /metrics, and on stderr each run's order-step report line.
//!   scale [STEADY_S=30] [FULL_QUOTES_LIMIT_S=240] [pro|default] [symbol|account|own]
//! On stderr, also the requests the exchange received after SIGTERM, per second and path;
//! `SCALE_KEEP=1` keeps each run's directory (report, log, recorder data); `SCALE_LOG` sets the
//! bot's RUST_LOG (default `error`); `SCALE_RTT_MS` adds a round trip to every request.

mod kit;

use std::time::{Duration, Instant};

use bybit_sim::testkit::{histogram_quantile, open_orders_of_first_account, watch_flat_and_exit, Admin};
use bybit_sim::SimConfig;
use serde_json::Value;

const KEY: &str = "scale-key";
const SECRET: &str = "scale-secret";
const SYMBOLS: usize = 20;
const LEVELS: usize = 25;

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn order_requests(stats: &Value) -> u64 {
    stats["requests"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(p, _)| p.starts_with("/v5/order/") || p.starts_with("/v5/trade:"))
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0)
}

fn config(sim: &bybit_sim::SimHandle, symbols: &[String], per_sec: u32, scope: &str, control: &str, data: &std::path::Path) -> String {
    let list = symbols.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(",");
    format!(
        r#"mode = "paper"
symbols = [{list}]
[exchange]
rest_url = "{rest}"
ws_public_url = "{public}"
ws_private_url = "{private}"
ws_trade_url = "{trade}"
connector_thread = "{connector}"
[exchange.rate_limits]
orders_per_sec = {per_sec}
[strategy]
levels = {LEVELS}
spread_bps = 20
level_step_bps = 2
order_notional = 20
[risk]
max_open_orders = 2000
max_position_notional = 1000000
max_total_notional = 10000000
max_drawdown = 0
[order_manager]
link_prefix = "scale"
cancel_scope = "{scope}"
{market_thread}[control]
listen = "{control}"
[recorder]
dir = "{data}"
"#,
        rest = sim.rest_url(),
        public = sim.ws_public_url(),
        private = sim.ws_private_url(),
        trade = sim.ws_trade_url(),
        data = data.display(),
        connector = kit::connector_thread(),
        market_thread = kit::market_thread_toml(),
    )
}

/// `SCALE_RTT_MS`: a round trip added to every `/v5/` request (REST and the trade socket), set
/// before the start so the bot measures the link it runs on.
fn rtt_ms() -> u64 {
    std::env::var("SCALE_RTT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// One budget: start, wait for full quotes, hold `steady` seconds, SIGTERM; one table row.
async fn run(name: &str, per_sec: u32, scope: &str, steady: Duration, full_limit: Duration) {
    let table = bybit_sim::market::instrument::instrument_table();
    let symbols: Vec<String> = table.iter().take(SYMBOLS).map(|i| i.symbol.clone()).collect();
    let mut cfg = SimConfig {
        accounts: vec![(KEY.into(), SECRET.into())],
        ..Default::default()
    }
    .with_symbols(&symbols)
    .expect("20 instruments in sim/instruments.toml");
    cfg.limits.orders_per_sec = per_sec;
    let sim = bybit_sim::spawn(cfg).expect("sim");
    let admin = Admin::new(&sim.rest_url());
    if rtt_ms() > 0 {
        admin.set_faults(&serde_json::json!({"latency_ms": {"*": rtt_ms()}})).await;
    }
    let dir = std::env::temp_dir().join(format!("mmbot-scale-{}-{per_sec}-{scope}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let control = kit::free_control_addr();
    std::fs::write(
        dir.join("mmbot.toml"),
        config(&sim, &symbols, per_sec, scope, &control, &dir.join("data")),
    )
    .unwrap();
    let started = Instant::now();
    let log = std::env::var("SCALE_LOG").unwrap_or_else(|_| "error".into());
    let mut child = kit::mmbot_run(&dir.join("mmbot.toml"), KEY, SECRET, &log)
        .stdout(std::fs::File::create(dir.join("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
        .spawn()
        .expect("mmbot binary (cargo build --release)");
    let wanted = (SYMBOLS * LEVELS * 2) as u64;
    let mut most = 0;
    let full = loop {
        let n = open_orders_of_first_account(&admin).await;
        most = most.max(n);
        if n >= wanted {
            break Some(started.elapsed());
        }
        if started.elapsed() > full_limit {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let before = order_requests(&admin.stats().await);
    let t = Instant::now();
    tokio::time::sleep(steady).await;
    let stats = admin.stats().await;
    let rate = (order_requests(&stats) - before) as f64 / t.elapsed().as_secs_f64();
    let refused = stats["accounts"][0]["rate_limited_units"].as_u64().unwrap_or(0);
    let resting = open_orders_of_first_account(&admin).await;
    let rss_mb = rss_kb(child.id()) as f64 / 1024.0;
    let metrics = bybit_sim::testkit::scrape_metrics(&control).await;
    let tick =
        |p| histogram_quantile(&metrics, "mmbot_tick_to_request_seconds", p).map_or("—".to_string(), |v| format!("{:.0}", v * 1e6));
    let samples = metrics
        .lines()
        .find(|l| l.starts_with("mmbot_tick_to_request_seconds_count"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or("0")
        .to_string();
    let tick = format!("{} / {} / {} µs ({samples})", tick(0.5), tick(0.99), tick(1.0));
    // SIGTERM: the exchange's view decides "flat"; the process's exit is the other clock.
    let sent = Instant::now();
    let sent_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let (flat, exited) = watch_flat_and_exit(&mut child, &admin, sent, Duration::from_secs(60), Duration::from_millis(2)).await;
    let _ = child.kill();
    let _ = child.wait();
    let ms = |d: Option<Duration>| d.map_or("—".to_string(), |d| format!("{:.0}", d.as_secs_f64() * 1000.0));
    println!(
        "| {name} ({per_sec}/s per endpoint) | {scope} | {} | {resting} | {rate:.1} | {refused} | {rss_mb:.1} | {tick} | {} | {} | {} |",
        full.map_or(format!("not within {} s (most {most})", full_limit.as_secs()), |d| format!(
            "{:.1} s",
            d.as_secs_f64()
        )),
        ms(flat),
        ms(exited.map(|e| e.0)),
        exited.map_or("—".into(), |e| e.1.to_string()),
    );
    // The report's order step: where the time between flat and exit went.
    let report = std::fs::read_to_string(dir.join("stdout.txt")).unwrap_or_default();
    if let Some(line) = report.lines().find(|l| l.contains("order_manager")) {
        eprintln!("{name}, {scope}: {}", line.trim());
    }
    // What reached the exchange after SIGTERM, per second and path: the shape of the flatten.
    let mut per_second: std::collections::BTreeMap<u64, std::collections::BTreeMap<String, u64>> = Default::default();
    for r in admin.requests(sent_us).await {
        let (Some(path), Some(at)) = (r["path"].as_str(), r["at_us"].as_u64()) else {
            continue;
        };
        let path = path.trim_start_matches("/v5/").to_string();
        *per_second
            .entry(at.saturating_sub(sent_us) / 1_000_000)
            .or_default()
            .entry(path)
            .or_default() += 1;
    }
    let before: Vec<Value> = admin.requests(sent_us.saturating_sub(5_000_000)).await;
    let window: Vec<u64> = before.iter().filter_map(|r| r["at_us"].as_u64()).collect();
    eprintln!(
        "  {name}, {scope}: {} requests in the 5 s before SIGTERM; most in any 5 s window up to the first 200 ms after: {}",
        window.iter().filter(|t| **t < sent_us).count(),
        window
            .iter()
            .filter(|t| **t < sent_us + 200_000)
            .map(|t| window.iter().filter(|u| **u <= *t && **u + 5_000_000 > *t).count())
            .max()
            .unwrap_or(0)
    );
    for (second, paths) in per_second {
        let paths: Vec<String> = paths.iter().map(|(p, n)| format!("{p} {n}")).collect();
        eprintln!("  {name}, {scope}, second {second} after SIGTERM: {}", paths.join(", "));
    }
    if std::env::var_os("SCALE_KEEP").is_some() {
        eprintln!("  kept {} (report in stdout.txt, recorder data in data/)", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
    sim.stop();
}

#[actix_rt::main]
async fn main() {
    let steady = Duration::from_secs(std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(30));
    let full_limit = Duration::from_secs(std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(240));
    println!(
        "## Scale: {SYMBOLS} symbols × {LEVELS} levels a side ({} orders), RTT {} ms, connector on the {} thread, {}\n",
        SYMBOLS * LEVELS * 2,
        rtt_ms(),
        kit::connector_thread(),
        kit::market_thread_label()
    );
    println!("| budget | cancel_scope | startup → full quotes | resting after {} s | order requests/s | units refused (10006) | RSS MB | tick → request p50 / p99 / max ≤ (samples) | SIGTERM → flat ms | SIGTERM → exit ms | exit |", steady.as_secs());
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let only = std::env::args().nth(3).unwrap_or_default();
    let scopes: Vec<String> = match std::env::args().nth(4) {
        Some(s) => vec![s],
        None => vec!["symbol".into(), "account".into()],
    };
    for scope in &scopes {
        if only.is_empty() || only == "pro" {
            run("PRO-like", 100, scope, steady, full_limit).await;
        }
        if only.is_empty() || only == "default" {
            run("Bybit default", 10, scope, steady, full_limit).await;
        }
    }
}
