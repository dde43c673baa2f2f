//! The web dashboard in a real headless Chromium (Debian's `chromium`), driven over the DevTools
//! protocol: the page renders the bot's orders, and its shutdown button — with the token typed
//! into the prompt — stops the bot cleanly. `.ci/run` installs Chromium; without it this test
//! says so and does nothing.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::*;

const CHROMIUM: &str = "/usr/bin/chromium";

struct Page {
    conn: bybit_sim::testkit::WsConn,
    next_id: u64,
}

impl Page {
    async fn eval(&mut self, expression: &str) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": "Runtime.evaluate", "params": {"expression": expression, "returnByValue": true, "awaitPromise": true}});
        self.conn.send(ws::Message::Text(msg.to_string().into())).await.unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.conn.next())
                .await
                .expect("DevTools answers")
                .unwrap()
                .unwrap();
            if let ws::Frame::Text(t) = frame {
                let v: Value = serde_json::from_slice(&t).unwrap();
                if v["id"] == id {
                    return v["result"]["result"]["value"].clone();
                }
            }
        }
    }
}

#[actix_rt::test]
async fn dashboard_renders_orders_and_its_button_shuts_the_bot_down() {
    if !std::path::Path::new(CHROMIUM).exists() {
        eprintln!("SKIPPED: {CHROMIUM} is not installed (apt-get install chromium); .ci/run installs it");
        return;
    }
    let sim = start_sim();
    let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    let mut bot = start_bot("dashboard", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &symbols, 24, Duration::from_secs(30)).await;
    let profile = temp_dir("chromium-profile");
    let mut browser = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(bot.control_url("/"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    let port = loop {
        if let Ok(s) = std::fs::read_to_string(profile.join("DevToolsActivePort")) {
            if let Some(p) = s.lines().next().and_then(|l| l.parse::<u16>().ok()) {
                break p;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "chromium exposes DevTools");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let targets: Vec<Value> = loop {
        let list: Vec<Value> = awc::Client::new()
            .get(format!("http://127.0.0.1:{port}/json/list"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if list
            .iter()
            .any(|t| t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(&bot.control_url("/"))))
        {
            break list;
        }
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let page = targets.iter().find(|t| t["type"] == "page").unwrap();
    let (_, conn) = awc::Client::new()
        .ws(page["webSocketDebuggerUrl"].as_str().unwrap())
        .max_frame_size(64 << 20)
        .connect()
        .await
        .unwrap();
    let mut page = Page { conn, next_id: 0 };
    // The page renders the orders from /status.
    let rendered = loop {
        let n = page
            .eval("document.querySelectorAll('#orders tbody tr').length")
            .await
            .as_u64()
            .unwrap_or(0);
        if n >= 24 {
            break n;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "orders rendered: {n}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(rendered >= 24);
    let first = page.eval("document.querySelector('#orders tbody tr td').textContent").await;
    assert!(first.as_str().unwrap().starts_with(PREFIX), "{first}");
    // The request budget: one row per endpoint the bot has used, with its limit.
    let budget = page.eval("document.querySelector('#budget tbody').textContent").await;
    assert!(
        budget.to_string().contains("/v5/order/create-batch") && budget.to_string().contains("/10"),
        "{budget}"
    );
    let conns = page.eval("document.querySelector('#conns').textContent").await;
    assert!(conns.as_str().unwrap().contains("connected"));
    // A wrong token is refused and changes nothing.
    page.eval("window.prompt = () => 'wrong'; document.getElementById('shutdown').click(); 1")
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(page
        .eval("document.getElementById('shutdown-state').textContent")
        .await
        .as_str()
        .unwrap()
        .contains("refused (401)"));
    assert!(bot.is_running());
    // The right token shuts the bot down.
    page.eval(&format!(
        "window.prompt = () => '{TOKEN}'; document.getElementById('shutdown').click(); 1"
    ))
    .await;
    let exit = bot.wait_exit(Duration::from_secs(40));
    let _ = browser.kill();
    let _ = browser.wait();
    assert_eq!(exit.code, 0);
    assert!(exit.stdout.contains("reason: POST /shutdown"), "{}", exit.stdout);
    assert!(bot_orders(&sim, &symbols).await.is_empty());
}
