//! The control port lets no one in: listening on 0.0.0.0, the dashboard and the read endpoints
//! need the token (the probes and /metrics do not), wrong tokens are throttled per address and
//! counted, the right one from loopback always works; a live bot refuses a placeholder token,
//! and a config file holding a secret that others may read is warned of.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::*;

/// A control address on every interface, at a free port.
fn any_interface() -> SocketAddr {
    SocketAddr::new("0.0.0.0".parse().unwrap(), free_port().port())
}

#[actix_rt::test]
async fn off_loopback_every_read_needs_the_token_and_wrong_ones_are_throttled() {
    let sim = start_sim();
    let symbols = ["BTCUSDT"];
    let mut bot = start_bot(
        "control-auth",
        &sim,
        BotOptions {
            symbols: symbols.to_vec(),
            control: Some(any_interface()),
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &symbols, 8, Duration::from_secs(30)).await;
    let port = bot.control.port();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    for path in ["/", "/status", "/history"] {
        let (code, body) = http_get(&url(path), None).await;
        assert_eq!(code, 401, "{path} without the token");
        assert!(
            !body.contains("open_orders") && !body.contains(PREFIX),
            "{path} leaks nothing: {body}"
        );
        assert_eq!(http_get(&url(path), Some(TOKEN)).await.0, 200, "{path} with the token");
    }
    let (_, page) = http_get(&url("/"), None).await;
    assert!(
        page.contains("control token") && page.contains("sessionStorage"),
        "the page says why it asks"
    );
    let events = awc::Client::new().get(url("/events")).send().await.unwrap();
    assert_eq!(events.status().as_u16(), 401, "/events without the token");
    let events = awc::Client::new().get(url("/events")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(events.status().as_u16(), 200, "/events with the token");
    drop(events);
    // /readyz needs no token: it turns 200 once the bot's quotes rest.
    bot.wait_ready(Duration::from_secs(20)).await;
    for path in ["/healthz", "/metrics", "/dashboard.js", "/login.js"] {
        assert_eq!(http_get(&url(path), None).await.0, 200, "{path} stays open");
    }

    // 20 wrong tokens in a second: the first 10 are 401, then 429 with Retry-After.
    let mut codes = Vec::new();
    let mut retry_after = None;
    for i in 0..20 {
        let r = awc::Client::new()
            .post(url("/shutdown"))
            .bearer_auth(format!("wrong-{i}"))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() == 429 {
            retry_after = r.headers().get("Retry-After").and_then(|v| v.to_str().ok()).map(String::from);
        }
        codes.push(r.status().as_u16());
    }
    assert_eq!(codes.iter().filter(|c| **c == 401).count(), 10, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 10, "{codes:?}");
    let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    assert!(bot.is_running(), "no wrong token stopped it");
    // From loopback the right token still works.
    assert_eq!(http_get(&url("/status"), Some(TOKEN)).await.0, 200);
    let (_, metrics) = http_get(&url("/metrics"), None).await;
    assert_eq!(
        metric(&metrics, "mmbot_control_auth_failures_total"),
        10.0,
        "429s are not counted again"
    );
    let r = awc::Client::new().post(url("/shutdown")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    let warns = exit
        .stderr
        .lines()
        .filter(|l| l.contains("wrong bearer token from 127.0.0.1"))
        .count();
    assert_eq!(warns, 1, "one WARN line a minute per address:\n{}", exit.stderr);
    assert!(!exit.stderr.contains(TOKEN), "the token is never logged");
}

#[actix_rt::test]
async fn metrics_and_loopback_reads_follow_the_settings() {
    let sim = start_sim();
    let symbols = ["BTCUSDT"];
    let mut bot = start_bot(
        "control-auth-always",
        &sim,
        BotOptions {
            symbols: symbols.to_vec(),
            control_extra: "read_auth = \"always\"\nmetrics_auth = true",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &symbols, 8, Duration::from_secs(30)).await;
    assert_eq!(
        http_get(&bot.control_url("/status"), None).await.0,
        401,
        "read_auth = always on loopback"
    );
    assert_eq!(http_get(&bot.control_url("/metrics"), None).await.0, 401, "metrics_auth");
    assert_eq!(http_get(&bot.control_url("/metrics"), Some(TOKEN)).await.0, 200);
    bot.wait_ready(Duration::from_secs(20)).await;
    bot.signal(libc::SIGTERM);
    assert_eq!(bot.wait_exit(Duration::from_secs(40)).code, 0);
}

#[actix_rt::test]
async fn a_live_bot_refuses_a_placeholder_token_and_warns_of_a_readable_secret() {
    let sim = start_sim();
    let placeholder = "replace-me-with-a-long-random-token";
    let bot = start_bot(
        "placeholder-token",
        &sim,
        BotOptions {
            mode: "live",
            symbols: vec!["BTCUSDT"],
            env: vec![("MMBOT_CONTROL_TOKEN", placeholder)],
            ..Default::default()
        },
    );
    let dir = bot.dir.clone();
    let exit = bot.wait_exit(Duration::from_secs(30));
    assert_eq!(exit.code, 1, "{}", exit.stderr);
    assert!(
        exit.stderr.contains("placeholder") && exit.stderr.contains("openssl rand -hex 32"),
        "{}",
        exit.stderr
    );
    assert_eq!(
        bybit_sim::testkit::Admin::new(&sim.rest_url()).requests(0).await.len(),
        0,
        "nothing sent"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mmbot"))
        .args(["check-config", "--config"])
        .arg(dir.join("mmbot.toml"))
        .env("MMBOT_API_KEY", KEY)
        .env("MMBOT_API_SECRET", SECRET)
        .env("MMBOT_CONTROL_TOKEN", placeholder)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("control.token"),
        "check-config names it"
    );

    // The secret in a 0644 file: the start says so, with the fix.
    let mut bot = start_bot(
        "readable-secret",
        &sim,
        BotOptions {
            symbols: vec!["BTCUSDT"],
            exchange: "api_secret = \"e2e-secret\"",
            ..Default::default()
        },
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(bot.dir.join("mmbot.toml")).unwrap().permissions().mode();
    assert_ne!(mode & 0o044, 0, "the test's config is group/world-readable ({mode:o})");
    wait_for_orders(&sim, &mut bot, &["BTCUSDT"], 8, Duration::from_secs(30)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0);
    assert!(
        exit.stderr.contains("chmod 600") && exit.stderr.contains("exchange.api_secret"),
        "{}",
        exit.stderr
    );
    assert!(!exit.stderr.contains("e2e-secret"), "never the secret itself");
}
