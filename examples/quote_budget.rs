//! Quoting under Bybit's rate budget, measured from outside the bot (see bench/quote_budget.sh).
//!
//! `quote_budget sim SECONDS LEVELS VOLATILITY_BPS`: the release `mmbot` against a bybit-sim at
//! Bybit's default budgets (10 order-units/s per endpoint and account, 50 reads/s, 600 requests
//! per 5 s per IP), 3 symbols × LEVELS levels a side, a random walk of VOLATILITY_BPS per 100 ms.
//! Every 200 ms it asks the exchange where the bot's best bid and ask are; at the end, the
//! exchange's counters: order requests per second, units refused with 10006, amends that changed
//! nothing, and how far the quote centre sat from the last price (p50/p95, bps).
//!
//! `quote_budget paper SECONDS`: `mmbot` exactly as a new user runs it (config/default.toml, or
//! `MMBOT_CONFIG`; the embedded simulator), read through its own `/metrics`: requests per second
//! and rejections.

mod kit;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bybit_sim::testkit::{percentile, quote_centre_distances_bps, Admin};
use bybit_sim::SimConfig;

const KEY: &str = "budget-key";
const SECRET: &str = "budget-secret";

fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("mmbot-budget-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stop(mut child: Child) -> i32 {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().map(|s| s.code().unwrap_or(-1)).unwrap_or(-1)
}

fn is_order_write(path: &str) -> bool {
    path.starts_with("/v5/order/") && !matches!(path, "/v5/order/realtime" | "/v5/order/history")
}

async fn run_sim(seconds: u64, levels: u32, volatility_bps: f64) {
    let mut cfg = SimConfig {
        accounts: vec![(KEY.into(), SECRET.into())],
        ..Default::default()
    };
    cfg.market.volatility_bps = volatility_bps;
    let sim = bybit_sim::spawn(cfg).expect("sim");
    let dir = temp_dir();
    let control = kit::free_control_addr();
    let config = format!(
        r#"mode = "paper"
symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
[exchange]
rest_url = "{}"
ws_public_url = "{}"
ws_private_url = "{}"
[strategy]
levels = {levels}
[order_manager]
link_prefix = "budget"
[control]
listen = "{control}"
[recorder]
dir = "{}"
"#,
        sim.rest_url(),
        sim.ws_public_url(),
        sim.ws_private_url(),
        dir.join("data").display()
    );
    std::fs::write(dir.join("mmbot.toml"), config).unwrap();
    let child = kit::mmbot_run(&dir.join("mmbot.toml"), KEY, SECRET, "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
        .spawn()
        .expect("mmbot binary (cargo build --release)");
    let admin = Admin::new(&sim.rest_url());
    let started = Instant::now();
    let mut distances = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The first seconds place the ladder; the centre counts once quoting is under way.
        if started.elapsed() > Duration::from_secs(5) {
            distances.extend(quote_centre_distances_bps(&admin.stats().await, 0));
        }
    }
    let stats = admin.stats().await;
    let exit = stop(child);
    let requests: BTreeMap<String, u64> = serde_json::from_value(stats["requests"].clone()).unwrap_or_default();
    let order_requests: u64 = requests.iter().filter(|(p, _)| is_order_write(p)).map(|(_, n)| n).sum();
    let account = &stats["accounts"][0];
    println!(
        "| 3 × {levels} levels, {volatility_bps} bps/tick, {seconds} s | {:.1} | {} | {} | {:.2} | {:.2} | {} | {exit} |",
        order_requests as f64 / seconds as f64,
        account["rate_limited_units"],
        account["amends_unchanged"],
        percentile(&distances, 50.0),
        percentile(&distances, 95.0),
        stats["ip_banned"],
    );
    for (p, n) in requests.iter().filter(|(p, _)| is_order_write(p)) {
        eprintln!("  {p}: {:.2}/s", *n as f64 / seconds as f64);
    }
    let log = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
    for line in log.lines().filter(|l| l.contains("10006")).take(3) {
        eprintln!("  bot: {line}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Sum of a counter family's samples whose labels contain every one of `with`.
fn counter_sum(metrics: &str, name: &str, with: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && with.iter().all(|w| l.contains(w)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn run_paper(seconds: u64) {
    let dir = temp_dir();
    let control = kit::free_control_addr();
    let child = Command::new(kit::mmbot_bin())
        .args(["run", "--config"])
        .arg(std::env::var("MMBOT_CONFIG").unwrap_or_else(|_| "config/default.toml".into()))
        .env("MMBOT_CONTROL_LISTEN", &control)
        .env("MMBOT_DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
        .spawn()
        .expect("mmbot binary (cargo build --release)");
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let metrics = bybit_sim::testkit::scrape_metrics(&control).await;
    assert!(!metrics.is_empty(), "the control server answers /metrics");
    let exit = stop(child);
    let writes: f64 = ["create", "amend", "cancel"]
        .iter()
        .map(|k| counter_sum(&metrics, "mmbot_rest_requests_total", &[&format!("endpoint=\"/v5/order/{k}")]))
        .sum();
    let limited = (counter_sum(&metrics, "mmbot_rest_requests_total", &["outcome=\"10006\""])
        + counter_sum(&metrics, "mmbot_orders_rejected_total", &["code=\"10006\""])) as u64;
    let log = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
    let warns: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    for w in warns.iter().take(3) {
        eprintln!("  {w}");
    }
    let warns = warns.len();
    println!(
        "| default paper run, {seconds} s | {:.1} | {limited} | {warns} | {exit} |",
        writes / seconds as f64
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> T {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let system = actix_rt::System::new();
    match args.get(1).map(String::as_str) {
        Some("paper") => system.block_on(run_paper(arg(&args, 2, 600))),
        Some("sim") => system.block_on(run_sim(arg(&args, 2, 60), arg(&args, 3, 8), arg(&args, 4, 2.0))),
        _ => {
            eprintln!("usage: quote_budget sim SECONDS LEVELS VOLATILITY_BPS | quote_budget paper SECONDS");
            std::process::exit(2);
        }
    }
}
