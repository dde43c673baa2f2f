//! Crashes and faults: creates landing after the first cancel-all, SIGKILL with and without a
//! restart, dropped WebSockets, a recorder that cannot write, and leftovers of an earlier run.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

async fn cancel_behind_its_back(sim: &bybit_sim::SimHandle, symbols: &[&str]) {
    let c = exchange(sim);
    for s in symbols {
        let a = c
            .post("/v5/order/cancel-all", &json!({"category": "linear", "symbol": s}).to_string())
            .await
            .unwrap();
        assert_eq!(a.ret_code(), 0);
    }
}

#[actix_rt::test]
async fn creates_landing_after_the_first_cancel_all_are_cancelled_too() {
    let sim = start_sim();
    let opts = BotOptions {
        exchange: "request_timeout_ms = 800",
        order_manager: "dcp_window_s = 0",
        ..Default::default()
    };
    let mut bot = start_bot("race", &sim, opts);
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    // From now on creates take 2.5 s to land, longer than the bot waits for an answer (by either
    // transport: the trade socket's latency holds all its frames, the cancel-all goes by REST).
    set_faults(&sim, json!({"latency_ms": {"/v5/order/create-batch": 2500, "/v5/trade": 2500}})).await;
    let t0 = bybit_sim::exchange::now_ms();
    cancel_behind_its_back(&sim, &SYMBOLS).await;
    // The bot sees its orders cancelled and sends creates; stop it while they are in flight.
    tokio::time::sleep(Duration::from_millis(400)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(
        exit.code,
        0,
        "{}\n{}",
        exit.stdout,
        exit.stderr.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    // Orders created after the bot's first cancel-all did land, and were cancelled.
    let c = exchange(&sim);
    let stats = bybit_sim::testkit::Admin::new(&sim.rest_url()).requests(0).await;
    let first_cancel_all_ms = stats
        .iter()
        .filter(|r| r["path"] == "/v5/order/cancel-all" && r["at_us"].as_u64().unwrap() / 1000 > t0 + 50)
        .map(|r| r["at_us"].as_u64().unwrap() / 1000)
        .min()
        .expect("the bot sent cancel-all");
    let mut late = 0;
    for s in SYMBOLS {
        let h = c
            .get("/v5/order/history", &format!("category=linear&symbol={s}&limit=50"))
            .await
            .unwrap();
        for o in h.body["result"]["list"].as_array().unwrap() {
            let created: u64 = o["createdTime"].as_str().unwrap().parse().unwrap();
            if created > first_cancel_all_ms {
                assert_eq!(o["orderStatus"], "Cancelled", "{o}");
                late += 1;
            }
        }
    }
    assert!(late > 0, "the race was exercised: creates landed after the first cancel-all");
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
    // And nothing lands later: every create in doubt has expired by now (receive window).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}

#[actix_rt::test]
async fn sigkill_without_restart_dcp_cancels_after_the_window() {
    let sim = start_sim();
    let mut bot = start_bot(
        "kill-dcp",
        &sim,
        BotOptions {
            order_manager: "dcp_window_s = 3",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    bot.signal(libc::SIGKILL);
    let killed = Instant::now();
    let _ = bot.wait_exit(Duration::from_secs(5));
    assert!(!bot_orders(&sim, &SYMBOLS).await.is_empty(), "orders outlive the process at first");
    loop {
        if bot_orders(&sim, &SYMBOLS).await.is_empty() {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(10), "DCP fires after its window");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        killed.elapsed() >= Duration::from_millis(2500),
        "not before the window: {:?}",
        killed.elapsed()
    );
    let h = exchange(&sim)
        .get("/v5/order/history", "category=linear&symbol=BTCUSDT&limit=50")
        .await
        .unwrap();
    assert!(h.body["result"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["cancelType"] == "CancelByDCP"));
}

#[actix_rt::test]
async fn sigkill_then_restart_reconciles_leftovers_before_quoting() {
    let sim = start_sim();
    let opts = || BotOptions {
        order_manager: "dcp_window_s = 0",
        ..Default::default()
    };
    let mut first = start_bot("kill-restart-1", &sim, opts());
    wait_for_orders(&sim, &mut first, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let old: Vec<String> = bot_orders(&sim, &SYMBOLS)
        .await
        .iter()
        .map(|o| o["orderLinkId"].as_str().unwrap().to_string())
        .collect();
    first.signal(libc::SIGKILL);
    let _ = first.wait_exit(Duration::from_secs(5));
    let mut second = start_bot("kill-restart-2", &sim, opts());
    let started = Instant::now();
    loop {
        let now: Vec<String> = bot_orders(&sim, &SYMBOLS)
            .await
            .iter()
            .map(|o| o["orderLinkId"].as_str().unwrap().to_string())
            .collect();
        let fresh = now.iter().filter(|l| !old.contains(l)).count();
        if fresh >= 24 {
            let stale: Vec<&String> = now.iter().filter(|l| old.contains(l)).collect();
            assert!(
                stale.is_empty(),
                "no order of the killed run remains next to the new quotes: {stale:?}"
            );
            break;
        }
        assert!(
            second.is_running() && started.elapsed() < Duration::from_secs(30),
            "the new run quotes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dir = second.dir.clone();
    second.signal(libc::SIGTERM);
    assert_eq!(second.wait_exit(Duration::from_secs(40)).code, 0);
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
    // Read the recorder once it is closed: everything is on disk.
    let lines = recorder_lines_in(&dir);
    let rec = lines
        .iter()
        .find(|l| l["kind"] == "startup_reconciliation")
        .expect("reconciliation recorded");
    assert!(rec["cancelled"].as_u64().unwrap() >= old.len() as u64, "{rec}");
    let rec_seq = rec["seq"].as_u64().unwrap();
    let first_quote = lines.iter().find(|l| l["kind"] == "order_sent").unwrap()["seq"].as_u64().unwrap();
    assert!(rec_seq < first_quote, "leftovers were handled before the first new quote");
}

#[actix_rt::test]
async fn leftovers_refuse_policy_refuses_to_start() {
    let sim = start_sim();
    let mut first = start_bot(
        "refuse-1",
        &sim,
        BotOptions {
            symbols: vec!["BTCUSDT"],
            order_manager: "dcp_window_s = 0",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut first, &["BTCUSDT"], 8, Duration::from_secs(30)).await;
    first.signal(libc::SIGKILL);
    let _ = first.wait_exit(Duration::from_secs(5));
    let second = start_bot(
        "refuse-2",
        &sim,
        BotOptions {
            symbols: vec!["BTCUSDT"],
            order_manager: "leftovers = \"refuse\"",
            ..Default::default()
        },
    );
    let exit = second.wait_exit(Duration::from_secs(20));
    assert_eq!(exit.code, 1);
    assert!(exit.stderr.contains("refusing to start"), "{}", exit.stderr);
    assert!(
        !bot_orders(&sim, &["BTCUSDT"]).await.is_empty(),
        "refuse leaves them for the operator"
    );
}

#[actix_rt::test]
async fn dropped_websockets_reconnect_resubscribe_and_reconcile() {
    let sim = start_sim();
    let mut bot = start_bot("wsdrop", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let http = awc::Client::new();
    for _ in 0..2 {
        http.post(format!("{}/sim/ws/drop", sim.rest_url())).send().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let started = Instant::now();
    loop {
        let s = bot.status().await;
        if s["connections"]["public"] == "connected" && s["connections"]["private"] == "connected" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "reconnected: {}", s["connections"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = bot.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("mmbot_ws_reconnects_total{stream=\"private\"}") && !l.ends_with(" 0")),
        "{metrics}"
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(10)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0);
    assert!(exit.stderr.contains("reconciling orders with the exchange after a reconnect"));
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}

#[actix_rt::test]
async fn recorder_that_cannot_write_is_loud_but_the_orders_still_go() {
    let sim = start_sim();
    let dir = temp_dir("diskfull");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    // Every write to /dev/full fails with ENOSPC, as on a full disk.
    std::os::unix::fs::symlink("/dev/full", dir.join("data/full.jsonl")).unwrap();
    let mut bot = start_bot_in(
        dir,
        &sim,
        BotOptions {
            recorder: "file_name = \"full.jsonl\"\non_write_failure = \"continue\"",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert!(exit.stderr.contains("RECORDER FAILURE"), "says so loudly");
    assert_eq!(exit.code, 3, "flat, but a later step failed:\n{}", exit.stdout);
    let rec = exit.stdout.lines().find(|l| l.contains(" recorder ")).unwrap();
    assert!(rec.contains("failed"), "{rec}");
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty(), "orders cancelled all the same");
}

#[actix_rt::test]
async fn every_acknowledged_event_is_on_disk() {
    let sim = start_sim();
    let mut bot = start_bot("count", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    bot.signal(libc::SIGINT);
    let dir = bot.dir.clone();
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0);
    let acknowledged = exit.stderr.lines().filter(|l| l.contains("recorded #")).count();
    let file = std::fs::read_dir(dir.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("events-"))
        .unwrap();
    let on_disk = std::fs::read_to_string(file).unwrap().lines().count();
    assert_eq!(
        on_disk, acknowledged,
        "every event acknowledged before Stop is on disk, and nothing else"
    );
    let sent = exit
        .stderr
        .lines()
        .filter(|l| l.contains("recorded #") && l.ends_with("order_sent"))
        .count();
    assert!(sent >= 24);
}

#[actix_rt::test]
async fn bad_frames_are_counted_and_skipped_gaps_resubscribe() {
    let sim = start_sim();
    let mut bot = start_bot("badframes", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(30)).await;
    let http = awc::Client::new();
    let inject = |text: String| {
        http.post(format!("{}/sim/ws/inject", sim.rest_url()))
            .send_json(&json!({"text": text}))
    };
    inject("this is not json".into()).await.unwrap();
    inject(r#"{"topic":"greeks.BTCUSDT","data":[]}"#.into()).await.unwrap();
    inject(r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":"oops","a":[],"u":1,"seq":1}}"#.into())
        .await
        .unwrap();
    // An update id far ahead: a gap.
    inject(
        r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[],"u":999999999,"seq":1},"cts":1}"#
            .into(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let metrics = bot.metrics().await;
    let value = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert!(value("mmbot_ws_malformed_frames_total") >= 2.0, "{metrics}");
    assert!(value("mmbot_book_gaps_total") >= 1.0, "{metrics}");
    assert!(bot.is_running());
    wait_for_orders(&sim, &mut bot, &SYMBOLS, 24, Duration::from_secs(10)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0);
    assert!(exit.stderr.contains("resubscribing"));
    assert!(bot_orders(&sim, &SYMBOLS).await.is_empty());
}
