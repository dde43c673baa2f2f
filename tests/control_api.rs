//! The control server: /shutdown refuses missing or wrong tokens and changes nothing; health,
//! readiness, status and metrics answer while running; dry-run sends nothing to the exchange.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

#[actix_rt::test]
async fn shutdown_without_valid_token_is_401_and_the_bot_keeps_quoting() {
    let sim = start_sim();
    let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    let mut bot = start_bot("token", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &symbols, 24, Duration::from_secs(30)).await;
    let http = awc::Client::new();
    let none = http.post(bot.control_url("/shutdown")).send().await.unwrap();
    assert_eq!(none.status().as_u16(), 401);
    let wrong = http
        .post(bot.control_url("/shutdown"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let almost = http
        .post(bot.control_url("/shutdown"))
        .bearer_auth(&TOKEN[..TOKEN.len() - 1])
        .send()
        .await
        .unwrap();
    assert_eq!(almost.status().as_u16(), 401);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(bot.is_running());
    bot.wait_ready(Duration::from_secs(20)).await;
    assert!(bot_orders(&sim, &symbols).await.len() >= 24, "still quoting");
    let status = bot.status().await;
    assert_eq!(status["mode"], "paper");
    assert_eq!(status["shutting_down"], false);
    assert!(status["open_orders"].as_array().unwrap().len() >= 24);
    assert_eq!(status["connections"]["public"], "connected");
    assert_eq!(status["connections"]["private"], "connected");
    let body = status.to_string();
    assert!(!body.contains(SECRET) && !body.contains(TOKEN), "no secret in /status");
    let metrics = http.get(bot.control_url("/metrics")).send().await.unwrap().body().await.unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains("mmbot_orders_placed_total"), "{metrics}");
    assert_eq!(http.get(bot.control_url("/healthz")).send().await.unwrap().status().as_u16(), 200);
    // HTTP/2 is off: an h2c prior-knowledge preface gets an HTTP/1 error, not an h2 SETTINGS frame.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(bot.control).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).unwrap_or(0);
        assert!(
            n == 0 || buf.starts_with(b"HTTP/1.1"),
            "no HTTP/2 on the control server: {:?}",
            &buf[..n]
        );
    }
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(45));
    assert_eq!(exit.code, 0);
    assert!(
        !exit.stderr.contains(SECRET) && !exit.stderr.contains(TOKEN),
        "no secret in the logs"
    );
}

#[actix_rt::test]
async fn readyz_turns_503_as_soon_as_shutdown_starts() {
    let sim = start_sim();
    let symbols = ["BTCUSDT"];
    let mut bot = start_bot(
        "readyz",
        &sim,
        BotOptions {
            symbols: symbols.to_vec(),
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &symbols, 8, Duration::from_secs(30)).await;
    // Every exchange answer 1.5 s late: the stop takes seconds (a slow cancel-all alone is passed
    // over for cancel-batch within ~50 ms and the bot is gone before the probe).
    set_faults(&sim, serde_json::json!({"latency_ms": {"*": 1500}})).await;
    let http = awc::Client::new();
    let r = http.post(bot.control_url("/shutdown")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(http.get(bot.control_url("/readyz")).send().await.unwrap().status().as_u16(), 503);
    let status = bot.status().await;
    assert_eq!(status["shutting_down"], true);
    assert_eq!(status["shutdown"]["reason"], "POST /shutdown");
    let exit = bot.wait_exit(Duration::from_secs(45));
    assert_eq!(exit.code, 0);
}

#[actix_rt::test]
async fn dry_run_sends_nothing_and_skips_cancellation() {
    let sim = start_sim();
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let mut bot = start_bot(
        "dryrun",
        &sim,
        BotOptions {
            mode: "dry-run",
            symbols: symbols.to_vec(),
            ..Default::default()
        },
    );
    let http = awc::Client::new();
    // Wait until it computes quotes.
    let started = std::time::Instant::now();
    loop {
        if let Ok(mut r) = http.get(bot.control_url("/status")).send().await {
            let s: Value = r.json().await.unwrap();
            if s["desired_quotes"]["BTCUSDT"].as_u64().unwrap_or(0) > 0 && s["desired_quotes"]["ETHUSDT"].as_u64().unwrap_or(0) > 0 {
                break;
            }
        }
        assert!(
            bot.is_running() && started.elapsed() < Duration::from_secs(20),
            "dry-run computes quotes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    bot.signal(libc::SIGINT);
    let exit = bot.wait_exit(Duration::from_secs(45));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert!(exit.stdout.contains("dry-run: nothing was sent"), "{}", exit.stdout);
    let stats = bybit_sim::testkit::Admin::new(&sim.rest_url()).stats().await;
    let requests = stats["requests"].as_object().unwrap();
    let private: Vec<&String> = requests.keys().filter(|p| !p.starts_with("/v5/market/")).collect();
    assert!(private.is_empty(), "only public market data was asked for: {private:?}");
    assert_eq!(stats["accounts"][0]["open_orders"], 0);
}

#[actix_rt::test]
async fn rejected_credentials_at_start_exit_1() {
    let sim = bybit_sim::spawn(bybit_sim::SimConfig {
        accounts: vec![("other".into(), "x".into())],
        ..Default::default()
    })
    .unwrap();
    let bot = start_bot("badcreds", &sim, BotOptions::default());
    let exit = bot.wait_exit(Duration::from_secs(20));
    assert_eq!(exit.code, 1);
    assert!(exit.stderr.contains("credentials rejected"), "{}", exit.stderr);
    assert!(!exit.stderr.contains(SECRET));
}

#[actix_rt::test]
async fn private_stream_auth_refused_takes_the_shutdown_path_and_exits_1() {
    let mut cfg = bybit_sim::SimConfig {
        accounts: vec![(KEY.into(), SECRET.into())],
        ..Default::default()
    };
    cfg.faults.reject_ws_auth = true;
    let sim = bybit_sim::spawn(cfg).unwrap();
    let bot = start_bot("wsauth", &sim, BotOptions::default());
    let exit = bot.wait_exit(Duration::from_secs(45));
    assert_eq!(exit.code, 1, "{}", exit.stdout);
    assert!(exit.stdout.contains("private stream authentication rejected"), "{}", exit.stdout);
    assert_all_steps_ok(&exit.stdout);
    assert!(
        bot_orders(&sim, &["BTCUSDT", "ETHUSDT", "SOLUSDT"]).await.is_empty(),
        "whatever it placed is gone"
    );
}
