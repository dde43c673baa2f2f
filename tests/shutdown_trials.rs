//! Randomized shutdown trials: start, quote, stop at a random moment by a random route under
//! random latency and faults; after each trial ask the exchange for the bot's orders (must be
//! zero) and check the exit code matches what happened. `MMBOT_TRIALS` sets the number (30 by
//! default, as in CI); `bench/shutdown_trials.sh N` runs any number in release mode.
//!
//! SIGKILL trials: kill at a random moment, then restart (reconciliation must leave no order of
//! the killed run next to the new quotes) or not (DCP must cancel everything after its window).
//! `MMBOT_KILL_TRIALS` sets their number (4 by default).

mod support;

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::*;

const DEADLINE_MS: u64 = 20_000;

#[derive(Debug, Clone, Copy)]
enum Route {
    Sigterm,
    Sigint,
    Sighup,
    Http,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    Latency(u64),
    SlowCancelAll(u64),
    /// Creates take longer than the bot waits: they land after it gave up on them.
    SlowCreates,
    WsDrop,
    RateLimitedAmends,
    CreateErrors5xx,
    RefuseConnections(u64),
    /// The preferred cancel path is sick: flat by cancel-batch (or singles where its budget is spent).
    CancelAllHangs,
    CancelAll5xx,
    CancelAll10006,
    /// Cancel-all and cancel-batch broken: flat by single cancels or the trade socket.
    BatchCancelsBroken,
    /// Every cancel path broken, reads fine: flat by the exchange's dead-man switch.
    AllCancelsBroken,
    /// The trade socket accepts frames and never answers: dropped, REST carries orders and cancels.
    TradeSocketHangs,
}

fn pick_fault(rng: &mut impl Rng) -> Fault {
    match rng.gen_range(0..14) {
        13 => Fault::TradeSocketHangs,
        8 => Fault::CancelAllHangs,
        9 => Fault::CancelAll5xx,
        10 => Fault::CancelAll10006,
        11 => Fault::BatchCancelsBroken,
        12 => Fault::AllCancelsBroken,
        0 => Fault::None,
        1 => Fault::Latency(rng.gen_range(1..80)),
        2 => Fault::SlowCancelAll(rng.gen_range(50..600)),
        3 => Fault::SlowCreates,
        4 => Fault::WsDrop,
        5 => Fault::RateLimitedAmends,
        6 => Fault::CreateErrors5xx,
        _ => Fault::RefuseConnections(rng.gen_range(200..1200)),
    }
}

async fn apply(sim: &bybit_sim::SimHandle, fault: Fault) {
    let http = awc::Client::new();
    match fault {
        Fault::None => {}
        Fault::Latency(ms) => set_faults(sim, json!({"latency_ms": {"*": ms}})).await,
        Fault::SlowCancelAll(ms) => set_faults(sim, json!({"latency_ms": {"/v5/order/cancel-all": ms}})).await,
        Fault::SlowCreates => {
            // By either transport (the socket's latency holds all its frames).
            set_faults(sim, json!({"latency_ms": {"/v5/order/create-batch": 1800, "/v5/trade": 1800}})).await;
            // Make the bot create: remove its orders behind its back.
            let c = exchange(sim);
            for s in ["BTCUSDT", "ETHUSDT"] {
                let _ = c
                    .post("/v5/order/cancel-all", &json!({"category": "linear", "symbol": s}).to_string())
                    .await;
            }
        }
        Fault::WsDrop => {
            let _ = http.post(format!("{}/sim/ws/drop", sim.rest_url())).send().await;
        }
        Fault::RateLimitedAmends => set_faults(sim, json!({"rate_limit": ["/v5/order/amend-batch", "/v5/order/create-batch"]})).await,
        Fault::CreateErrors5xx => set_faults(sim, json!({"error_5xx": ["/v5/order/create-batch"]})).await,
        Fault::RefuseConnections(ms) => {
            let _ = http.post(format!("{}/sim/refuse?ms={ms}", sim.rest_url())).send().await;
        }
        Fault::CancelAllHangs => set_faults(sim, json!({"hang": ["/v5/order/cancel-all"]})).await,
        Fault::CancelAll5xx => set_faults(sim, json!({"error_5xx": ["/v5/order/cancel-all"]})).await,
        Fault::CancelAll10006 => set_faults(sim, json!({"rate_limit": ["/v5/order/cancel-all"]})).await,
        Fault::BatchCancelsBroken => {
            set_faults(
                sim,
                json!({"error_5xx": ["/v5/order/cancel-all"], "hang": ["/v5/order/cancel-batch"]}),
            )
            .await
        }
        Fault::TradeSocketHangs => set_faults(sim, json!({"hang": ["/v5/trade"]})).await,
        Fault::AllCancelsBroken => {
            set_faults(
                sim,
                json!({"hang": ["/v5/order/cancel-all", "/v5/order/cancel-batch", "/v5/order/cancel", "/v5/trade"]}),
            )
            .await
        }
    }
}

/// A fault's name without its parameter, for the table.
fn fault_kind(f: Fault) -> String {
    format!("{f:?}").split('(').next().unwrap_or("").to_string()
}

/// From the recorded shutdown: the paths that flattened the symbols and the slowest time to flat.
fn flatten_paths(dir: &std::path::Path) -> Option<(Vec<String>, u64)> {
    // A stop during startup may come before the recorder file exists.
    let has_file = std::fs::read_dir(dir.join("data"))
        .ok()?
        .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("events-")));
    if !has_file {
        return None;
    }
    let lines = recorder_lines_in(dir);
    let cancel = lines.iter().find(|l| l["kind"] == "shutdown_cancel_orders")?;
    let symbols = cancel["symbols"].as_array()?;
    let mut paths: Vec<String> = symbols.iter().map(|s| s["path"].as_str().unwrap_or("none").to_string()).collect();
    paths.sort();
    paths.dedup();
    let slowest = symbols.iter().filter_map(|s| s["time_to_flat_ms"].as_u64()).max().unwrap_or(0);
    Some((paths, slowest))
}

async fn stop(bot: &mut Bot, route: Route) {
    match route {
        Route::Sigterm => bot.signal(libc::SIGTERM),
        Route::Sigint => bot.signal(libc::SIGINT),
        Route::Sighup => bot.signal(libc::SIGHUP),
        Route::Http => {
            // Before the control server listens, fall back to the signal an orchestrator sends.
            let started = Instant::now();
            loop {
                let r = awc::Client::builder()
                    .timeout(Duration::from_secs(2))
                    .finish()
                    .post(bot.control_url("/shutdown"))
                    .bearer_auth(TOKEN)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 202 => return,
                    _ if !bot.is_running() => return,
                    _ if started.elapsed() > Duration::from_millis(1500) => return bot.signal(libc::SIGTERM),
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }
    }
}

fn percentile(sorted: &[u128], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn count_env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// How a trial's orders travel: `MMBOT_TRIALS_ORDER_ENTRY` = rest, websocket, or mixed (the
/// default: each trial picks one at random).
fn pick_order_entry(rng: &mut impl Rng) -> &'static str {
    let rest = "request_timeout_ms = 800\norder_entry = \"rest\"";
    let socket = "request_timeout_ms = 800\norder_entry = \"websocket\"";
    match std::env::var("MMBOT_TRIALS_ORDER_ENTRY").as_deref() {
        Ok("rest") => rest,
        Ok("websocket") => socket,
        _ if rng.gen_bool(0.5) => socket,
        _ => rest,
    }
}

/// Whether a trial's market thread busy-polls: `MMBOT_TRIALS_BUSY_POLL` = on, mixed (each trial
/// picks at random), or off (the default).
fn pick_market_thread(rng: &mut impl Rng) -> &'static str {
    let on = "busy_poll = true";
    match std::env::var("MMBOT_TRIALS_BUSY_POLL").as_deref() {
        Ok("on") => on,
        Ok("mixed") if rng.gen_bool(0.5) => on,
        _ => "",
    }
}

fn seed() -> u64 {
    std::env::var("MMBOT_TRIALS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64)
}

#[actix_rt::test]
async fn randomized_shutdown_trials_leave_no_orders() {
    let trials = count_env("MMBOT_TRIALS", 30);
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let mut times = Vec::new();
    let mut codes = std::collections::BTreeMap::<i32, usize>::new();
    let mut orphans_total = 0;
    let mut within_deadline = 0;
    let mut by_socket = 0;
    let mut busy_polling = 0;
    // Per fault: trials, how often each path flattened a symbol, times to flat.
    let mut by_fault = std::collections::BTreeMap::<String, (usize, std::collections::BTreeMap<String, usize>, Vec<u128>)>::new();
    println!("seed {seed}");
    for i in 0..trials {
        let route = [Route::Sigterm, Route::Sigint, Route::Sighup, Route::Http][rng.gen_range(0..4)];
        let fault = pick_fault(&mut rng);
        let wait_ms = rng.gen_range(0..1500);
        let entry = pick_order_entry(&mut rng);
        by_socket += usize::from(entry.contains("websocket"));
        let market_thread = pick_market_thread(&mut rng);
        busy_polling += usize::from(!market_thread.is_empty());
        let sim = start_sim();
        let shutdown = "deadline_ms = 20000\norder_manager_ms = 15000";
        let opts = BotOptions {
            symbols: symbols.to_vec(),
            levels: rng.gen_range(1..=4),
            shutdown,
            exchange: entry,
            // A short dead-man window: the last resort must fire well inside the order step.
            order_manager: "dcp_window_s = 3",
            market_thread,
            ..Default::default()
        };
        let mut bot = start_bot(&format!("trial{i}"), &sim, opts);
        let fault_at = rng.gen_range(0..=wait_ms);
        tokio::time::sleep(Duration::from_millis(fault_at)).await;
        apply(&sim, fault).await;
        tokio::time::sleep(Duration::from_millis(wait_ms - fault_at)).await;
        let sent = Instant::now();
        stop(&mut bot, route).await;
        let dir = bot.dir.clone();
        let exit = bot.wait_exit(Duration::from_secs(60));
        let took = sent.elapsed();
        // A refused-connections fault may outlast the bot: wait until the exchange listens again.
        let asked = Instant::now();
        while std::net::TcpStream::connect(sim.addr).is_err() {
            assert!(
                asked.elapsed() < Duration::from_secs(5),
                "trial {i}: the exchange does not listen again"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Faults end with the trial; a create in doubt would land within its receive window.
        // The exchange may be listening again yet still dropping connections (refused-connections
        // fault): ask again until it answers.
        let asked = Instant::now();
        while let Err(e) = awc::Client::new().delete(format!("{}/sim/faults", sim.rest_url())).send().await {
            assert!(asked.elapsed() < Duration::from_secs(5), "trial {i}: clearing the faults: {e}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if matches!(fault, Fault::SlowCreates) {
            tokio::time::sleep(Duration::from_millis(2000)).await;
        }
        // A refused-connections fault may outlast the bot: ask until the exchange answers.
        let asked = Instant::now();
        let left = loop {
            match exchange(&sim).open_orders_with_prefix(&symbols, PREFIX).await {
                Ok(l) => break l.len(),
                Err(_) if asked.elapsed() < Duration::from_secs(5) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => panic!("trial {i}: the exchange does not answer: {e}"),
            }
        };
        let during_startup = exit.stderr.contains("during startup");
        // A signal in the first instant, before main() could install any handler (the dynamic
        // loader's time), kills the process by default: nothing had started, so nothing is left.
        let killed_before_main = exit.code == -1 && exit.stderr.trim().is_empty() && took < Duration::from_millis(100);
        let expected = if killed_before_main {
            -1
        } else if during_startup {
            1
        } else {
            0
        };
        let flattened = flatten_paths(&dir);
        println!(
            "trial {i:>3}: {} {route:?} after {wait_ms:>4} ms, fault {fault:?} at {fault_at} ms → exit {} in {} ms, {left} orders left{}{}",
            if entry.contains("websocket") { "ws  " } else { "rest" },
            exit.code,
            took.as_millis(),
            if during_startup { " (stopped during startup)" } else { "" },
            flattened
                .as_ref()
                .map(|(p, ms)| format!(", flat by {} in {ms} ms", p.join("+")))
                .unwrap_or_default()
        );
        if let Some((paths, ms)) = flattened {
            let e = by_fault.entry(fault_kind(fault)).or_default();
            e.0 += 1;
            for p in paths {
                *e.1.entry(p).or_default() += 1;
            }
            e.2.push(ms as u128);
        }
        assert_eq!(left, 0, "trial {i} (seed {seed}) left orders; stdout:\n{}", exit.stdout);
        assert_eq!(
            exit.code,
            expected,
            "trial {i} (seed {seed}): stdout:\n{}\nstderr tail:\n{}",
            exit.stdout,
            exit.stderr.lines().rev().take(30).collect::<Vec<_>>().join("\n")
        );
        orphans_total += left;
        *codes.entry(exit.code).or_default() += 1;
        if took <= Duration::from_millis(DEADLINE_MS) {
            within_deadline += 1;
        }
        times.push(took.as_millis());
    }
    times.sort_unstable();
    println!("\norder entry: websocket in {by_socket} trials, rest in {}", trials - by_socket);
    println!("market thread: busy-polling in {busy_polling} trials");
    println!("\n| trials | orphans | exit codes | within deadline | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|");
    let codes_text = codes.iter().map(|(c, n)| format!("{c}: {n}")).collect::<Vec<_>>().join(", ");
    println!(
        "| {trials} | {orphans_total} | {codes_text} | {:.0} % | {} | {} | {} |",
        100.0 * within_deadline as f64 / trials.max(1) as f64,
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0)
    );
    println!("\n| fault | trials | path that flattened (trials using it) | time to flat p50 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (fault, (n, paths, mut ms)) in by_fault {
        ms.sort_unstable();
        let paths = paths.iter().map(|(p, k)| format!("{p} {k}")).collect::<Vec<_>>().join(", ");
        println!(
            "| {fault} | {n} | {paths} | {} | {} |",
            percentile(&ms, 0.5),
            ms.last().copied().unwrap_or(0)
        );
    }
    assert_eq!(within_deadline, trials);
}

#[actix_rt::test]
async fn kill9_trials_leave_no_orders_with_restart_or_dcp() {
    let trials = count_env("MMBOT_KILL_TRIALS", 4);
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x9e37);
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let mut restarts = 0;
    let mut dcp = 0;
    for i in 0..trials {
        let sim = start_sim();
        let restart = i % 2 == 0;
        let opts = || BotOptions {
            symbols: symbols.to_vec(),
            order_manager: "dcp_window_s = 3",
            ..Default::default()
        };
        let bot = start_bot(&format!("kill{i}"), &sim, opts());
        let wait_ms = rng.gen_range(0..1500);
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        bot.signal(libc::SIGKILL);
        let killed = Instant::now();
        let _ = bot.wait_exit(Duration::from_secs(5));
        let old: Vec<String> = bot_orders(&sim, &symbols)
            .await
            .iter()
            .map(|o| o["orderLinkId"].as_str().unwrap().to_string())
            .collect();
        if restart {
            restarts += 1;
            let mut second = start_bot(&format!("kill{i}-restart"), &sim, opts());
            let started = Instant::now();
            loop {
                let now: Vec<Value> = bot_orders(&sim, &symbols).await;
                let fresh = now.iter().filter(|o| !old.iter().any(|l| o["orderLinkId"] == l.as_str())).count();
                if fresh > 0 {
                    let stale = now.len() - fresh;
                    assert_eq!(stale, 0, "trial {i}: {stale} orders of the killed run next to new quotes");
                    break;
                }
                assert!(
                    second.is_running() && started.elapsed() < Duration::from_secs(20),
                    "trial {i}: the restarted bot quotes"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            second.signal(libc::SIGTERM);
            assert_eq!(second.wait_exit(Duration::from_secs(40)).code, 0);
            assert!(bot_orders(&sim, &symbols).await.is_empty());
            println!(
                "kill trial {i}: SIGKILL after {wait_ms} ms with {} orders resting; restart reconciled them",
                old.len()
            );
        } else {
            dcp += 1;
            loop {
                if bot_orders(&sim, &symbols).await.is_empty() {
                    break;
                }
                assert!(
                    killed.elapsed() < Duration::from_secs(10),
                    "trial {i}: DCP cancels within its window"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            println!(
                "kill trial {i}: SIGKILL after {wait_ms} ms with {} orders resting; DCP left 0 after {} ms",
                old.len(),
                killed.elapsed().as_millis()
            );
        }
    }
    println!(
        "\n| kill trials | with restart | without restart (DCP) | orphans |\n|---|---|---|---|\n| {trials} | {restarts} | {dcp} | 0 |"
    );
}
