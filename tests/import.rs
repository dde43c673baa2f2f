//! `mmbot import` on real captures (`../shared/market-data`, read from there, never copied in):
//! cryptofeed's linear frames apart from its spot ones, Bybit's zipped order-book archive with
//! an assumed feed latency, Bybit's trade CSV; and bad input — a malformed line, a book gap,
//! frames out of order, a gzip cut short, a file of another format — named, counted, and the
//! rest of each good file kept.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use market_data::{BookContinuity, Reader};
use serde_json::Value;
use support::temp_dir;

fn shared(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/market-data").join(name);
    assert!(p.exists(), "test input {} is missing", p.display());
    p
}

fn import(from: &str, out: &Path, extra: &[&str], files: &[&Path]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_mmbot"))
        .args(["import", "--from", from, "--out"])
        .arg(out)
        .args(extra)
        .args(files)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The frames of the one file written for `symbol`, parsed.
fn frames(out: &Path, symbol: &str) -> Vec<(u64, Value)> {
    let files: Vec<PathBuf> = std::fs::read_dir(out.join(symbol)).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    Reader::open(&files[0])
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            (r.local_ns, serde_json::from_str(&r.frame).unwrap())
        })
        .collect()
}

fn topic(v: &Value) -> &str {
    v["topic"].as_str().unwrap()
}

#[test]
fn a_cryptofeed_capture_keeps_the_linear_frames_with_their_receive_times() {
    let dir = temp_dir("import-cryptofeed");
    let out = dir.join("out");
    let (code, stdout, stderr) = import("cryptofeed", &out, &[], &[&shared("cryptofeed-bybit-btcusdt-ethusdt.jsonl.zst")]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let f = frames(&out, "BTCUSDT");
    assert_eq!(topic(&f[0].1), "mmbot.source");
    assert!(f[0].1["assumed_feed_latency_ms"].is_null(), "real receive times: nothing assumed");
    let books: Vec<&Value> = f.iter().map(|(_, v)| v).filter(|v| topic(v) == "orderbook.200.BTCUSDT").collect();
    // The capture's README: BTCUSDT linear, 1 snapshot + 413 deltas, 16 trade frames / 56 trades.
    // The spot connection's BTCUSDT frames (same topic names) are not among them.
    assert_eq!(books.len(), 414);
    assert_eq!(books.iter().filter(|v| v["type"] == "snapshot").count(), 1);
    let mut c = BookContinuity::default();
    for v in &books {
        let (u, seq) = (v["data"]["u"].as_u64().unwrap(), v["data"]["seq"].as_u64().unwrap());
        assert!(c.check(v["type"] == "snapshot", u, seq).applies());
    }
    let trades: Vec<&Value> = f.iter().map(|(_, v)| v).filter(|v| topic(v) == "publicTrade.BTCUSDT").collect();
    assert_eq!(trades.len(), 16);
    assert_eq!(trades.iter().map(|v| v["data"].as_array().unwrap().len()).sum::<usize>(), 56);
    assert!(f.windows(2).all(|w| w[0].0 <= w[1].0), "receive times in order");
    // Local minus exchange time (~108 ms median in this capture, clock offset included).
    let first_book = f.iter().find(|(_, v)| topic(v) == "orderbook.200.BTCUSDT").unwrap();
    let lag = first_book.0 as i64 / 1_000_000 - first_book.1["cts"].as_i64().unwrap();
    assert!((0..2_000).contains(&lag), "receive time after the exchange's: {lag} ms");
}

#[test]
fn a_zipped_bybit_archive_gets_the_assumed_feed_latency_and_says_so() {
    let dir = temp_dir("import-archive");
    let out = dir.join("out");
    let (code, stdout, stderr) = import(
        "bybit-archive",
        &out,
        &["--feed-latency-ms", "25"],
        &[&shared("2024-12-01_XRPUSDT_ob500.data.zip")],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let f = frames(&out, "XRPUSDT");
    assert_eq!(f[0].1["assumed_feed_latency_ms"], 25, "the file says what was assumed");
    assert_eq!(f.len(), 51, "1 snapshot + 49 deltas after the source line");
    for (ns, v) in &f[1..] {
        let exchange = v["cts"].as_u64().filter(|t| *t > 0).unwrap_or_else(|| v["ts"].as_u64().unwrap());
        assert_eq!(*ns, (exchange + 25) * 1_000_000);
    }
}

#[test]
fn bad_lines_gaps_and_a_cut_tail_are_named_counted_and_the_rest_is_kept() {
    let dir = temp_dir("import-bad");
    // The capture as plain text, then damaged: a malformed line, a missing delta, a gzip tail cut.
    let text = market_data::reader::read_all(&shared("cryptofeed-bybit-solusdt-dogeusdt.jsonl.zst")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let deltas: Vec<usize> = (0..lines.len())
        .filter(|i| lines[*i].contains("orderbook.200.SOLUSDT") && lines[*i].contains("delta"))
        .collect();
    lines.remove(deltas[100]);
    lines.insert(deltas[50], "{this is not json".into());
    let damaged = dir.join("damaged.jsonl");
    std::fs::write(&damaged, lines.join("\n") + "\n").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let whole = gz.finish().unwrap();
    let cut = dir.join("cut.jsonl.gz");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3]).unwrap();
    let not_ours = dir.join("notes.txt");
    std::fs::write(&not_ours, "hello\n").unwrap();

    let out = dir.join("out-damaged");
    let (code, stdout, _) = import("cryptofeed", &out, &[], &[&damaged]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("1 malformed") || stdout.contains("2 malformed"), "{stdout}");
    assert!(
        stdout.contains(&format!("line {}:", deltas[50] + 1)),
        "the bad line is named: {stdout}"
    );
    assert!(stdout.contains("1 book gaps"), "{stdout}");
    let f = frames(&out, "SOLUSDT");
    let gap = f.iter().position(|(_, v)| topic(v) == "mmbot.gap").expect("the gap is marked");
    assert!(
        f[gap + 1..].iter().all(|(_, v)| topic(v) != "orderbook.200.SOLUSDT"),
        "no book frame after the gap until a snapshot (the capture has no second one)"
    );
    assert!(!frames(&out, "DOGEUSDT").is_empty(), "the other symbol is untouched");

    let out = dir.join("out-cut");
    let (code, stdout, stderr) = import("cryptofeed", &out, &[], &[&not_ours, &cut]);
    assert_eq!(code, 1, "a refused file is an error: {stdout}{stderr}");
    assert!(stderr.contains("notes.txt") && stderr.contains("the formats known are"), "{stderr}");
    assert!(stdout.contains("CUT SHORT after line"), "{stdout}");
    let kept = frames(&out, "SOLUSDT").len();
    assert!(kept > 100, "what came before the cut is kept: {kept} frames");
}

#[test]
fn a_bybit_trade_csv_becomes_public_trade_frames() {
    let dir = temp_dir("import-trades");
    let csv = dir.join("BTCUSDT2024-12-01.csv");
    std::fs::write(
        &csv,
        "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional\n\
         1733011200.1234,BTCUSDT,Buy,0.010,96400.5,PlusTick,a1,9.64e+10,0.01,964.005\n\
         garbage row\n\
         1733011200.5,BTCUSDT,Sell,0.002,96400.0,MinusTick,a2,1.92e+10,0.002,192.8\n",
    )
    .unwrap();
    let out = dir.join("out");
    let (code, stdout, stderr) = import("bybit-trades", &out, &["--feed-latency-ms", "10"], &[&csv]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("2 frames, 1 malformed") && stdout.contains("line 3:"), "{stdout}");
    let f = frames(&out, "BTCUSDT");
    assert_eq!(f.len(), 3);
    let t = &f[1].1["data"][0];
    assert_eq!(
        (t["T"].as_u64(), t["S"].as_str(), t["v"].as_str(), t["p"].as_str()),
        (Some(1_733_011_200_123), Some("Buy"), Some("0.010"), Some("96400.5"))
    );
    assert_eq!(f[1].0, (1_733_011_200_123 + 10) * 1_000_000);
}
