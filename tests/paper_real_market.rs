//! The unmodified `mmbot run` paper-trading on a real market: on a bybit-sim replaying a real
//! Bybit capture (imported here from `../shared/market-data`, never copied in), on a bybit-sim
//! mirroring another one's live market, and on the embedded exchange with `[paper] market =
//! "replay"`. Judged on the exchange: the bot's orders stood at the real market's prices, the
//! market's trades filled some of them, and nothing of the bot's is left open after SIGTERM.

mod support;

use std::time::Duration;

use bybit_sim::market::source::MarketSource;
use rust_decimal::Decimal;
use serde_json::Value;
use support::captures::import_capture;
use support::replay::{replay_sim, wait_replay_end};
use support::*;

/// Quotes near the touch, so the real market's trades reach them within seconds.
fn near_the_touch(symbol: &str) -> String {
    format!("[strategy.symbols.{symbol}]\nspread_bps = 1\nlevel_step_bps = 1\n")
}

async fn sim_json(sim: &bybit_sim::SimHandle, path: &str) -> Value {
    awc::Client::new()
        .get(format!("{}{path}", sim.rest_url()))
        .send()
        .await
        .unwrap()
        .json()
        .limit(1 << 26)
        .await
        .unwrap()
}

/// The bot's orders on the exchange (open and closed) and its executions.
async fn judged(sim: &bybit_sim::SimHandle, symbol: &str) -> (Vec<Value>, Vec<Value>) {
    let orders: Vec<Value> = sim_json(sim, &format!("/sim/orders?prefix={PREFIX}-"))
        .await
        .as_array()
        .unwrap()
        .clone();
    let execs = exchange(sim)
        .get("/v5/execution/list", &format!("category=linear&symbol={symbol}&limit=100"))
        .await
        .unwrap()
        .body["result"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (orders.into_iter().filter(|o| o["symbol"] == symbol).collect(), execs)
}

/// Every order within `bps` of `mid`.
fn near(orders: &[Value], mid: Decimal, bps: i64) -> bool {
    orders.iter().all(|o| {
        let p = dec(&o["price"]);
        ((p - mid) / mid).abs() * Decimal::from(10_000) <= Decimal::from(bps)
    })
}

#[actix_rt::test]
async fn mmbot_paper_trades_on_a_replay_of_bybits_market() {
    let dir = temp_dir("paper-replay");
    let files = import_capture("cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst", &dir.join("market"));
    let sim = replay_sim(&files["SOLUSDT"], "SOLUSDT", 2.0);
    let mut bot = start_bot_in(
        dir,
        &sim,
        BotOptions {
            symbols: vec!["SOLUSDT"],
            levels: 2,
            tail: near_the_touch("SOLUSDT"),
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &["SOLUSDT"], 4, Duration::from_secs(30)).await;
    // The whole capture plays (~40 s at twice the speed).
    wait_replay_end(&sim, Duration::from_secs(60)).await;
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    assert!(bot_orders(&sim, &["SOLUSDT"]).await.is_empty(), "no order of the bot is left");
    let (orders, execs) = judged(&sim, "SOLUSDT").await;
    // SOLUSDT traded near 77.3 in the capture (the shipped table would start a walk at 100).
    assert!(
        near(&orders, "77.3".parse().unwrap(), 100),
        "quotes at the real market's prices: {orders:?}"
    );
    assert!(
        !execs.is_empty(),
        "the recording's trades filled some quotes; orders: {}",
        orders.len()
    );
    for e in &execs {
        let t: u64 = e["execTime"].as_str().unwrap().parse().unwrap();
        assert!(
            (1_786_310_000_000..1_786_311_000_000).contains(&t),
            "fills stamped in the recording's clock: {e}"
        );
    }
    // The bot counted them as its own (stamped in the exchange's clock, months before the
    // bot's): its PnL moved.
    assert!(
        exit.stdout.contains("PnL") && !exit.stdout.contains("PnL 0 USDT"),
        "{}",
        exit.stdout
    );
}

#[actix_rt::test]
async fn mmbot_paper_trades_on_a_mirror_of_a_live_market() {
    let upstream = start_sim_with(|c| {
        c.instruments = bybit_sim::market::instrument::select(&["BTCUSDT"]).unwrap();
        c.market.trade_probability = 0.6;
    });
    let mirror = start_sim_with(|c| {
        c.instruments = bybit_sim::market::instrument::select(&["BTCUSDT"]).unwrap();
        c.source = MarketSource::Mirror {
            ws_url: upstream.ws_public_url(),
            rest_url: Some(upstream.rest_url()),
        };
    });
    let mut bot = start_bot(
        "paper-mirror",
        &mirror,
        BotOptions {
            symbols: vec!["BTCUSDT"],
            levels: 2,
            tail: near_the_touch("BTCUSDT"),
            ..Default::default()
        },
    );
    wait_for_orders(&mirror, &mut bot, &["BTCUSDT"], 4, Duration::from_secs(30)).await;
    let mut execs = Vec::new();
    for _ in 0..300 {
        execs = judged(&mirror, "BTCUSDT").await.1;
        if !execs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!execs.is_empty(), "the upstream's trades reached the bot's quotes on the mirror");
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    assert!(bot_orders(&mirror, &["BTCUSDT"]).await.is_empty(), "no order of the bot is left");
    // Nothing of the bot's ever reached the upstream: its account there saw no order.
    assert!(bot_orders(&upstream, &["BTCUSDT"]).await.is_empty());
    let upstream_log = sim_json(&upstream, &format!("/sim/orders?prefix={PREFIX}-")).await;
    assert_eq!(upstream_log.as_array().unwrap().len(), 0);
}

#[test]
fn mmbot_run_replay_paper_trades_on_the_embedded_exchange_replaying_the_recordings() {
    let dir = temp_dir("paper-embedded-replay");
    let files = import_capture("cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst", &dir.join("market"));
    let control = free_port();
    let config = format!(
        r#"mode = "paper"
symbols = ["SOLUSDT", "DOGEUSDT"]
[paper]
replay_speed = 4
queue_model = "prob_power:2"
feed_latency_ms = "recorded"
order_latency_ms = 5
[strategy]
levels = 2
spread_bps = 1
level_step_bps = 1
[control]
listen = "{control}"
[recorder]
dir = "{data}"
"#,
        data = dir.join("data").display(),
    );
    let path = dir.join("mmbot.toml");
    std::fs::write(&path, config).unwrap();
    let (code, out) = mmbot_subcommand("check-config", &dir);
    assert_eq!(code, 0, "{out}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mmbot"))
        .args(["run", "--config"])
        .arg(&path)
        // What the README shows: the recordings named on the command line.
        .arg("--replay")
        .args([&files["SOLUSDT"], &files["DOGEUSDT"]])
        .env("MMBOT_CONTROL_TOKEN", TOKEN)
        .current_dir(&dir)
        .stdout(std::fs::File::create(dir.join("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(12));
    assert!(
        child.try_wait().unwrap().is_none(),
        "{}",
        std::fs::read_to_string(dir.join("stderr.txt")).unwrap()
    );
    // SAFETY: kill(2) on our own child with SIGTERM.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    let stdout = std::fs::read_to_string(dir.join("stdout.txt")).unwrap();
    let stderr = std::fs::read_to_string(dir.join("stderr.txt")).unwrap();
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("zero open orders verified on the exchange"), "{stdout}");
    assert!(stderr.contains("replay"), "the embedded exchange says what it plays: {stderr}");
    let cancelled = stdout
        .lines()
        .find(|l| l.contains("order_manager") && l.contains("cancelled"))
        .unwrap_or("");
    assert!(!cancelled.contains("cancelled 0 orders"), "it quoted: {stdout}");
}
