//! Soak run: paper trading on bybit-sim with an active market (50 book updates/s per symbol) for
//! a given duration, with SIGTERM + restart every K seconds on the same data directory and
//! control port. Samples RSS, open fds, threads and CPU of the running mmbot, counts the bot's
//! orders left after each exit (must be 0) and the time each restart took to quote again, writes
//! a CSV and prints a markdown summary with the leak verdict (slope of RSS).
//!
//!   soak DURATION_S RESTART_EVERY_S SAMPLE_EVERY_S CSV_PATH

mod kit;

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use bybit_sim::testkit::Client;

const KEY: &str = "soak-key";
const SECRET: &str = "soak-secret";
const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

fn proc_sample(pid: u32) -> Option<(u64, u64, u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let cpu = (f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?) as f64 / 100.0;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((field("VmRSS:")?, fds, field("Threads:")?, cpu))
}

fn spawn_bot(config: &std::path::Path) -> Child {
    kit::mmbot_run(config, KEY, SECRET, "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("target/release/mmbot (cargo build --release)")
}

fn main() {
    let a: Vec<u64> = std::env::args().skip(1).take(3).map(|s| s.parse().expect("numbers")).collect();
    let (duration, every, sample_every) = (
        a.first().copied().unwrap_or(180),
        a.get(1).copied().unwrap_or(60),
        a.get(2).copied().unwrap_or(2),
    );
    let csv_path = std::env::args().nth(4).unwrap_or_else(|| "target/soak.csv".into());
    let sim = kit::active_sim(KEY, SECRET);
    let control = kit::free_control_addr();
    let (_dir, config) = kit::paper_run(
        "soak",
        &sim,
        &control,
        "[order_manager]\nlink_prefix = \"soak\"\n[monitor]\ninterval_ms = 5000\n",
    );
    let mut csv = std::fs::File::create(&csv_path).unwrap();
    writeln!(csv, "seconds,run,rss_kb,fds,threads,cpu_s").unwrap();
    // A fresh client per query: a pooled connection would not survive between block_on calls.
    let client = || Client::new(&sim.rest_url(), KEY, SECRET);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    let t0 = Instant::now();
    let mut run = 0;
    let mut restarts = Vec::new(); // (time to quote ms, exit code, orphans)
    let mut samples: Vec<(f64, f64)> = Vec::new();
    while t0.elapsed() < Duration::from_secs(duration) {
        run += 1;
        let spawned = Instant::now();
        let mut child = spawn_bot(&config);
        let quote_ms = local.block_on(&rt, async {
            loop {
                let n = client()
                    .open_orders_with_prefix(&SYMBOLS, "soak")
                    .await
                    .map(|v| v.len())
                    .unwrap_or(0);
                if n >= 24 {
                    return spawned.elapsed().as_millis();
                }
                if spawned.elapsed() > Duration::from_secs(30) {
                    return u128::MAX;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let run_end = (t0.elapsed() + Duration::from_secs(every)).min(Duration::from_secs(duration));
        while t0.elapsed() < run_end {
            if let Some((rss, fds, threads, cpu)) = proc_sample(child.id()) {
                let s = t0.elapsed().as_secs_f64();
                writeln!(csv, "{s:.1},{run},{rss},{fds},{threads},{cpu:.2}").unwrap();
                if spawned.elapsed() > Duration::from_secs(5) {
                    samples.push((s, rss as f64));
                }
            }
            std::thread::sleep(Duration::from_secs(sample_every));
        }
        // SAFETY: kill(2) on our own child with a valid signal.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let code = child.wait().map(|s| s.code().unwrap_or(-1)).unwrap_or(-1);
        let orphans = local
            .block_on(&rt, async {
                client().open_orders_with_prefix(&SYMBOLS, "soak").await.map(|v| v.len())
            })
            .unwrap_or_else(|e| panic!("the exchange did not answer: {e}"));
        restarts.push((quote_ms, code, orphans));
        eprintln!("run {run}: quoting after {quote_ms} ms, exit {code}, {orphans} orders left");
    }
    // Least-squares slope of RSS over time (KB per minute).
    let n = samples.len() as f64;
    let (mx, my) = (
        samples.iter().map(|s| s.0).sum::<f64>() / n,
        samples.iter().map(|s| s.1).sum::<f64>() / n,
    );
    let slope = samples.iter().map(|(x, y)| (x - mx) * (y - my)).sum::<f64>()
        / samples.iter().map(|(x, _)| (x - mx).powi(2)).sum::<f64>().max(1e-9)
        * 60.0;
    let growth = slope * duration as f64 / 60.0;
    let verdict = if growth.abs() < 0.10 * my {
        "flat (no leak)"
    } else {
        "GROWING: investigate"
    };
    let orphans: usize = restarts.iter().map(|r| r.2).sum();
    let quote = restarts.iter().map(|r| r.0).max().unwrap_or(0);
    println!(
        "| duration | runs (restarts) | orphans after exits | exit codes | slowest restart to quote | mean RSS | RSS slope | verdict |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let codes: Vec<String> = restarts.iter().map(|r| r.1.to_string()).collect();
    println!(
        "| {duration} s | {run} ({}) | {orphans} | {} | {quote} ms | {:.1} MB | {slope:+.1} KB/min | {verdict} |",
        run - 1,
        codes.join(","),
        my / 1024.0
    );
    println!("\nsamples: {csv_path}");
}
