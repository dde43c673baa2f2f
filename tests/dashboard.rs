//! The web dashboard in a real headless Chromium (Debian's `chromium`), driven over the DevTools
//! protocol: the page renders the bot's orders, its header totals and a chart per symbol, with
//! every number rounded; its shutdown button — with the token typed into the prompt — stops the
//! bot, the page shows each step as it starts, and keeps the final report after the server goes. `.ci/run` installs Chromium; without it this test
//! says so and does nothing.

mod support;

use std::os::unix::process::CommandExt;
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
        let params = json!({"expression": expression, "returnByValue": true, "awaitPromise": true});
        self.call("Runtime.evaluate", params).await["result"]["value"].clone()
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params});
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
                    return v["result"].clone();
                }
            }
        }
    }
}

/// The page as `<name>.png` in target/tmp, and in MMBOT_DASHBOARD_SCREENSHOT_DIR when set
/// (`docs/` keeps a pair: `MMBOT_DASHBOARD_SCREENSHOT_DIR=docs MMBOT_DASHBOARD_WARMUP_S=120`).
async fn screenshot(page: &mut Page, name: &str) {
    use base64::Engine as _;
    let shot = page
        .call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true}))
        .await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("a screenshot"))
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.png")), &png).unwrap();
    if let Ok(dir) = std::env::var("MMBOT_DASHBOARD_SCREENSHOT_DIR") {
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), &png).unwrap();
    }
}

/// A headless Chromium with its own profile: killed, then its profile removed, when dropped.
struct Chromium {
    child: std::process::Child,
    _profile: TestDir,
}

impl Drop for Chromium {
    /// The whole process group: its renderer and GPU processes would write on into the profile.
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group of our own child, which leads it.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Headless Chromium on `url`, and its page over the DevTools protocol.
async fn open_in_chromium(url: &str) -> (Chromium, Page) {
    let profile = temp_dir("chromium-profile");
    let browser = Command::new(CHROMIUM)
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
            "--window-size=1400,1100",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        // Its shared-memory files too, so they go with the profile.
        .env("TMPDIR", &*profile)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
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
            .any(|t| t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(url)))
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
    let browser = Chromium {
        child: browser,
        _profile: profile,
    };
    (browser, Page { conn, next_id: 0 })
}

#[actix_rt::test]
async fn dashboard_renders_orders_and_its_button_shuts_the_bot_down() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is not installed (apt-get install chromium); .ci/run installs it"
    );
    let sim = start_sim();
    let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    let mut bot = start_bot("dashboard", &sim, BotOptions::default());
    wait_for_orders(&sim, &mut bot, &symbols, 24, Duration::from_secs(30)).await;
    let started = Instant::now();
    let (browser, mut page) = open_in_chromium(&bot.control_url("/")).await;
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
    // The header's totals, and a chart per symbol with the book and the bot's levels drawn.
    let cards = page.eval("document.getElementById('cards').textContent").await;
    for label in ["total PnL", "equity", "drawdown / limit", "budget use", "open orders"] {
        assert!(cards.as_str().unwrap().contains(label), "{label} in {cards}");
    }
    loop {
        let lines = page
            .eval("['BTCUSDT','ETHUSDT','SOLUSDT'].map(s => document.querySelectorAll(`#sym-${s} svg.price polyline`).length)")
            .await;
        // bid, ask, mid and the bot's levels (4 a side) for each symbol.
        if lines.as_array().is_some_and(|a| a.iter().all(|n| n.as_u64().unwrap_or(0) >= 11)) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "charts drawn: {lines}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Rounded to tick, step or cent everywhere: no long decimal runs on the page.
    let long = page.eval("(document.body.innerText.match(/\\d\\.\\d{9,}/g) || []).join(' ')").await;
    assert_eq!(long.as_str(), Some(""), "unrounded numbers on the page");
    // For the docs' picture: let the charts fill and some fills happen first.
    if let Some(s) = std::env::var("MMBOT_DASHBOARD_WARMUP_S")
        .ok()
        .and_then(|s: String| s.parse::<u64>().ok())
    {
        // The market jumps now and then, through the bot's levels: fills, positions, PnL.
        let admin = bybit_sim::testkit::Admin::new(&sim.rest_url());
        for i in 0..s / 10 {
            tokio::time::sleep(Duration::from_secs(10)).await;
            let bps = if i % 2 == 0 { 25.0 } else { -35.0 };
            admin.shock(symbols[i as usize % symbols.len()], bps).await;
        }
    }
    screenshot(&mut page, "dashboard").await;
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
    // Every exchange answer 1.5 s late holds the order step for seconds (a hanging cancel-all
    // alone is passed over within ~50 ms): the page shows the step running (with its timeout)
    // and the orders being cancelled, not "Live".
    set_faults(&sim, json!({"latency_ms": {"*": 1500}})).await;
    page.eval(&format!(
        "window.prompt = () => '{TOKEN}'; document.getElementById('shutdown').click(); 1"
    ))
    .await;
    let (mut saw_running, mut saw_cancelling) = (false, false);
    let watching = Instant::now();
    while !(saw_running && saw_cancelling) && watching.elapsed() < Duration::from_secs(10) && bot.is_running() {
        let running = page
            .eval("(document.querySelector('#steps tr.running') || {}).textContent || ''")
            .await;
        saw_running |= running
            .as_str()
            .is_some_and(|t| t.contains("order_manager") && t.contains("running"));
        let orders = page.eval("document.querySelector('#orders tbody').textContent").await;
        saw_cancelling |= orders.as_str().is_some_and(|t| t.contains("Cancelling"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saw_running, "the order step shown while it runs");
    assert!(saw_cancelling, "orders shown as being cancelled while the cancels are on their way");
    let exit = bot.wait_exit(Duration::from_secs(40));
    // The page keeps the final report the server pushed before it went.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let state = page.eval("document.getElementById('shutdown-state').textContent").await;
    let meta = page.eval("document.getElementById('meta').textContent").await;
    let steps = page.eval("document.querySelectorAll('#steps tbody tr').length").await;
    screenshot(&mut page, "dashboard-stopped").await;
    drop(browser);
    assert_eq!(exit.code, 0);
    assert!(exit.stdout.contains("reason: POST /shutdown"), "{}", exit.stdout);
    set_faults(&sim, json!({})).await;
    assert!(bot_orders(&sim, &symbols).await.is_empty());
    assert!(state.as_str().unwrap().contains("exit code 0"), "{state}");
    assert!(meta.as_str().unwrap().contains("has stopped"), "{meta}");
    assert_eq!(steps.as_u64(), Some(7), "every step listed: {steps}");
}

#[actix_rt::test]
async fn off_loopback_the_dashboard_asks_for_the_token_once_per_tab() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is not installed (apt-get install chromium); .ci/run installs it"
    );
    let sim = start_sim();
    let symbols = ["BTCUSDT"];
    let control = std::net::SocketAddr::new("0.0.0.0".parse().unwrap(), free_port().port());
    let mut bot = start_bot(
        "dashboard-token",
        &sim,
        BotOptions {
            symbols: symbols.to_vec(),
            control: Some(control),
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &symbols, 8, Duration::from_secs(30)).await;
    let url = format!("http://127.0.0.1:{}/", control.port());
    let (browser, mut page) = open_in_chromium(&url).await;
    let started = Instant::now();
    let orders_rendered = "document.querySelectorAll('#orders tbody tr').length";
    // The page asks for the token, saying why, and shows no order.
    loop {
        let asks = page.eval("!!document.getElementById('token')").await;
        if asks == Value::Bool(true) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the token page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let why = page.eval("document.body.innerText").await;
    assert!(why.as_str().unwrap().contains("reachable from other hosts"), "{why}");
    assert_eq!(page.eval(orders_rendered).await.as_u64(), Some(0));
    page.eval(&format!(
        "document.getElementById('token').value = '{TOKEN}'; document.getElementById('login').requestSubmit(); 1"
    ))
    .await;
    loop {
        let n = page.eval(orders_rendered).await.as_u64().unwrap_or(0);
        if n >= 8 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "orders rendered with the token: {n}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let kept = page.eval("sessionStorage.getItem('mmbot-control-token')").await;
    assert_eq!(kept.as_str(), Some(TOKEN), "kept for the tab");
    // A reload asks nothing: the tab still holds it.
    page.eval("location.reload(); 1").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reloaded = Instant::now();
    loop {
        let n = page.eval(orders_rendered).await.as_u64().unwrap_or(0);
        if n >= 8 {
            break;
        }
        assert!(reloaded.elapsed() < Duration::from_secs(30), "orders rendered after a reload: {n}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The live feed (/events, read through fetch with the header) renders the status.
    loop {
        let meta = page.eval("document.getElementById('meta').textContent").await;
        if meta.as_str().unwrap_or("").contains("· ready ·") {
            break;
        }
        assert!(reloaded.elapsed() < Duration::from_secs(30), "{meta}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(browser);
    bot.signal(libc::SIGTERM);
    assert_eq!(bot.wait_exit(Duration::from_secs(40)).code, 0);
}
