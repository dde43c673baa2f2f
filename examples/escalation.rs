//! Escalation: the release `mmbot` with 24 orders on one symbol (12 levels a side, Bybit's
//! default budget of 10 units/s per endpoint), stopped by SIGTERM while a cancel path is sick,
//! at a simulated round trip of 0 and 50 ms (set before the start, so the bot has measured the
//! link it runs on). Per case: SIGTERM → the exchange holds none of the orders (flat), → the
//! order step's own verdict (verified flat, from the report), → the process's exit; p50 / max.
//!   escalation [RUNS=5]   (bench/escalation.sh; docs/benchmarks.md)

mod kit;

use std::time::{Duration, Instant};

use bybit_sim::testkit::{open_orders_of_first_account, watch_flat_and_exit, Admin};
use bybit_sim::SimConfig;
use serde_json::{json, Value};

const KEY: &str = "esc-key";
const SECRET: &str = "esc-secret";
const ORDERS: u64 = 24;

struct Case {
    name: &'static str,
    faults: Value,
}

struct Run {
    flat_ms: Option<f64>,
    verified_ms: Option<f64>,
    exit_ms: Option<f64>,
    code: Option<i32>,
    requests: String,
}

fn config(sim: &bybit_sim::SimHandle, control: &str, data: &std::path::Path) -> String {
    format!(
        r#"mode = "paper"
symbols = ["BTCUSDT"]
[exchange]
{urls}[strategy]
levels = 12
spread_bps = 20
level_step_bps = 2
order_notional = 20
[risk]
max_open_orders = 100
max_drawdown = 0
[order_manager]
link_prefix = "esc"
cancel_scope = "symbol"
[control]
listen = "{control}"
[recorder]
dir = "{data}"
"#,
        urls = kit::exchange_urls(sim),
        data = data.display(),
    )
}

/// The order step's time in the report: `1. order_manager   ok   812 ms  ...`.
fn order_step_ms(report: &str) -> Option<f64> {
    let line = report.lines().find(|l| l.contains("order_manager") && l.contains(" ms"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "ms")?;
    words.get(i.checked_sub(1)?)?.parse().ok()
}

async fn once(case: &Case, rtt_ms: u64, n: usize) -> Run {
    let sim = bybit_sim::spawn(SimConfig {
        accounts: vec![(KEY.into(), SECRET.into())],
        ..Default::default()
    })
    .expect("sim");
    let admin = Admin::new(&sim.rest_url());
    if rtt_ms > 0 {
        admin.set_faults(&json!({"latency_ms": {"*": rtt_ms}})).await;
    }
    let dir = std::env::temp_dir().join(format!("mmbot-escalation-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let control = kit::free_control_addr();
    std::fs::write(dir.join("mmbot.toml"), config(&sim, &control, &dir.join("data"))).unwrap();
    let mut child = kit::mmbot_run(&dir.join("mmbot.toml"), KEY, SECRET, "error")
        .stdout(std::fs::File::create(dir.join("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
        .spawn()
        .expect("mmbot binary (cargo build --release)");
    let started = Instant::now();
    while open_orders_of_first_account(&admin).await < ORDERS && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A second of quoting at this round trip: the bot's measured p99 is the link's.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut faults = case.faults.clone();
    if rtt_ms > 0 {
        faults["latency_ms"] = json!({"*": rtt_ms});
    }
    admin.set_faults(&faults).await;
    let sent_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let sent = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let (flat, exited) = watch_flat_and_exit(&mut child, &admin, sent, Duration::from_secs(60), Duration::from_millis(1)).await;
    let _ = child.kill();
    let _ = child.wait();
    let report = std::fs::read_to_string(dir.join("stdout.txt")).unwrap_or_default();
    let mut paths: std::collections::BTreeMap<String, u64> = Default::default();
    for r in admin.requests(sent_us).await {
        if let Some(p) = r["path"].as_str().filter(|p| p.contains("cancel")) {
            *paths.entry(p.trim_start_matches("/v5/order/").to_string()).or_default() += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    sim.stop();
    Run {
        flat_ms: flat.map(|d| d.as_secs_f64() * 1000.0),
        verified_ms: order_step_ms(&report),
        exit_ms: exited.map(|e| e.0.as_secs_f64() * 1000.0),
        code: exited.map(|e| e.1),
        requests: paths.iter().map(|(p, n)| format!("{p} {n}")).collect::<Vec<_>>().join(", "),
    }
}

/// `p50 / max` of what was measured.
fn spread(v: impl Iterator<Item = Option<f64>>) -> String {
    let mut v: Vec<f64> = v.flatten().collect();
    if v.is_empty() {
        return "—".into();
    }
    v.sort_by(|a, b| a.total_cmp(b));
    format!("{:.0} / {:.0}", v[(v.len() - 1) / 2], v[v.len() - 1])
}

#[actix_rt::main]
async fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let cases = [
        Case {
            name: "none",
            faults: json!({}),
        },
        Case {
            name: "cancel-all hangs",
            faults: json!({"hang": ["/v5/order/cancel-all"]}),
        },
        Case {
            name: "cancel-all answers 502",
            faults: json!({"error_5xx": ["/v5/order/cancel-all"]}),
        },
        Case {
            name: "cancel-all answers 10006",
            faults: json!({"rate_limit": ["/v5/order/cancel-all"]}),
        },
    ];
    println!("## Escalation: 24 orders on one symbol, Bybit's default budget, {runs} runs each\n");
    println!("| fault | RTT | SIGTERM → flat ms | → verified flat ms | → exit ms | exit codes | cancel requests (last run) |");
    println!("|---|---|---|---|---|---|---|");
    let mut n = 0;
    for case in &cases {
        for rtt in [0u64, 50] {
            let mut all = Vec::new();
            for _ in 0..runs {
                n += 1;
                all.push(once(case, rtt, n).await);
            }
            let codes: Vec<String> = all.iter().map(|r| r.code.map_or("—".into(), |c| c.to_string())).collect();
            println!(
                "| {} | {rtt} ms | {} | {} | {} | {} | {} |",
                case.name,
                spread(all.iter().map(|r| r.flat_ms)),
                spread(all.iter().map(|r| r.verified_ms)),
                spread(all.iter().map(|r| r.exit_ms)),
                codes.join(" "),
                all.last().map_or(String::new(), |r| r.requests.clone()),
            );
        }
    }
}
