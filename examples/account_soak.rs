//! Account soak: the release mmbot quoting on bybit-sim for a given duration while the private
//! stream is disturbed at random — cut and refused for 1–4 s, or its pushes withheld for 2–6 s
//! with the socket open — and the market runs through the bot's quotes during each disturbance.
//! At the end of every disturbance plus its bound (5 s after a cut, `reconcile_interval_ms` + 2 s
//! after withheld pushes) it compares each symbol's position in `/status` with the exchange's
//! and counts the mismatches (must be 0). Prints a markdown summary.
//!
//!   account_soak DURATION_S [SEED]

mod kit;

use std::time::{Duration, Instant};

use bybit_sim::testkit::{Admin, Client};
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const KEY: &str = "soak-key";
const SECRET: &str = "soak-secret";
const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const RECONCILE_MS: u64 = 2000;

fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => s.parse().unwrap_or_default(),
        Value::Number(n) => n.to_string().parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

async fn exchange_positions(client: &Client) -> Option<Vec<Decimal>> {
    let mut out = Vec::new();
    for s in SYMBOLS {
        let a = client.get("/v5/position/list", &format!("category=linear&symbol={s}")).await.ok()?;
        let net = a.body["result"]["list"]
            .as_array()?
            .iter()
            .map(|p| if p["side"] == "Sell" { -dec(&p["size"]) } else { dec(&p["size"]) })
            .sum();
        out.push(net);
    }
    Some(out)
}

async fn bot_positions(control: &str) -> Option<Vec<Decimal>> {
    let body: Value = awc::Client::new()
        .get(format!("http://{control}/status"))
        .send()
        .await
        .ok()?
        .json()
        .limit(16 << 20)
        .await
        .ok()?;
    Some(SYMBOLS.iter().map(|s| dec(&body["positions"][*s])).collect())
}

fn main() {
    let duration = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1800u64);
    let seed = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sim = kit::active_sim(KEY, SECRET);
    let control = kit::free_control_addr();
    let (dir, config) = kit::paper_run(
        "account-soak",
        &sim,
        &control,
        &format!(
            "[order_manager]\nlink_prefix = \"soak\"\nreconcile_interval_ms = {RECONCILE_MS}\n[risk]\nmax_position_notional = 100000\nmax_total_notional = 300000\nmax_drawdown = 0\n"
        ),
    );
    let mut child = kit::mmbot_run(&config, KEY, SECRET, "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
        .spawn()
        .expect("target/release/mmbot (cargo build --release)");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    let (mut cuts, mut withheld, mut mismatches, mut checks) = (0u32, 0u32, 0u32, 0u32);
    let mut lags: Vec<u128> = Vec::new();
    let t0 = Instant::now();
    local.block_on(&rt, async {
        let client = Client::new(&sim.rest_url(), KEY, SECRET);
        let admin = Admin::new(&sim.rest_url());
        tokio::time::sleep(Duration::from_secs(5)).await;
        while t0.elapsed() < Duration::from_secs(duration) {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(5_000..20_000))).await;
            let symbol = SYMBOLS[rng.gen_range(0..SYMBOLS.len())];
            let bps = if rng.gen_bool(0.5) { 40.0 } else { -40.0 };
            let bound = if rng.gen_bool(0.5) {
                cuts += 1;
                let ms = rng.gen_range(1_000..4_000);
                admin.drop_ws().await;
                let _ = awc::Client::new()
                    .post(format!("{}/sim/refuse?ms={ms}", sim.rest_url()))
                    .send()
                    .await;
                admin.shock(symbol, bps).await;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Duration::from_secs(5)
            } else {
                withheld += 1;
                admin.set_faults(&json!({"withhold_private": true})).await;
                admin.shock(symbol, bps).await;
                tokio::time::sleep(Duration::from_millis(rng.gen_range(2_000..6_000))).await;
                admin.set_faults(&json!({})).await;
                Duration::from_millis(RECONCILE_MS + 2_000)
            };
            // When did the bot agree with the exchange, and did it within the bound?
            let end = Instant::now();
            let mut agreed = None;
            while end.elapsed() < bound {
                if let (Some(x), Some(b)) = (exchange_positions(&client).await, bot_positions(&control).await) {
                    if x == b {
                        agreed = Some(end.elapsed().as_millis());
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            checks += 1;
            match agreed {
                Some(ms) => lags.push(ms),
                None => {
                    mismatches += 1;
                    eprintln!("mismatch {bound:?} after the disturbance at {:.0} s", t0.elapsed().as_secs_f64());
                }
            }
        }
    });
    // SAFETY: kill(2) on our own child with a valid signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let code = child.wait().map(|s| s.code().unwrap_or(-1)).unwrap_or(-1);
    let left = local
        .block_on(&rt, async {
            Client::new(&sim.rest_url(), KEY, SECRET)
                .open_orders_with_prefix(&SYMBOLS, "soak")
                .await
                .map(|v| v.len())
        })
        .unwrap_or(usize::MAX);
    lags.sort();
    let pct = |p: f64| lags.get(((lags.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0);
    println!("seed {seed}, {duration} s, reconcile_interval_ms {RECONCILE_MS}\n");
    println!("| disturbances | cuts (1–4 s) | withheld pushes (2–6 s) | mismatches at gap end + bound | agreement after the gap p50 / p95 / max ms | exit | orders left |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {checks} | {cuts} | {withheld} | **{mismatches}** | {} / {} / {} | {code} | {left} |",
        pct(0.5),
        pct(0.95),
        lags.last().copied().unwrap_or(0)
    );
    sim.stop();
}
