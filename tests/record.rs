//! `mmbot record` against a bybit-sim: the configured symbols' book, trades and tickers written
//! in the market-data format until SIGTERM; then the files are whole (every gzip trailer
//! written, no book gap) and the book rebuilt from each file — and the book a bybit-sim
//! replaying it ends on — is the exchange's last book.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use market_data::{BookContinuity, Reader};
use rust_decimal::Decimal;
use serde_json::Value;
use support::*;

const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

type Side = BTreeMap<Decimal, Decimal>;

fn apply(side: &mut Side, levels: &Value) {
    for l in levels.as_array().into_iter().flatten() {
        let (price, size) = (dec(&l[0]), dec(&l[1]));
        if size.is_zero() {
            side.remove(&price);
        } else {
            side.insert(price, size);
        }
    }
}

/// What a file held besides its book.
#[derive(Debug, Default)]
struct Counts {
    trades: usize,
    tickers: usize,
    gaps: usize,
}

/// Every frame of the symbol's one file, checked line by line (after a gap marker the book
/// starts over at the next snapshot); the book it ends with, its last update id, and the rest.
fn replay(dir: &Path) -> ((Side, Side, u64), Counts) {
    let files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one file per symbol per day: {files:?}");
    let (mut bids, mut asks, mut last_u) = (Side::new(), Side::new(), 0);
    let mut n = Counts::default();
    let mut continuity = BookContinuity::default();
    let mut last_ns = 0;
    for r in Reader::open(&files[0]).unwrap() {
        let r = r.unwrap_or_else(|e| panic!("a whole file reads without error: {e}"));
        assert!(r.local_ns >= last_ns, "receive times only grow");
        last_ns = r.local_ns;
        let v: Value = serde_json::from_str(&r.frame).unwrap();
        let topic = v["topic"].as_str().unwrap();
        if topic == "mmbot.gap" {
            n.gaps += 1;
            continuity.reset();
        } else if topic.starts_with("publicTrade") {
            n.trades += 1;
        } else if topic.starts_with("tickers") {
            n.tickers += 1;
        } else {
            assert!(topic.starts_with("orderbook.50."), "{topic}");
            let snapshot = v["type"] == "snapshot";
            let (u, seq) = (v["data"]["u"].as_u64().unwrap(), v["data"]["seq"].as_u64().unwrap());
            assert!(continuity.check(snapshot, u, seq).applies(), "line {}: no gap in the book", r.line);
            if snapshot {
                bids.clear();
                asks.clear();
            }
            apply(&mut bids, &v["data"]["b"]);
            apply(&mut asks, &v["data"]["a"]);
            last_u = u;
        }
    }
    ((bids, asks, last_u), n)
}

#[actix_rt::test]
async fn a_recording_stopped_by_sigterm_is_whole_and_rebuilds_the_last_book() {
    let sim = start_sim_with(|c| c.market.trade_probability = 0.5);
    let dir = temp_dir("record");
    let out = dir.join("market");
    let mut rec = start_bot_in(
        dir.clone(),
        &sim,
        BotOptions {
            symbols: SYMBOLS.to_vec(),
            command: "record",
            args: vec!["--out".into(), out.display().to_string()],
            ..Default::default()
        },
    );
    // A minute of the market: hundreds of book updates per symbol.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(rec.is_running(), "see {}", rec.stderr_path.display());
    // The market stops; what the recorder has then is the exchange's last book.
    let paused = awc::Client::new()
        .post(format!("{}/sim/market?paused=true", sim.rest_url()))
        .send()
        .await
        .unwrap();
    assert!(paused.status().is_success());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    rec.signal(libc::SIGTERM);
    let exit = rec.wait_exit(Duration::from_secs(20));
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    assert!(exit.stdout.contains("0 book gaps"), "{}", exit.stdout);
    for symbol in SYMBOLS {
        let ((bids, asks, u), n) = replay(&out.join(symbol));
        assert!(n.trades > 0 && n.tickers > 0 && n.gaps == 0, "{symbol}: {n:?}");
        let book = exchange(&sim)
            .public("/v5/market/orderbook", &format!("category=linear&symbol={symbol}&limit=50"))
            .await
            .unwrap();
        let (mut want_b, mut want_a) = (Side::new(), Side::new());
        apply(&mut want_b, &book.body["result"]["b"]);
        apply(&mut want_a, &book.body["result"]["a"]);
        assert_eq!(u, book.body["result"]["u"].as_u64().unwrap(), "{symbol}: the last update recorded");
        assert_eq!(
            (bids, asks),
            (want_b.clone(), want_a.clone()),
            "{symbol}: the book rebuilt from the file"
        );
        // A bybit-sim replaying the file ends on the same book.
        let file = std::fs::read_dir(out.join(symbol)).unwrap().next().unwrap().unwrap().path();
        let replay = support::replay::replay_sim(&file, symbol, 50.0);
        support::replay::wait_replay_end(&replay, Duration::from_secs(30)).await;
        let replayed = exchange(&replay)
            .public("/v5/market/orderbook", &format!("category=linear&symbol={symbol}&limit=50"))
            .await
            .unwrap();
        let (mut got_b, mut got_a) = (Side::new(), Side::new());
        apply(&mut got_b, &replayed.body["result"]["b"]);
        apply(&mut got_a, &replayed.body["result"]["a"]);
        assert_eq!(
            (got_b, got_a),
            (want_b, want_a),
            "{symbol}: the replay's last book is the upstream's"
        );
    }
}

#[actix_rt::test]
async fn a_lost_connection_is_marked_and_the_book_starts_over_from_the_next_snapshot() {
    let sim = start_sim();
    let dir = temp_dir("record-gap");
    let out = dir.join("market");
    let rec = start_bot_in(
        dir.clone(),
        &sim,
        BotOptions {
            symbols: vec!["BTCUSDT"],
            command: "record",
            args: vec!["--out".into(), out.display().to_string()],
            ..Default::default()
        },
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    bybit_sim::testkit::Admin::new(&sim.rest_url()).drop_ws().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    rec.signal(libc::SIGINT);
    let exit = rec.wait_exit(Duration::from_secs(20));
    assert_eq!(exit.code, 0, "{}\n{}", exit.stdout, exit.stderr);
    assert!(exit.stdout.contains("1 reconnects"), "{}", exit.stdout);
    // Every book frame after the marker applies: the first one is the reconnect's snapshot.
    let (_, n) = replay(&out.join("BTCUSDT"));
    assert_eq!(n.gaps, 1, "{n:?}");
}

#[actix_rt::test]
async fn a_run_with_recorder_market_tapes_the_book_trades_and_tickers_it_received() {
    let sim = start_sim_with(|c| c.market.trade_probability = 0.5);
    let mut bot = start_bot(
        "market-tape",
        &sim,
        BotOptions {
            symbols: vec!["BTCUSDT"],
            recorder: "market = true",
            ..Default::default()
        },
    );
    wait_for_orders(&sim, &mut bot, &["BTCUSDT"], 8, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let dir = bot.dir.clone();
    bot.signal(libc::SIGTERM);
    let exit = bot.wait_exit(Duration::from_secs(40));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    let step = exit.stdout.lines().find(|l| l.contains("market_tape")).unwrap_or_default();
    assert!(step.contains(" ok ") && step.contains("closed whole"), "{}", exit.stdout);
    let (_, n) = replay(&dir.join("data/market/BTCUSDT"));
    assert!(n.trades > 0 && n.tickers > 0 && n.gaps == 0, "{n:?}");
}
