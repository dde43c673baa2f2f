//! Quoting within Bybit's budget, asked of the exchange: the real binary against a bybit-sim at
//! Bybit's default budgets (10 order units per second per endpoint and account, 50 reads, 600
//! requests per 5 s per IP) in a fast market. The exchange counts what a budget-blind or
//! redundant client would produce: units refused with 10006, amends that change nothing, IP bans.

mod support;

use std::time::{Duration, Instant};

use bybit_sim::testkit::{percentile, quote_centre_distances_bps, Admin};
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

#[actix_rt::test]
async fn fast_market_at_bybit_budgets_no_10006_no_redundant_amend() {
    let sim = start_sim_with(|c| c.market.volatility_bps = 2.0);
    let admin = Admin::new(&sim.rest_url());
    let defaults = bybit_sim::RateLimits::default();
    assert_eq!(
        (defaults.orders_per_sec, defaults.reads_per_sec),
        (10, 50),
        "the simulator runs Bybit's budgets"
    );
    let opts = BotOptions {
        levels: 8,
        ..Default::default()
    };
    let mut bot = start_bot("budget", &sim, opts);
    // 48 orders at 10 creates per second: the ladder fills over about five seconds.
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 48, Duration::from_secs(30)).await;
    let started = Instant::now();
    let mut distances = Vec::new();
    let run = Duration::from_secs(std::env::var("MMBOT_BUDGET_TEST_S").ok().and_then(|s| s.parse().ok()).unwrap_or(60));
    while started.elapsed() < run {
        tokio::time::sleep(Duration::from_millis(250)).await;
        distances.extend(quote_centre_distances_bps(&admin.stats().await, 0));
        assert!(bot.is_running(), "mmbot exited; see {}", bot.stderr_path.display());
    }
    let status = bot.status().await;
    let metrics = bot.metrics().await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(30));
    let stats = admin.stats().await;
    let account = &stats["accounts"][0];
    // The budget in /metrics: limit and remaining per endpoint, and the changes it held back.
    for series in [
        "mmbot_rate_budget_limit{endpoint=\"/v5/order/amend-batch\"} 10",
        "mmbot_rate_budget_remaining{endpoint=\"/v5/order/amend-batch\"}",
        "mmbot_requests_deferred_total{endpoint=\"/v5/order/",
    ] {
        assert!(metrics.contains(series), "{series} in /metrics");
    }
    let requests = &stats["requests"];
    let amends = order_requests(&stats, "/v5/order/amend-batch");
    eprintln!(
        "budget e2e: {amends} amend-batch requests, {} create-batch, {} cancel-batch in {run:?} ({requests}); centre-last p50 {:.2} bps, p95 {:.2} bps",
        order_requests(&stats, "/v5/order/create-batch"),
        order_requests(&stats, "/v5/order/cancel-batch"),
        percentile(&distances, 50.0),
        percentile(&distances, 95.0)
    );
    assert_eq!(exit.code, 0, "stdout:\n{}", exit.stdout);
    assert_eq!(account["rate_limited_units"], 0, "the exchange refused order units with 10006");
    assert_eq!(account["amends_unchanged"], 0, "amends that would leave the order as it is");
    assert_eq!(stats["ip_banned"], 0);
    assert!(amends > 20, "the bot kept requoting in a fast market ({amends} amend batches)");
    // The inner levels stay with the market: a wide bound (spread 20 bps + one level's worth of
    // lag), the numbers themselves are in docs/benchmarks.md.
    assert!(distances.len() > 100, "sampled the quote centre ({})", distances.len());
    assert!(percentile(&distances, 50.0) < 15.0, "p50 {}", percentile(&distances, 50.0));
    // The bot's own view agrees: no 10006 anywhere, and its budget shows up in /status.
    let budget = &status["budget"];
    assert_eq!(budget["endpoints"]["/v5/order/amend-batch"]["limit"], 10, "{budget}");
    let held: u64 = ["create-batch", "amend-batch"]
        .iter()
        .filter_map(|e| budget["endpoints"][format!("/v5/order/{e}")]["deferred"].as_u64())
        .sum();
    assert!(
        held > 0,
        "48 orders in a fast market need more than 10 a second: some changes waited ({budget})"
    );
    assert!(
        budget["rejections"]
            .as_object()
            .is_none_or(|r| r.values().all(|codes| codes.get("10006").is_none())),
        "{budget}"
    );
}

#[actix_rt::test]
async fn an_ip_ban_stops_every_request_until_it_ends() {
    // A small IP window and a short ban so the test trips and outlives it quickly.
    let sim = start_sim_with(|c| {
        c.limits.ip_requests_per_5s = 60;
        c.limits.ip_ban_ms = 2_000;
        c.market.volatility_bps = 2.0;
    });
    let admin = Admin::new(&sim.rest_url());
    let opts = BotOptions {
        symbols: vec!["BTCUSDT"],
        levels: 8,
        // The bot believes Bybit's IP window (600), so it goes over the simulator's 60 and is banned;
        // it then sends nothing for its configured ban length. The window counts HTTP requests:
        // orders go by REST here so that quoting counts too.
        exchange: "order_entry = \"rest\"\n[exchange.rate_limits]\nip_ban_ms = 3000",
        order_manager: "reconcile_interval_ms = 100",
        ..Default::default()
    };
    let mut bot = start_bot("ipban", &sim, opts);
    let started = Instant::now();
    loop {
        let s = admin.stats().await;
        if s["ip_banned"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the bot never went over the IP limit");
        assert!(bot.is_running());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = |s: &serde_json::Value| -> u64 { s["requests"].as_object().unwrap().values().filter_map(|v| v.as_u64()).sum() };
    let stats = admin.stats().await;
    let (banned_at, before) = (stats["ip_banned"].as_u64().unwrap(), total(&stats));
    // /status shows the ban (its budget view is refreshed every 100 ms).
    let mut status = bot.status().await;
    for _ in 0..20 {
        if status["budget"]["ip_banned_ms"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        status = bot.status().await;
    }
    assert!(status["budget"]["ip_banned_ms"].as_u64().unwrap() > 0, "{}", status["budget"]);
    assert!(
        status["budget"]["rejections"].to_string().contains("\"403\""),
        "{}",
        status["budget"]
    );
    // During the bot's ban (3 s) only requests already on their way reach the exchange.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let stats = admin.stats().await;
    let during = total(&stats) - before;
    assert!(during <= 5, "requests sent while banned: {during}");
    assert!(stats["ip_banned"].as_u64().unwrap() - banned_at <= 5);
    // After the ban the bot talks to the exchange again.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert!(total(&admin.stats().await) > before + during, "no request after the ban ended");
    assert!(bot.is_running());
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(30));
    assert!(exit.stderr.contains("banned this IP"), "{}", exit.stderr);
    assert!(bot_orders(&sim, &["BTCUSDT"]).await.is_empty());
}

/// The IP window the simulator enforces and the bot is told of, small enough that quoting fills
/// most of it and the shutdown's single cancels take the rest.
const SMALL_IP_WINDOW: &str =
    "order_entry = \"rest\"\n[exchange.rate_limits]\norders_per_sec = 100\nip_requests_per_5s = 100\ncancel_reserve = 20";

#[actix_rt::test]
async fn a_shutdown_of_single_cancels_on_a_full_ip_window_is_never_banned() {
    let sim = start_sim_with(|c| {
        c.limits.ip_requests_per_5s = 100;
        c.limits.orders_per_sec = 100;
        c.market.volatility_bps = 3.0;
    });
    let admin = Admin::new(&sim.rest_url());
    let opts = BotOptions {
        levels: 10,
        exchange: SMALL_IP_WINDOW,
        order_manager: "cancel_scope = \"own\"",
        ..Default::default()
    };
    let mut bot = start_bot("ipedge", &sim, opts);
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 60, Duration::from_secs(30)).await;
    // Requoting a fast market fills the window quotes may use.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let since_us = bybit_sim::server::state::now_us();
    // Batches refused: the 60 orders go by single cancels, one request each.
    set_faults(&sim, serde_json::json!({"error_5xx": ["/v5/order/cancel-batch"]})).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(60));
    set_faults(&sim, serde_json::json!({})).await;
    let stats = admin.stats().await;
    // Counted at the exchange: never more than its window, in any 5 s, around the stop.
    let arrivals: Vec<(u64, String)> = admin
        .requests(since_us.saturating_sub(5_000_000))
        .await
        .iter()
        .filter_map(|r| Some((r["at_us"].as_u64()?, r["path"].as_str()?.to_string())))
        .collect();
    let busiest = arrivals
        .iter()
        .map(|(t, _)| arrivals.iter().filter(|(u, _)| *u <= *t && *u + 5_000_000 > *t).count())
        .max()
        .unwrap_or(0);
    let singles = requests_on(&sim, "/v5/order/cancel", since_us).await;
    eprintln!(
        "IP edge: {singles} single cancels, busiest 5 s at the exchange: {busiest} requests of 100; {}",
        stats["requests"]
    );
    assert_eq!(stats["ip_banned"], 0, "HTTP 403 from the exchange; stdout:\n{}", exit.stdout);
    assert_eq!(exit.code, 0, "stdout:\n{}", exit.stdout);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
    assert!(singles > 0, "the single cancels did the work");
    // Each order cancelled once: an accepted cancel is not re-sent without a read that lists it.
    assert!(singles <= 60, "{singles} single cancels for 60 orders");
    assert!(busiest <= 100, "{busiest} requests in 5 s");
}

#[actix_rt::test]
async fn the_exchanges_lower_budget_wins_and_check_config_rejects_the_configured_one() {
    let sim = start_sim_with(|c| c.limits.orders_per_sec = 5);
    let opts = BotOptions {
        symbols: vec!["BTCUSDT"],
        levels: 2,
        exchange: "[exchange.rate_limits]\norders_per_sec = 20",
        ..Default::default()
    };
    let mut bot = start_bot("learned", &sim, opts);
    wait_for_orders(&sim, &mut bot, &["BTCUSDT"], 4, Duration::from_secs(30)).await;
    // Let it requote a while on the exchange's budget.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = bot.status().await;
    assert_eq!(
        status["budget"]["endpoints"]["/v5/order/create-batch"]["limit"], 5,
        "{}",
        status["budget"]
    );
    assert_eq!(status["budget"]["endpoints"]["/v5/order/create-batch"]["configured"], 20);
    let dir = bot.dir.clone();
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(30));
    assert_eq!(exit.code, 0);
    assert!(
        exit.stderr
            .contains("the exchange gives this account 5 requests/s, the config says 20"),
        "{}",
        exit.stderr
    );
    // The next check of the same config knows better.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mmbot"))
        .args(["check-config", "--config"])
        .arg(dir.join("mmbot.toml"))
        .env("MMBOT_API_KEY", KEY)
        .env("MMBOT_API_SECRET", SECRET)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("exchange.rate_limits.orders_per_sec: expected at most 5"), "{err}");
}

#[actix_rt::test]
async fn a_10006_holds_its_endpoint_until_the_exchanges_reset() {
    let sim = start_sim_with(|c| c.market.volatility_bps = 2.0);
    let admin = Admin::new(&sim.rest_url());
    let opts = BotOptions {
        symbols: vec!["BTCUSDT", "ETHUSDT"],
        levels: 4,
        ..Default::default()
    };
    let mut bot = start_bot("reset", &sim, opts);
    wait_for_orders(&sim, &mut bot, &["BTCUSDT", "ETHUSDT"], 16, Duration::from_secs(30)).await;
    let amends = |s: &serde_json::Value| order_requests(s, "/v5/order/amend-batch");
    let amend_paths = either_transport("/v5/order/amend-batch");
    // Every amend-batch answers 10006 with a reset one second ahead, for three seconds, while the
    // market moves every 100 ms and wants amends all the time. The bot must wait for each reset:
    // its amend-batches come in bursts (one plan's batches) at least a reset apart, never a loop.
    // The fault holds the budget, so it holds amends by either transport.
    let fault_from = bybit_sim::server::state::now_us();
    set_faults(&sim, serde_json::json!({"rate_limit": ["/v5/order/amend-batch"]})).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let fault_to = bybit_sim::server::state::now_us();
    set_faults(&sim, serde_json::json!({})).await;
    let before = amends(&admin.stats().await);
    let times: Vec<u64> = admin
        .requests(fault_from)
        .await
        .iter()
        .filter(|r| amend_paths.iter().any(|p| r["path"] == p.as_str()))
        .filter_map(|r| r["at_us"].as_u64())
        .filter(|t| *t <= fault_to)
        .collect();
    let mut bursts: Vec<(u64, u64)> = Vec::new();
    for t in times {
        match bursts.last_mut() {
            Some((_, end)) if t - *end < 200_000 => *end = t,
            _ => bursts.push((t, t)),
        }
    }
    for pair in bursts.windows(2) {
        let gap_ms = (pair[1].0 - pair[0].1) / 1000;
        assert!(
            gap_ms >= 900,
            "amend-batches {gap_ms} ms apart during 10006 with 1 s resets: {bursts:?}"
        );
    }
    assert!(!bursts.is_empty(), "the bot tried to amend during the fault (the market moves)");
    assert!(bursts.len() <= 4, "{} bursts in 3 s of 1 s resets: {bursts:?}", bursts.len());
    eprintln!("amend-batch bursts during 10006: {bursts:?}");
    // Afterwards it requotes again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = amends(&admin.stats().await) - before;
    assert!(after >= 2, "amends resumed after the resets ({after})");
    let status = bot.status().await;
    assert!(
        status["budget"]["rejections"]["/v5/order/amend-batch"]["10006"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{}",
        status["budget"]
    );
    bot.signal(libc::SIGTERM);
    assert_eq!(bot.wait_exit(Duration::from_secs(30)).code, 0);
    assert!(bot_orders(&sim, &["BTCUSDT", "ETHUSDT"]).await.is_empty());
}

const MANY: [&str; 12] = [
    "BTCUSDT",
    "ETHUSDT",
    "SOLUSDT",
    "XRPUSDT",
    "DOGEUSDT",
    "BNBUSDT",
    "ADAUSDT",
    "LINKUSDT",
    "LTCUSDT",
    "AVAXUSDT",
    "SUIUSDT",
    "1000PEPEUSDT",
];

#[actix_rt::test]
async fn twelve_symbols_share_one_budget_and_stop_flat() {
    symbols_share_one_budget(&MANY, 0, false).await;
}

/// Both cores busy with other processes for as long as it lives.
/// Busy loops holding the cores while a loaded test runs, and the lock that keeps two loaded
/// tests of this binary from running at once: the condition is both cores busy (two hogs on this
/// 2-core machine), not four hogs and two 12-symbol bots at once.
struct CpuHogs(Vec<std::process::Child>, #[allow(dead_code)] std::sync::MutexGuard<'static, ()>);

static LOADED: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl CpuHogs {
    fn start(n: usize) -> Self {
        let one_at_a_time = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        Self(
            (0..n)
                .map(|_| {
                    std::process::Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .expect("sh runs")
                })
                .collect(),
            one_at_a_time,
        )
    }
}

impl Drop for CpuHogs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// 0–30 ms of random latency on every request, and both cores loaded: requests that left a
/// window apart arrive bunched, answers come late — and the exchange still refuses nothing.
#[actix_rt::test]
async fn twelve_symbols_under_jitter_and_load_are_never_refused() {
    let _hogs = CpuHogs::start(2);
    symbols_share_one_budget(&MANY, 30, true).await;
}

#[actix_rt::test]
async fn three_symbols_under_jitter_and_load_are_never_refused() {
    let _hogs = CpuHogs::start(2);
    symbols_share_one_budget(&MANY[..3], 30, true).await;
}

/// Quotes on `symbols` (3 levels a side) until all rest, a few seconds of requoting, SIGTERM:
/// flat, and the exchange refused no unit and no read.
async fn symbols_share_one_budget(symbols: &[&'static str], jitter_ms: u64, loaded: bool) {
    let sim = start_sim_with(|c| c.instruments = bybit_sim::market::instrument::select(symbols).unwrap());
    let admin = Admin::new(&sim.rest_url());
    if jitter_ms > 0 {
        admin.set_faults(&serde_json::json!({"latency_jitter_ms": jitter_ms})).await;
    }
    let limit = Duration::from_secs(if loaded { 120 } else { 60 });
    let opts = BotOptions {
        symbols: symbols.to_vec(),
        levels: 3,
        risk: "max_open_orders = 200",
        ..Default::default()
    };
    let mut bot = start_bot("many", &sim, opts);
    let orders = symbols.len() as u64 * 6;
    // 72 orders (12 symbols) at 10 creates a second: about seven seconds, and never a refusal.
    // Counted by the simulator's admin view, not by signed reads: this test's own listings
    // would spend the account's read budget the bot shares (they were the "refused reads").
    let started = Instant::now();
    while bybit_sim::testkit::open_orders_of_first_account(&admin).await < orders {
        assert!(bot.is_running(), "mmbot exited early");
        assert!(started.elapsed() < limit, "{orders} orders within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(60));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    let stats = admin.stats().await;
    let refusals: Vec<&str> = exit
        .stderr
        .lines()
        .filter(|l| l.contains("10006") || l.contains("rate-limited"))
        .collect();
    assert_eq!(stats["accounts"][0]["rate_limited_units"], 0, "{stats}\n{}", refusals.join("\n"));
    assert_eq!(stats["accounts"][0]["rate_limited_reads"], 0, "{stats}\n{}", refusals.join("\n"));
    assert_eq!(stats["accounts"][0]["amends_unchanged"], 0);
    assert_eq!(bybit_sim::testkit::open_orders_of_first_account(&admin).await, 0);
}
