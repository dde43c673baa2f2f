//! A synthetic recording of one symbol in the market-data format, at Bybit's cadence: an
//! `orderbook.50` snapshot, then deltas (a few levels each, `u` +1), trades at the touch that the
//! next delta takes out of the book, tickers every second. Seeded: the same arguments give the
//! same file. For benchmarks of the backtest (and hftbacktest, on the same file).
//!
//! `cargo run --release --example synthetic_day -- OUT.gz [--hours 24] [--seed 1] [--symbol BTCUSDT]`
//! A day is ~1 M deltas and ~1 M trades (one every ~86 ms each).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LEVELS: i64 = 50;
const START_MS: u64 = 1_780_000_000_000;
/// Mean gap between book deltas and between trades (ms): ~1 M of each a day.
const DELTA_EVERY_MS: f64 = 86.4;
const TRADE_EVERY_MS: f64 = 86.4;

struct Args {
    out: String,
    hours: f64,
    seed: u64,
    symbol: String,
}

fn args() -> Args {
    let mut a = Args {
        out: String::new(),
        hours: 24.0,
        seed: 1,
        symbol: "BTCUSDT".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--hours" => a.hours = it.next().and_then(|v| v.parse().ok()).expect("--hours N"),
            "--seed" => a.seed = it.next().and_then(|v| v.parse().ok()).expect("--seed N"),
            "--symbol" => a.symbol = it.next().expect("--symbol S"),
            other => a.out = other.to_string(),
        }
    }
    assert!(!a.out.is_empty(), "usage: synthetic_day OUT.gz [--hours H] [--seed N] [--symbol S]");
    a
}

/// (price in ticks, size in lots) per changed level.
type Levels = Vec<(i64, i64)>;

/// Prices in ticks of 0.1; sizes in lots of 0.001.
struct Market {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    u: u64,
    seq: u64,
}

fn px(t: i64) -> String {
    format!("{}.{}", t / 10, t % 10)
}

fn qty(lots: i64) -> String {
    format!("{}.{:03}", lots / 1000, lots % 1000)
}

fn levels(side: &[(i64, i64)]) -> String {
    let v: Vec<String> = side.iter().map(|(p, q)| format!("[\"{}\",\"{}\"]", px(*p), qty(*q))).collect();
    format!("[{}]", v.join(","))
}

impl Market {
    fn frame(&mut self, symbol: &str, kind: &str, ts: u64, b: &[(i64, i64)], a: &[(i64, i64)]) -> String {
        self.u += 1;
        self.seq += 1 + (self.u % 3);
        format!(
            r#"{{"topic":"orderbook.50.{symbol}","type":"{kind}","ts":{ts},"data":{{"s":"{symbol}","b":{},"a":{},"u":{},"seq":{}}},"cts":{}}}"#,
            levels(b),
            levels(a),
            self.u,
            self.seq,
            ts - 2
        )
    }

    /// Recentre the book on `mid` (in ticks) and change a few sizes: the levels that changed.
    fn step(&mut self, mid: i64, rng: &mut ChaCha8Rng) -> (Levels, Levels) {
        let (best_bid, best_ask) = (mid - 1, mid + 1);
        let mut db = Vec::new();
        let mut da = Vec::new();
        let old_b: Vec<i64> = self.bids.keys().copied().collect();
        for p in old_b {
            if p > best_bid || p <= best_bid - LEVELS {
                self.bids.remove(&p);
                db.push((p, 0));
            }
        }
        let old_a: Vec<i64> = self.asks.keys().copied().collect();
        for p in old_a {
            if p < best_ask || p >= best_ask + LEVELS {
                self.asks.remove(&p);
                da.push((p, 0));
            }
        }
        for k in 0..LEVELS {
            if let std::collections::btree_map::Entry::Vacant(e) = self.bids.entry(best_bid - k) {
                let q = rng.gen_range(1..2000);
                e.insert(q);
                db.push((best_bid - k, q));
            }
            if let std::collections::btree_map::Entry::Vacant(e) = self.asks.entry(best_ask + k) {
                let q = rng.gen_range(1..2000);
                e.insert(q);
                da.push((best_ask + k, q));
            }
        }
        for _ in 0..3 {
            let k = rng.gen_range(0..10);
            let q = rng.gen_range(1..2000);
            if rng.gen_bool(0.5) {
                self.bids.insert(best_bid - k, q);
                db.push((best_bid - k, q));
            } else {
                self.asks.insert(best_ask + k, q);
                da.push((best_ask + k, q));
            }
        }
        dedup(&mut db);
        dedup(&mut da);
        (db, da)
    }
}

/// The last change of each price wins.
fn dedup(v: &mut Vec<(i64, i64)>) {
    let mut seen = BTreeMap::new();
    for (p, q) in v.drain(..) {
        seen.insert(p, q);
    }
    v.extend(seen);
}

fn main() -> std::io::Result<()> {
    let a = args();
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let mut w = market_data::Writer::create(std::path::Path::new(&a.out))?;
    let end = START_MS + (a.hours * 3_600_000.0) as u64;
    let mut m = Market {
        bids: BTreeMap::new(),
        asks: BTreeMap::new(),
        u: 0,
        seq: 0,
    };
    let mut mid: i64 = 650_000; // 65 000.0
    let (b, aa) = m.step(mid, &mut rng);
    let (b, aa): (Vec<_>, Vec<_>) = (b.into_iter().rev().collect(), aa);
    let text = m.frame(&a.symbol, "snapshot", START_MS, &b, &aa);
    w.write(START_MS * 1_000_000 + 5_000_000, &text)?;
    let (mut next_delta, mut next_trade, mut next_ticker) = (START_MS as f64, START_MS as f64 + 40.0, START_MS + 1_000);
    let mut trade_id: u64 = 0;
    let mut frames: u64 = 1;
    loop {
        let t = next_delta.min(next_trade).min(next_ticker as f64);
        if t as u64 >= end {
            break;
        }
        let ts = t as u64;
        let local = ts * 1_000_000 + 5_000_000 + rng.gen_range(0..3_000_000);
        if t == next_ticker as f64 {
            let text = format!(
                r#"{{"topic":"tickers.{s}","type":"delta","cs":{cs},"ts":{ts},"data":{{"symbol":"{s}","markPrice":"{mark}","indexPrice":"{mark}","fundingRate":"0.0001","nextFundingTime":"{nf}"}}}}"#,
                s = a.symbol,
                cs = frames,
                mark = px(mid),
                nf = (ts / 28_800_000 + 1) * 28_800_000
            );
            w.write(local, &text)?;
            next_ticker += 1_000;
        } else if t == next_trade {
            // A taker at the touch; its size comes out of the level at the next delta.
            let buy = rng.gen_bool(0.5);
            let (price, level) = if buy {
                let (p, q) = m.asks.iter().next().map(|(p, q)| (*p, *q)).unwrap_or((mid + 1, 1));
                (p, q)
            } else {
                let (p, q) = m.bids.iter().next_back().map(|(p, q)| (*p, *q)).unwrap_or((mid - 1, 1));
                (p, q)
            };
            let size = rng.gen_range(1..=level.clamp(1, 400));
            let side = if buy { &mut m.asks } else { &mut m.bids };
            if let Some(q) = side.get_mut(&price) {
                *q = (*q - size).max(1);
            }
            trade_id += 1;
            let text = format!(
                r#"{{"topic":"publicTrade.{s}","type":"snapshot","ts":{ts},"data":[{{"T":{ts},"s":"{s}","S":"{side}","v":"{v}","p":"{p}","L":"ZeroPlusTick","i":"t{trade_id}","BT":false,"seq":{seq}}}]}}"#,
                s = a.symbol,
                side = if buy { "Buy" } else { "Sell" },
                v = qty(size),
                p = px(price),
                seq = m.seq
            );
            w.write(local, &text)?;
            next_trade += rng.gen_range(0.0..2.0 * TRADE_EVERY_MS);
        } else {
            // The mid walks a tick now and then.
            if rng.gen_bool(0.15) {
                mid += if rng.gen_bool(0.5) { 1 } else { -1 };
            }
            let (b, aa) = m.step(mid, &mut rng);
            let text = m.frame(&a.symbol, "delta", ts, &b, &aa);
            w.write(local, &text)?;
            next_delta += rng.gen_range(0.0..2.0 * DELTA_EVERY_MS);
        }
        frames += 1;
    }
    let lines = w.finish()?;
    eprintln!("{}: {lines} lines, {:.1} h of {}", a.out, a.hours, a.symbol);
    Ok(())
}
