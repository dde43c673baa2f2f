//! What a replay test needs beside the simulator: the shared captures imported into the
//! market-data format, the `bybit-sim` binary started on them, and a book rebuilt from a file
//! independently of the simulator (plain JSON, its own rules) to hold its answers against.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use rust_decimal::Decimal;
use serde_json::Value;

pub type Side = BTreeMap<Decimal, Decimal>;

#[path = "../../../tests/support/captures.rs"]
mod captures;
// Each test binary that includes this uses part of it.
#[allow(unused_imports)]
pub use captures::{import_capture, shared_capture as shared};
#[path = "../../../tests/support/test_dir.rs"]
mod test_dir;
pub use test_dir::TestDir;

/// The test's own directory: removed when the test passes, kept when it fails.
pub fn temp_dir(name: &str) -> TestDir {
    TestDir::new("bybit-sim", name)
}

/// `bybit-sim` run as a process; killed when dropped.
pub struct SimProcess {
    pub child: Child,
    pub addr: String,
}

impl SimProcess {
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bybit-sim"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("bybit-sim starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("bybit-sim listening on ")
            .unwrap_or_else(|| panic!("bybit-sim did not start: {line:?}"))
            .to_string();
        Self { child, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn get(url: &str) -> Value {
    let out = Command::new("curl").args(["-sf", "--max-time", "10", url]).output().unwrap();
    assert!(out.status.success(), "GET {url}");
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn post(url: &str) -> Value {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "10", "-X", "POST", url])
        .output()
        .unwrap();
    assert!(out.status.success(), "POST {url}");
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}")).parse().unwrap()
}

/// One frame of a file with the time a replay applies it at: its exchange time (a book frame's
/// `cts`, else `ts`; a trade frame's last `T`), never before the frame before it.
pub struct Timed {
    pub at: u64,
    pub frame: Value,
}

pub fn timed_frames(file: &Path) -> Vec<Timed> {
    let mut out = Vec::new();
    let mut last = 0;
    for r in market_data::Reader::open(file).unwrap() {
        let frame: Value = serde_json::from_str(&r.unwrap().frame).unwrap();
        let own = if let Some(trades) = frame["data"]
            .as_array()
            .filter(|_| frame["topic"].as_str().unwrap_or("").starts_with("publicTrade"))
        {
            trades.iter().filter_map(|t| t["T"].as_u64()).max().unwrap_or(0)
        } else {
            frame["cts"].as_u64().filter(|c| *c > 0).or(frame["ts"].as_u64()).unwrap_or(0)
        };
        last = last.max(own);
        out.push(Timed { at: last, frame });
    }
    out
}

/// A book kept from `orderbook.*` frames: a snapshot replaces it, a delta sets levels (0 removes).
#[derive(Default, Clone, Debug, PartialEq)]
pub struct PlainBook {
    pub bids: Side,
    pub asks: Side,
}

impl PlainBook {
    /// Apply `frame` if it is a book frame; true if it was.
    pub fn apply(&mut self, frame: &Value) -> bool {
        if !frame["topic"].as_str().unwrap_or("").starts_with("orderbook.") {
            return false;
        }
        if frame["type"] == "snapshot" {
            self.bids.clear();
            self.asks.clear();
        }
        for (side, key) in [(&mut self.bids, "b"), (&mut self.asks, "a")] {
            for l in frame["data"][key].as_array().into_iter().flatten() {
                let (p, q) = (dec(&l[0]), dec(&l[1]));
                if q.is_zero() {
                    side.remove(&p);
                } else {
                    side.insert(p, q);
                }
            }
        }
        true
    }

    /// The book after every frame applied at or before `t`.
    pub fn at(frames: &[Timed], t: u64) -> Self {
        let mut b = Self::default();
        for f in frames.iter().take_while(|f| f.at <= t) {
            b.apply(&f.frame);
        }
        b
    }
}

/// Levels as a client got them (`[[price, size], …]`, strings), best first.
pub fn levels(v: &Value) -> Vec<(Decimal, Decimal)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| (dec(&l[0]).normalize(), dec(&l[1]).normalize()))
        .collect()
}

pub fn top(side: &Side, bids: bool, n: usize) -> Vec<(Decimal, Decimal)> {
    let it: Box<dyn Iterator<Item = (&Decimal, &Decimal)>> = if bids { Box::new(side.iter().rev()) } else { Box::new(side.iter()) };
    it.take(n).map(|(p, q)| (p.normalize(), q.normalize())).collect()
}
