//! `bybit-sim --market replay` on the shared real captures (imported into the market-data
//! format here, never copied into the repository): pybit's and ccxt's books equal the book
//! rebuilt from the file at the time the simulator reports; orders pybit places fill exactly as
//! the documented risk-averse queue model says, computed here from the file on its own; bad
//! lines, gaps and frames out of order are counted per file while the rest plays.

#[path = "support/replay.rs"]
mod replay_support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;

use rust_decimal::Decimal;
use serde_json::Value;

use replay_support::*;

fn python(script: &str, args: &[&str]) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compat").join(script);
    let out = Command::new("python3").arg(path).args(args).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "{script} (pip install pybit ccxt: CI installs them; without them this fails): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pybit_and_ccxt_books_equal_the_file_rebuilt_at_the_simulators_time() {
    let dir = temp_dir("replay-books");
    let files = import_capture("cryptofeed-bybit-btcusdt-ethusdt.jsonl.zst", &dir);
    let file = files["BTCUSDT"].display().to_string();
    let sim = SimProcess::start(&["--market", "replay", "--replay", &file]);
    let market = get(&sim.url("/sim/market"));
    assert_eq!(market["source"], "replay");
    let out = python("replay_books.py", &[&sim.addr, "sim-key", "sim-secret", "BTCUSDT", "8"]);
    let frames = timed_frames(&files["BTCUSDT"]);
    let mut times = Vec::new();
    // The capture opens with tickers: its book begins a moment in.
    let mut with_book = 0;
    for line in out.lines().filter(|l| l.starts_with('{')) {
        let s: Value = serde_json::from_str(line).unwrap();
        let t = s["time_ms"].as_u64().unwrap();
        let want = PlainBook::at(&frames, t);
        with_book += usize::from(!want.bids.is_empty() && !want.asks.is_empty());
        for client in ["pybit", "ccxt"] {
            assert_eq!(levels(&s[client]["b"]), top(&want.bids, true, 200), "{client}'s bids at {t}");
            assert_eq!(levels(&s[client]["a"]), top(&want.asks, false, 200), "{client}'s asks at {t}");
        }
        times.push(t);
    }
    assert_eq!(times.len(), 8, "{out}");
    assert!(with_book >= 5, "most samples hold a book: {with_book}");
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]) && times[0] < times[7],
        "the replay moved on: {times:?}"
    );
    let first = frames.first().unwrap().at;
    assert!(
        times[0] >= first && times[7] <= frames.last().unwrap().at,
        "times are the recording's"
    );
}

/// What the documented risk-averse model fills of one order, from the file alone: the queue
/// ahead is the level's size when the order arrives; trades of the other side at the price take
/// from it and what passes it fills (whole lots); a level that shrinks caps it; a trade through
/// the price, or the other side's best price reaching it, fills the rest.
fn expected_fill(frames: &[Timed], created: u64, buy: bool, price: Decimal, qty: Decimal, lot: Decimal) -> Decimal {
    let mut book = PlainBook::at(frames, created);
    let level = |b: &PlainBook| {
        if buy { b.bids.get(&price) } else { b.asks.get(&price) }
            .copied()
            .unwrap_or_default()
    };
    let mut ahead = level(&book);
    let mut leaves = qty;
    for f in frames.iter().filter(|f| f.at > created) {
        if leaves.is_zero() {
            break;
        }
        if book.apply(&f.frame) {
            ahead = ahead.min(level(&book));
            let crossed = if buy {
                book.asks.keys().next().is_some_and(|a| *a <= price)
            } else {
                book.bids.keys().next_back().is_some_and(|b| *b >= price)
            };
            if crossed {
                leaves = Decimal::ZERO;
            }
            continue;
        }
        if !f.frame["topic"].as_str().unwrap().starts_with("publicTrade") {
            continue;
        }
        for t in f.frame["data"].as_array().unwrap() {
            let (side, p, q) = (t["S"].as_str().unwrap(), dec(&t["p"]), dec(&t["v"]));
            if (side == "Sell") != buy {
                continue;
            }
            if (buy && p < price) || (!buy && p > price) {
                leaves = Decimal::ZERO;
            } else if p == price {
                ahead -= q;
                if ahead < Decimal::ZERO {
                    let reached = ((-ahead) / lot).floor() * lot;
                    leaves -= reached.min(leaves);
                    ahead = Decimal::ZERO;
                }
            }
        }
    }
    qty - leaves
}

#[test]
fn orders_pybit_places_into_a_replay_fill_as_the_queue_model_computed_from_the_file_says() {
    let dir = temp_dir("replay-fills");
    let files = import_capture("cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst", &dir);
    let file = files["SOLUSDT"].display().to_string();
    let sim = SimProcess::start(&[
        "--market",
        "replay",
        "--replay",
        &file,
        "--replay-speed",
        "2",
        "--queue-model",
        "risk_averse",
    ]);
    let out: Value = serde_json::from_str(python("replay_orders.py", &[&sim.addr, "sim-key", "sim-secret", "SOLUSDT"]).trim()).unwrap();
    let frames = timed_frames(&files["SOLUSDT"]);
    let mut orders = BTreeMap::new();
    for o in out["orders"].as_array().unwrap() {
        orders.insert(o["orderId"].as_str().unwrap().to_string(), o.clone());
    }
    assert_eq!(
        orders.len() as u64,
        out["placed"].as_u64().unwrap(),
        "every order placed is listed once"
    );
    let mut filled_by_exec: BTreeMap<String, Decimal> = BTreeMap::new();
    for e in out["executions"].as_array().unwrap() {
        assert_eq!(e["isMaker"], true, "a resting order fills as a maker");
        let o = &orders[e["orderId"].as_str().unwrap()];
        assert_eq!(dec(&e["execPrice"]), dec(&o["price"]), "filled at its own price");
        *filled_by_exec.entry(e["orderId"].as_str().unwrap().to_string()).or_default() += dec(&e["execQty"]);
    }
    let lot: Decimal = "0.1".parse().unwrap();
    let (mut some_filled, mut some_not) = (false, false);
    for (id, o) in &orders {
        let created: u64 = o["createdTime"].as_str().unwrap().parse().unwrap();
        let want = expected_fill(&frames, created, o["side"] == "Buy", dec(&o["price"]), dec(&o["qty"]), lot);
        let got = filled_by_exec.get(id).copied().unwrap_or_default();
        assert_eq!(got, want, "order {id}: {o}");
        assert_eq!(dec(&o["cumExecQty"]), want, "order {id}'s own record: {o}");
        some_filled |= !want.is_zero();
        some_not |= want.is_zero();
    }
    assert!(some_filled && some_not, "the file fills some of these orders and not others: {out}");
}

#[test]
fn a_bad_line_a_gap_and_a_frame_out_of_order_are_counted_and_the_rest_plays() {
    let dir = temp_dir("replay-bad");
    let files = import_capture("cryptofeed-bybit-btcusdt-ethusdt.jsonl.zst", &dir);
    let text = market_data::reader::read_all(&files["ETHUSDT"]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let book_at = |from: usize| {
        (from..lines.len())
            .find(|i| lines[*i].contains("\"orderbook.") && lines[*i].contains("\"delta\""))
            .unwrap()
    };
    let (a, b) = (book_at(20), book_at(60));
    let mut bad = std::fs::File::create(dir.join("bad.txt")).unwrap();
    for (i, l) in lines.iter().enumerate() {
        if i == b {
            continue; // a delta missing: a gap
        }
        writeln!(bad, "{l}").unwrap();
        if i == 10 {
            writeln!(bad, "not a recorded line").unwrap();
        }
        if i == a {
            writeln!(bad, "{l}").unwrap(); // the same delta again: out of order
        }
    }
    drop(bad);
    let bad = dir.join("bad.txt").display().to_string();
    let good = files["BTCUSDT"].display().to_string();
    let sim = SimProcess::start(&["--market", "replay", "--replay", &format!("{bad},{good}"), "--replay-speed", "20"]);
    let mut m = get(&sim.url("/sim/market"));
    for _ in 0..200 {
        if m["ended"] == true {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        m = get(&sim.url("/sim/market"));
    }
    assert_eq!(m["ended"], true, "{m}");
    let reports = m["files"].as_array().unwrap();
    assert_eq!(
        (
            reports[0]["malformed"].as_u64(),
            reports[0]["gaps"].as_u64(),
            reports[0]["out_of_order"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{m}"
    );
    assert_eq!(
        (reports[1]["malformed"].as_u64(), reports[1]["gaps"].as_u64()),
        (Some(0), Some(0)),
        "the good file: {m}"
    );
    // The good file played to its end: its last book is the simulator's.
    let frames = timed_frames(&files["BTCUSDT"]);
    let want = PlainBook::at(&frames, u64::MAX);
    let got = get(&sim.url("/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=200"));
    assert_eq!(levels(&got["result"]["b"]), top(&want.bids, true, 200));
    assert_eq!(levels(&got["result"]["a"]), top(&want.asks, false, 200));
    post(&sim.url("/sim/market?paused=true"));
}

#[test]
fn a_feed_latency_delays_what_clients_see_and_an_order_latency_what_reaches_the_engine() {
    let dir = temp_dir("replay-latency");
    let files = import_capture("cryptofeed-bybit-btcusdt-ethusdt.jsonl.zst", &dir);
    let file = files["BTCUSDT"].display().to_string();
    let sim = SimProcess::start(&[
        "--market",
        "replay",
        "--replay",
        &file,
        "--feed-latency-ms",
        "800",
        "--order-latency-ms",
        "600",
    ]);
    // The REST book is the engine's, at once; the stream's frames for it come 800 ms later.
    let script = format!(
        r#"
import json, threading, time, urllib.request, websocket
addr = "{addr}"
seen_rest = {{}}
seen_ws = {{}}
def rest():
    end = time.time() + 6
    while time.time() < end:
        with urllib.request.urlopen(f"http://{{addr}}/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=1000") as r:
            u = json.loads(r.read())["result"]["u"]
        seen_rest.setdefault(u, time.time())
        time.sleep(0.01)
ws = websocket.create_connection(f"ws://{{addr}}/v5/public/linear")
ws.send(json.dumps({{"op": "subscribe", "args": ["orderbook.1000.BTCUSDT"]}}))
t = threading.Thread(target=rest); t.start()
ws.settimeout(1)
end = time.time() + 6
while time.time() < end:
    try:
        m = json.loads(ws.recv())
    except Exception:
        continue
    if m.get("type") == "delta":
        seen_ws.setdefault(m["data"]["u"], time.time())
t.join()
delays = [seen_ws[u] - seen_rest[u] for u in seen_ws if u in seen_rest]
print(json.dumps(delays))
"#,
        addr = sim.addr
    );
    let out = Command::new("python3").args(["-c", &script]).output().expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let delays: Vec<f64> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(delays.len() >= 10, "frames seen both ways: {delays:?}");
    let mut sorted = delays.clone();
    sorted.sort_by(f64::total_cmp);
    // Wide margins: the REST poll runs every 10 ms and both cores may be busy.
    assert!(
        sorted[sorted.len() / 2] > 0.6,
        "the stream is ~800 ms behind the engine: {sorted:?}"
    );
    // An order takes 600 ms to reach the engine: its answer cannot come sooner.
    let started = std::time::Instant::now();
    let book = get(&sim.url("/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=1"));
    let bid = dec(&book["result"]["b"][0][0]) - Decimal::from(100);
    let body = serde_json::json!({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
        "qty": "0.001", "price": bid.to_string(), "timeInForce": "PostOnly"});
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let sig = bybit_v5::sign::rest_headers("sim-key", "sim-secret", ts.parse().unwrap(), "5000", &body.to_string());
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sf",
        "--max-time",
        "10",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        &body.to_string(),
    ]);
    for (k, v) in sig {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    let answer = cmd.arg(sim.url("/v5/order/create")).output().unwrap();
    let answer: Value = serde_json::from_slice(&answer.stdout).unwrap();
    assert_eq!(answer["retCode"], 0, "{answer}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_file_of_another_format_is_refused_with_the_formats_it_takes() {
    let capture = shared("cryptofeed-bybit-btcusdt-ethusdt.jsonl.zst");
    let out = Command::new(env!("CARGO_BIN_EXE_bybit-sim"))
        .args(["--listen", "127.0.0.1:0", "--market", "replay", "--replay"])
        .arg(&capture)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not the market-data format") && err.contains("mmbot import --from"),
        "{err}"
    );
}
