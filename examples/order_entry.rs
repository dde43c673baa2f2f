//! Order entry by REST vs by the trade WebSocket, at equal simulated latency (0/10/50 ms added by
//! the simulator to every REST request and every `/v5/trade` frame).
//!
//! 1. Round trips through mmbot's own clients (`RestClient::post` vs `RestClient::post_ws`):
//!    three symbols side by side, each sending a 20-order create-batch and then the matching
//!    cancel-batch, over and over; p50/p99/max of the time from the call to its decoded answer.
//! 2. The release binary with `--order-entry rest|websocket`: startup to full quotes (3 symbols ×
//!    25 levels a side, creates only) and the order step's time after SIGTERM, from the exchange.
//!
//! Prints markdown tables (bench/order_entry.sh; docs/benchmarks.md).
//!   order_entry [ROUNDS_AT_0MS=300]

mod kit;

use std::process::Stdio;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bybit_sim::testkit::{open_orders_of_first_account, percentile, watch_flat_and_exit, Admin};
use bybit_sim::{SimConfig, SimHandle};
use bybit_v5::rest::path;
use mmbot_actors::budget::rate_governor::{Governor, RateLimitSettings};
use mmbot_actors::exchange::rest_client::{Admission, RestClient, RestSettings};
use mmbot_actors::exchange::secret::Secret;
use mmbot_actors::exchange::ws_trade_client::{WsTradeClient, WsTradeSettings};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const KEY: &str = "oe-key";
const SECRET: &str = "oe-secret";
const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const BATCH: usize = 20;
const LATENCIES: [u64; 3] = [0, 10, 50];

fn sim() -> SimHandle {
    let mut cfg = SimConfig {
        accounts: vec![(KEY.into(), SECRET.into())],
        ..Default::default()
    };
    cfg.limits.orders_per_sec = 1_000_000;
    cfg.limits.reads_per_sec = 1_000_000;
    cfg.limits.ip_requests_per_5s = 1_000_000;
    bybit_sim::spawn(cfg).expect("sim")
}

fn unlimited() -> Governor {
    Governor::new(RateLimitSettings {
        orders_per_sec: 1_000_000,
        reads_per_sec: 1_000_000,
        ip_requests_per_5s: 1_000_000,
        ..Default::default()
    })
}

/// mmbot's REST client against `sim`, with a budget that never holds a request.
fn rest_client(sim: &SimHandle) -> RestClient {
    RestClient::new(
        RestSettings {
            base_url: sim.rest_url(),
            api_key: KEY.into(),
            api_secret: Secret::new(SECRET),
            recv_window_ms: 5000,
            timeout: Duration::from_secs(5),
        },
        unlimited(),
        None,
    )
}

/// mmbot's trade-socket client against `sim`, connected and authenticated.
async fn trade_client(sim: &SimHandle) -> WsTradeClient {
    WsTradeClient::connect(WsTradeSettings {
        url: sim.ws_trade_url(),
        api_key: KEY.into(),
        api_secret: Secret::new(SECRET),
        recv_window_ms: 5000,
        timeout: Duration::from_secs(5),
    })
    .await
    .expect("trade socket")
}

/// A far-away resting price and the smallest size for `symbol`.
fn far_bid(symbol: &str) -> (Decimal, Decimal) {
    let spec = bybit_sim::market::instrument::select(&[symbol]).expect("instrument").remove(0);
    let price = (spec.start_price * Decimal::new(8, 1) / spec.tick_size).floor() * spec.tick_size;
    let qty = (spec.min_notional * Decimal::TWO / price / spec.qty_step).ceil() * spec.qty_step;
    (spec.fmt_price(price), qty.max(spec.min_qty).normalize())
}

#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Rest,
    Socket,
}

/// One symbol's loop: create-batch then cancel-batch, `rounds` times; every round trip in µs.
async fn symbol_loop(client: RestClient, ws: Option<Rc<WsTradeClient>>, symbol: &'static str, tag: String, rounds: usize) -> Vec<f64> {
    let (price, qty) = far_bid(symbol);
    let mut rtts = Vec::with_capacity(rounds * 2);
    for r in 0..rounds {
        let links: Vec<String> = (0..BATCH).map(|i| format!("{tag}{r}x{i}")).collect();
        let create = json!({"category": "linear", "request": links.iter().map(|l| json!({
            "symbol": symbol, "side": "Buy", "orderType": "Limit", "qty": qty.to_string(),
            "price": price.to_string(), "timeInForce": "PostOnly", "orderLinkId": l,
        })).collect::<Vec<_>>()})
        .to_string();
        let cancel = json!({"category": "linear", "request": links.iter().map(|l| json!({
            "symbol": symbol, "orderLinkId": l,
        })).collect::<Vec<_>>()})
        .to_string();
        for (endpoint, body) in [(path::ORDER_CREATE_BATCH, create), (path::ORDER_CANCEL_BATCH, cancel)] {
            let t = Instant::now();
            let a = match &ws {
                Some(ws) => client.post_ws(ws, endpoint, &body, Admission::Ask(BATCH as u32)).await,
                None => client.post(endpoint, body, Admission::Ask(BATCH as u32)).await,
            };
            rtts.push(t.elapsed().as_secs_f64() * 1e6);
            let a = a.unwrap_or_else(|e| panic!("{endpoint}: {e}"));
            let refused = a.ext["list"].as_array().map_or(0, |l| l.iter().filter(|i| i["code"] != 0).count());
            assert_eq!(refused, 0, "{endpoint} refused items: {}", a.ext);
        }
    }
    rtts
}

async fn round_trips(transport: Transport, latency: u64, rounds: usize, symbols: usize) -> Vec<f64> {
    let sim = sim();
    Admin::new(&sim.rest_url()).set_faults(&json!({"latency_ms": {"*": latency}})).await;
    let client = rest_client(&sim);
    let ws = match transport {
        Transport::Rest => None,
        Transport::Socket => Some(Rc::new(trade_client(&sim).await)),
    };
    // Warm-up: connections opened, caches filled.
    let _ = symbol_loop(client.clone(), ws.clone(), SYMBOLS[0], "w".into(), 3).await;
    let loops = SYMBOLS[..symbols]
        .iter()
        .enumerate()
        .map(|(i, s)| symbol_loop(client.clone(), ws.clone(), s, format!("s{i}r"), rounds));
    futures_util::future::join_all(loops).await.concat()
}

/// The transport's own floor: a request the exchange answers without work (`/v5/market/time`
/// by REST, `ping` on the socket), one at a time, no added latency; µs.
async fn floor(transport: Transport, n: usize) -> Vec<f64> {
    let sim = sim();
    let client = rest_client(&sim);
    let ws = trade_client(&sim).await;
    let mut out = Vec::with_capacity(n);
    for i in 0..n + 20 {
        let t = Instant::now();
        match transport {
            Transport::Rest => {
                client.public_get(path::TIME, "").await.expect("time");
            }
            Transport::Socket => {
                let id = ws.next_req_id();
                ws.exchange(&id, format!(r#"{{"reqId":"{id}","op":"ping"}}"#)).await.expect("pong");
            }
        }
        // The first few open connections and warm caches.
        if i >= 20 {
            out.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    out
}

async fn part_zero() {
    println!("## Transport floor (a request answered without work, one at a time, no added latency)\n");
    println!("| transport | requests | p50 µs | p99 µs | max µs |");
    println!("|---|---|---|---|---|");
    for (name, t) in [
        ("REST (GET /v5/market/time)", Transport::Rest),
        ("WebSocket (ping)", Transport::Socket),
    ] {
        let v = floor(t, 2000).await;
        println!(
            "| {name} | {} | {:.0} | {:.0} | {:.0} |",
            v.len(),
            percentile(&v, 50.0),
            percentile(&v, 99.0),
            v.iter().cloned().fold(0.0, f64::max)
        );
    }
    println!();
}

async fn part_one(rounds_at_0: usize) {
    println!("## Order round trip by transport (mmbot's clients, 3 symbols side by side, 20-order batches)\n");
    println!("| added latency ms | transport | requests | p50 ms | p99 ms | max ms | p50 WS/REST |");
    println!("|---|---|---|---|---|---|---|");
    for latency in LATENCIES {
        let rounds = match latency {
            0 => rounds_at_0,
            10 => rounds_at_0 / 2,
            _ => rounds_at_0 / 5,
        }
        .max(10);
        let symbols: usize = std::env::var("OE_SYMBOLS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
        let rest = round_trips(Transport::Rest, latency, rounds, symbols).await;
        let socket = round_trips(Transport::Socket, latency, rounds, symbols).await;
        let ms = |v: &[f64], p: f64| percentile(v, p) / 1000.0;
        for (name, v) in [("REST", &rest), ("WebSocket", &socket)] {
            let ratio = if name == "REST" {
                "".to_string()
            } else {
                format!("{:.2}", ms(&socket, 50.0) / ms(&rest, 50.0))
            };
            println!(
                "| {latency} | {name} | {} | {:.3} | {:.3} | {:.3} | {ratio} |",
                v.len(),
                ms(v, 50.0),
                ms(v, 99.0),
                v.iter().cloned().fold(0.0, f64::max) / 1000.0
            );
        }
    }
    println!();
}

fn bot_config(sim: &SimHandle, control: &str, data: &std::path::Path) -> String {
    let list = SYMBOLS.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(",");
    format!(
        r#"mode = "paper"
symbols = [{list}]
[exchange]
rest_url = "{rest}"
ws_public_url = "{public}"
ws_private_url = "{private}"
ws_trade_url = "{trade}"
request_timeout_ms = 5000
connector_thread = "{connector}"
[exchange.rate_limits]
orders_per_sec = 100000
reads_per_sec = 100000
ip_requests_per_5s = 1000000
[strategy]
levels = 25
spread_bps = 30
level_step_bps = 1
order_notional = 20
[risk]
max_open_orders = 10000
max_position_notional = 1000000
max_total_notional = 10000000
max_drawdown = 0
stale_book_ms = 60000
[order_manager]
link_prefix = "oe"
{market_thread}[control]
listen = "{control}"
[recorder]
dir = "{data}"
"#,
        rest = sim.rest_url(),
        public = sim.ws_public_url(),
        private = sim.ws_private_url(),
        trade = sim.ws_trade_url(),
        data = data.display(),
        connector = kit::connector_thread(),
        market_thread = kit::market_thread_toml(),
    )
}

fn count(stats: &Value, prefix: &str) -> u64 {
    stats["requests"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(p, _)| p.starts_with(prefix))
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0)
}

/// One whole-process run: startup → full quotes, then SIGTERM → flat / exit.
async fn whole(transport: &str, latency: u64) -> String {
    let sim = sim();
    let admin = Admin::new(&sim.rest_url());
    admin.set_faults(&json!({"latency_ms": {"*": latency}})).await;
    let dir = std::env::temp_dir().join(format!("mmbot-oe-{}-{transport}-{latency}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let control = kit::free_control_addr();
    std::fs::write(dir.join("mmbot.toml"), bot_config(&sim, &control, &dir.join("data"))).unwrap();
    let started = Instant::now();
    let mut child = kit::mmbot_run(&dir.join("mmbot.toml"), KEY, SECRET, "error")
        .args(["--order-entry", transport])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mmbot binary (cargo build --release)");
    let wanted = (SYMBOLS.len() * 25 * 2) as u64;
    let full = loop {
        if open_orders_of_first_account(&admin).await >= wanted {
            break Some(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(60) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = admin.stats().await;
    let (rest_n, ws_n) = (count(&stats, "/v5/order/"), count(&stats, "/v5/trade:"));
    let sent = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let (flat, exited) = watch_flat_and_exit(&mut child, &admin, sent, Duration::from_secs(30), Duration::from_millis(1)).await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let ms = |d: Option<Duration>| d.map_or("–".into(), |d| format!("{:.0}", d.as_secs_f64() * 1000.0));
    format!(
        "| {latency} | {transport} | {} | {rest_n} / {ws_n} | {} | {} | {} |",
        ms(full),
        ms(flat),
        ms(exited.map(|e| e.0)),
        exited.map_or("–".into(), |e| e.1.to_string())
    )
}

async fn part_two() {
    println!("## The binary by transport (3 symbols × 25 levels a side, from the exchange's side)\n");
    println!("| added latency ms | order entry | startup → 150 orders ms | order requests REST / socket | SIGTERM → flat ms | SIGTERM → exit ms | exit |");
    println!("|---|---|---|---|---|---|---|");
    for latency in LATENCIES {
        for transport in ["rest", "websocket"] {
            println!("{}", whole(transport, latency).await);
        }
    }
    println!();
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    actix_rt::System::new().block_on(async move {
        part_zero().await;
        part_one(rounds).await;
        if std::env::var("OE_ONLY_CLIENTS").is_err() {
            part_two().await;
        }
    });
}
