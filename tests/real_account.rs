//! A real account's configuration, as the exchange holds it: a read-only key, a hedge-mode
//! account, a host a CDN refuses. Each must stop the start with the fix in words, before any
//! order request reaches the exchange; `mmbot check-account` prints the same checks as a table.

mod support;

use std::time::Duration;

use bybit_sim::testkit::Admin;
use bybit_sim::AccountOptions;
use serde_json::Value;
use support::*;

/// Requests on any order endpoint (REST `/v5/order/*`, the trade socket's ops), from `/sim/stats`.
fn order_path_requests(stats: &Value) -> u64 {
    stats["requests"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(p, _)| {
                    p.starts_with("/v5/order/") && !p.ends_with("/realtime") && !p.ends_with("/history") || p.starts_with("/v5/trade:")
                })
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0)
}

fn sim_with(options: AccountOptions) -> bybit_sim::SimHandle {
    start_sim_with(|c| {
        c.account_options.insert(KEY.into(), options);
    })
}

/// `mmbot check-account` on the config a bot of this test was started with.
fn check_account(bot_dir: &std::path::Path) -> (i32, String) {
    mmbot_subcommand("check-account", bot_dir)
}

#[actix_rt::test]
async fn read_only_key_stops_the_start_naming_the_key() {
    let sim = sim_with(AccountOptions {
        read_only: true,
        ..Default::default()
    });
    let bot = start_bot("read-only", &sim, BotOptions::default());
    let dir = bot.dir.clone();
    let exit = bot.wait_exit(Duration::from_secs(60));
    assert_eq!(exit.code, 1, "stderr:\n{}", exit.stderr);
    assert!(exit.stderr.contains("is read-only"), "stderr:\n{}", exit.stderr);
    assert!(!exit.stderr.contains(KEY), "the whole key must not be logged:\n{}", exit.stderr);
    let stats = Admin::new(&sim.rest_url()).stats().await;
    assert_eq!(order_path_requests(&stats), 0, "no order request may go out: {stats}");

    let (code, table) = check_account(&dir);
    assert_eq!(code, 1, "{table}");
    assert!(table.contains("BLOCKER") && table.contains("read-only"), "{table}");
}

#[actix_rt::test]
async fn hedge_mode_account_stops_the_start_with_the_fix() {
    let sim = sim_with(AccountOptions {
        hedge: true,
        ..Default::default()
    });
    let bot = start_bot("hedge", &sim, BotOptions::default());
    let exit = bot.wait_exit(Duration::from_secs(60));
    assert_eq!(exit.code, 1, "stderr:\n{}", exit.stderr);
    assert!(
        exit.stderr.contains("hedge mode") && exit.stderr.contains("switch-mode"),
        "stderr:\n{}",
        exit.stderr
    );
    let stats = Admin::new(&sim.rest_url()).stats().await;
    assert_eq!(
        order_path_requests(&stats),
        0,
        "no order request may go out (no refusal loop): {stats}"
    );
}

#[actix_rt::test]
async fn a_refused_host_is_told_apart_from_the_rate_ban() {
    let sim = start_sim();
    set_faults(&sim, serde_json::json!({"forbidden": true})).await;
    let bot = start_bot("forbidden", &sim, BotOptions::default());
    let exit = bot.wait_exit(Duration::from_secs(60));
    assert_eq!(exit.code, 1, "stderr:\n{}", exit.stderr);
    assert!(
        exit.stderr.contains("restricted region or firewall") && exit.stderr.contains("HTTP 403"),
        "stderr:\n{}",
        exit.stderr
    );
    assert!(!exit.stderr.contains("banned this IP"), "not the rate ban:\n{}", exit.stderr);
}

#[actix_rt::test]
async fn check_account_prints_every_check_and_passes_a_ready_account() {
    let sim = sim_with(AccountOptions {
        key_days_left: Some(5),
        ..Default::default()
    });
    // The config a bot would run with; the bot itself is stopped at once.
    let bot = start_bot("check-account", &sim, BotOptions::default());
    let dir = bot.dir.clone();
    bot.signal(libc::SIGTERM);
    let _ = bot.wait_exit(Duration::from_secs(60));
    let before = order_path_requests(&Admin::new(&sim.rest_url()).stats().await);
    let (code, table) = check_account(&dir);
    assert_eq!(code, 0, "{table}");
    for check in [
        "key ",
        "key expiry",
        "account",
        "margin mode",
        "position mode BTCUSDT",
        "order size BTCUSDT",
        "instrument BTCUSDT",
        "leverage BTCUSDT",
        "fees BTCUSDT",
        "margin",
        "dead-man switch",
    ] {
        assert!(table.contains(check), "{check} in\n{table}");
    }
    assert!(table.contains("WARN") && table.contains("expires in 5 days"), "{table}");
    let after = order_path_requests(&Admin::new(&sim.rest_url()).stats().await);
    assert_eq!(after, before, "check-account is read-only");
}

#[actix_rt::test]
async fn a_price_that_cannot_be_read_is_a_blocker_not_a_silence() {
    let sim = sim_with(AccountOptions::default());
    let bot = start_bot("check-account-no-price", &sim, BotOptions::default());
    let dir = bot.dir.clone();
    bot.signal(libc::SIGTERM);
    let _ = bot.wait_exit(Duration::from_secs(60));
    set_faults(&sim, serde_json::json!({"error_5xx": ["/v5/market/tickers"]})).await;
    let (code, table) = check_account(&dir);
    assert_ne!(code, 0, "{table}");
    let line = table
        .lines()
        .find(|l| l.contains("price BTCUSDT"))
        .unwrap_or_else(|| panic!("no price row in\n{table}"));
    assert!(line.starts_with("BLOCKER") && line.contains("could not read it"), "{line}");
}

#[actix_rt::test]
async fn an_account_without_dcp_still_quotes() {
    let sim = sim_with(AccountOptions {
        dcp: false,
        ..Default::default()
    });
    let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    let mut bot = start_bot("no-dcp", &sim, BotOptions::default());
    // The refused dcp.future must not take the order topics with it: quotes rest.
    wait_for_orders(&sim, &mut bot, &symbols, 24, Duration::from_secs(30)).await;
    // The accepted set-dcp is not taken for proof: query-dcp-info, 10 s later, says it is not in effect.
    let by = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = bot.status().await;
        let row = status["account"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["check"] == "dead-man switch")
            .cloned();
        if let Some(row) = row {
            assert_eq!(row["verdict"], "WARN", "{row}");
            assert!(row["detail"].as_str().unwrap().contains("not in effect"), "{row}");
            break;
        }
        assert!(
            std::time::Instant::now() < by,
            "no dead-man switch row in /status.account: {}",
            status["account"]
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(exit.stderr.contains("dcp.future refused"), "stderr:\n{}", exit.stderr);
    assert!(bot_orders(&sim, &symbols).await.is_empty(), "no order left on the exchange");
}

/// `/readyz`: its status and the reason it gives.
async fn readyz(bot: &Bot) -> (u16, String) {
    http_get(&bot.control_url("/readyz"), None).await
}

#[actix_rt::test]
async fn too_little_margin_halts_quoting_and_a_top_up_resumes_it() {
    let sim = start_sim();
    let admin = Admin::new(&sim.rest_url());
    // Half a USDT carries no order: every create is refused with 110007.
    admin.set_wallet(KEY, "0.5").await;
    let mut bot = start_bot(
        "low-balance",
        &sim,
        BotOptions {
            symbols: vec!["BTCUSDT"],
            ..Default::default()
        },
    );
    let started = std::time::Instant::now();
    loop {
        let halted = metric(&bot.metrics().await, "mmbot_quoting_halted{symbol=\"BTCUSDT\",reason=\"110007\"}");
        if halted == 1.0 {
            break;
        }
        assert!(bot.is_running(), "the bot must stay up, halted");
        assert!(started.elapsed() < Duration::from_secs(30), "the breaker did not trip");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (code, why) = readyz(&bot).await;
    assert_eq!(code, 503);
    assert!(why.contains("quoting halted") && why.contains("110007"), "{why}");
    let status = bot.status().await;
    assert!(
        status["halted"]["BTCUSDT"].as_str().unwrap().starts_with("110007"),
        "{}",
        status["halted"]
    );

    // Tripped: at most one probe every 10 s, whatever the book does.
    let before = order_path_requests(&admin.stats().await);
    tokio::time::sleep(Duration::from_secs(30)).await;
    let during = order_path_requests(&admin.stats().await) - before;
    assert!(during <= 3, "{during} order requests in 30 s while tripped");
    assert!(bot_orders(&sim, &["BTCUSDT"]).await.is_empty(), "nothing rests while halted");

    admin.set_wallet(KEY, "100000").await;
    wait_for_orders(&sim, &mut bot, &["BTCUSDT"], 8, Duration::from_secs(60)).await;
    let ready_by = std::time::Instant::now() + Duration::from_secs(10);
    while readyz(&bot).await.0 != 200 {
        assert!(
            std::time::Instant::now() < ready_by,
            "ready again once quoting: {:?}",
            readyz(&bot).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let halted = metric(&bot.metrics().await, "mmbot_quoting_halted{symbol=\"BTCUSDT\",reason=\"110007\"}");
    assert_eq!(halted, 0.0);
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    let errors: Vec<&str> = exit.stderr.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert_eq!(errors.len(), 1, "one ERROR line for the halt:\n{}", exit.stderr);
    assert!(errors[0].contains("every symbol's quoting is halted"), "{}", errors[0]);
    let warns = exit.stderr.lines().filter(|l| l.contains("create refused with 110007")).count();
    assert!(
        (1..=2).contains(&warns),
        "refusals logged once a minute, not per order:\n{}",
        exit.stderr
    );
    assert!(exit.stderr.contains("quoting resumes"), "{}", exit.stderr);
}

#[actix_rt::test]
async fn readyz_waits_for_the_first_quotes_to_rest() {
    let sim = start_sim();
    // The first creates hang for a while: streams are up, but nothing rests yet.
    set_faults(&sim, serde_json::json!({"latency_ms": {"/v5/order/create-batch": 1500}})).await;
    let mut bot = start_bot(
        "readyz-quotes",
        &sim,
        BotOptions {
            symbols: vec!["BTCUSDT"],
            exchange: REST_ORDER_ENTRY,
            ..Default::default()
        },
    );
    let started = std::time::Instant::now();
    let mut reasons = std::collections::BTreeSet::new();
    loop {
        if let Ok(mut r) = awc::Client::new().get(bot.control_url("/readyz")).send().await {
            let body = String::from_utf8_lossy(&r.body().await.unwrap()).trim().to_string();
            if r.status().as_u16() == 200 {
                break;
            }
            reasons.insert(body);
        }
        assert!(bot.is_running());
        assert!(started.elapsed() < Duration::from_secs(60), "never ready: {reasons:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reasons.contains("no quote rests yet"), "{reasons:?}");
    assert!(
        !bot_orders(&sim, &["BTCUSDT"]).await.is_empty(),
        "ready means quotes rest on the exchange"
    );
    bot.signal(libc::SIGTERM);
    assert_eq!(bot.wait_exit(Duration::from_secs(40)).code, 0);
}

#[actix_rt::test]
async fn a_hedge_mode_account_is_switched_when_the_config_allows_it() {
    let sim = sim_with(AccountOptions {
        hedge: true,
        ..Default::default()
    });
    let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    let mut bot = start_bot(
        "hedge-switch",
        &sim,
        BotOptions {
            account: "position_mode = \"one-way\"\nleverage = 5",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &symbols, 24, Duration::from_secs(30)).await;
    assert_eq!(requests_on(&sim, "/v5/position/switch-mode", 0).await, 3, "one switch per symbol");
    assert_eq!(
        requests_on(&sim, "/v5/position/set-leverage", 0).await,
        3,
        "one leverage per symbol"
    );
    let list = exchange(&sim)
        .get_within_budget("/v5/position/list", "category=linear&symbol=BTCUSDT")
        .await
        .unwrap();
    let rows = list.body["result"]["list"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "one-way: one row: {rows:?}");
    assert_eq!(rows[0]["positionIdx"], 0);
    assert_eq!(rows[0]["leverage"], "5");
    let metrics = bot.metrics().await;
    let rejected: f64 = symbols
        .iter()
        .map(|s| metric(&metrics, &format!("mmbot_orders_rejected_total{{symbol=\"{s}\"}}")))
        .sum();
    assert_eq!(rejected, 0.0, "no refused order");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(exit.stderr.contains("switched to one-way"), "{}", exit.stderr);
}

#[actix_rt::test]
async fn a_403_while_running_holds_one_endpoint_back_and_freezes_nothing() {
    let sim = start_sim();
    let symbols = ["BTCUSDT"];
    let mut bot = start_bot(
        "forbidden-running",
        &sim,
        BotOptions {
            symbols: symbols.to_vec(),
            exchange: REST_ORDER_ENTRY,
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &symbols, 8, Duration::from_secs(30)).await;
    set_faults(&sim, serde_json::json!({"forbidden": true})).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    set_faults(&sim, serde_json::json!({})).await;
    let status = bot.status().await;
    assert_eq!(
        status["budget"]["ip_banned_ms"], 0,
        "not read as the rate ban: {}",
        status["budget"]
    );
    // Still quoting by REST within seconds of the CDN letting requests through again.
    let before = requests_on(&sim, "/v5/order/amend-batch", 0).await + requests_on(&sim, "/v5/order/create-batch", 0).await;
    let by = std::time::Instant::now() + Duration::from_secs(20);
    while requests_on(&sim, "/v5/order/amend-batch", 0).await + requests_on(&sim, "/v5/order/create-batch", 0).await == before {
        assert!(std::time::Instant::now() < by, "no order request after the 403s ended");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(exit.stderr.contains("without the rate-ban text"), "{}", exit.stderr);
    assert!(bot_orders(&sim, &symbols).await.is_empty());
}
